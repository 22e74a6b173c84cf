"""Prometheus metrics of the SLA monitor."""

from prometheus_client import Counter, Gauge, Histogram

ALERTS = Counter("leadrouter_sla_alerts_total", "SLA happenings fired by the ticker.", ["kind"])
ALERT_LATENESS = Histogram("leadrouter_sla_alert_lateness_seconds", "How long after its due time a clock fired.",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300))
#: ``channel`` is the target's format: cloudevents, slack, hubspot, salesforce or email.
DELIVERIES = Counter("leadrouter_sla_webhook_deliveries_total",
                     "Delivery attempts (webhooks, CRM write-backs, email).", ["outcome", "channel"])
DELIVERY_DELAY = Histogram("leadrouter_sla_delivery_delay_seconds",
                           "From queueing a delivery to its success, per channel.", ["channel"],
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300, 3600))
OWNED_PARTITIONS = Gauge("leadrouter_sla_owned_partitions", "Partitions whose clocks this instance fires.")
CLOCKS_QUARANTINED = Counter("leadrouter_sla_clocks_quarantined_total",
                             "Clocks set aside because they could not be processed (see quarantine_reason).")
