"""SLA monitor: a durable response clock per assignment, alerts, escalation and speed-to-lead reports."""
