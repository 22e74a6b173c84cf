"""Prometheus metrics of the intake service."""

from prometheus_client import Counter

LEADS_ACCEPTED = Counter("leadrouter_intake_leads_accepted_total", "Leads accepted (202).", ["source"])
LEADS_REJECTED = Counter("leadrouter_intake_leads_rejected_total", "Leads or batch rows rejected (422).")
ACTIVITIES_RECORDED = Counter("leadrouter_intake_activities_recorded_total",
                              "CRM activities recorded (first time an activity_id is seen).", ["type"])
WEBHOOKS_REFUSED = Counter("leadrouter_intake_webhooks_refused_total",
                           "CRM webhooks refused for a bad signature or a stale timestamp.")
HUBSPOT_EVENTS = Counter("leadrouter_intake_hubspot_events_total",
                         "HubSpot webhook events by outcome (accepted, duplicate, unmatched, skipped, rejected, "
                         "lookup_failed, engagement_without_token).", ["outcome"])
