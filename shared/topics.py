"""Kafka topic names: the one place they are spelled."""

LEADS_RECEIVED = "leads.received"
LEADS_ASSIGNED = "leads.assigned"
LEADS_ACTIVITY = "leads.activity"
SLA_ALERTS = "sla.alerts"

ALL_TOPICS = (LEADS_RECEIVED, LEADS_ASSIGNED, LEADS_ACTIVITY, SLA_ALERTS)


def dead_letter_topic(topic: str) -> str:
    """The topic where messages from ``topic`` that cannot be processed are parked."""
    return f"{topic}.dlq"
