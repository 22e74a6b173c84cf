"""Intake: accepts leads from forms and badge scanners and activities from CRMs, and publishes them."""
