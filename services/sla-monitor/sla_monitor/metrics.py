"""Prometheus metrics of the SLA monitor."""

from prometheus_client import Counter, Gauge, Histogram

ALERTS = Counter("leadrouter_sla_alerts_total", "SLA happenings fired by the ticker.", ["kind"])
ALERT_LATENESS = Histogram("leadrouter_sla_alert_lateness_seconds", "How long after its due time a clock fired.",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300))
DELIVERIES = Counter("leadrouter_sla_webhook_deliveries_total", "Webhook delivery attempts.", ["outcome"])
OWNED_PARTITIONS = Gauge("leadrouter_sla_owned_partitions", "Partitions whose clocks this instance fires.")
CLOCKS_QUARANTINED = Counter("leadrouter_sla_clocks_quarantined_total",
                             "Clocks set aside because they could not be processed (see quarantine_reason).")
