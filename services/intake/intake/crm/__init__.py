"""CRM webhook adapters: each CRM's native events, verified and mapped onto ``intake.identity.CrmActivity``."""
