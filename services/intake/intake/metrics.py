"""Prometheus metrics of the intake service."""

from prometheus_client import Counter, Gauge

LEADS_ACCEPTED = Counter("leadrouter_intake_leads_accepted_total", "Leads accepted (202).", ["source"])
LEADS_REJECTED = Counter("leadrouter_intake_leads_rejected_total", "Leads or batch rows rejected (422).")
ACTIVITIES_RECORDED = Counter("leadrouter_intake_activities_recorded_total",
                              "CRM activities recorded (first time an activity_id is seen).", ["type"])
WEBHOOKS_REFUSED = Counter("leadrouter_intake_webhooks_refused_total",
                           "CRM webhooks refused for a bad signature or a stale timestamp.")
HUBSPOT_EVENTS = Counter("leadrouter_intake_hubspot_events_total",
                         "HubSpot webhook events by outcome (accepted, duplicate, unmatched, skipped, rejected, "
                         "lookup_failed, engagement_without_token).", ["outcome"])

# Fetch-based lead sources (Meta Lead Ads, LinkedIn Lead Sync): notices stored, then leads fetched from the provider.
LEAD_NOTICES = Counter("leadrouter_intake_lead_notices_total",
                       "Leads announced by a provider's webhook and stored for fetching (first notice of each).",
                       ["provider"])
LEAD_NOTICES_REFUSED = Counter("leadrouter_intake_lead_notices_refused_total",
                               "Lead-source webhooks refused for a missing or wrong signature.", ["provider"])
LEAD_FETCHES = Counter("leadrouter_intake_lead_fetches_total",
                       "Lead fetch attempts by outcome: stored, duplicate, test_lead_not_stored, transient, auth, "
                       "invalid, unmapped.",
                       ["provider", "outcome"])
LEAD_FETCHES_OPEN = Gauge("leadrouter_intake_lead_fetches_open",
                          "Lead fetches not done yet: pending (to fetch or retrying) and failed (kept with a reason).",
                          ["provider", "state"])
