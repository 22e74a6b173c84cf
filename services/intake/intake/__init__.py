"""Intake: accepts leads from forms and badge scanners and activities from CRMs, and publishes them."""

#: The CloudEvents ``source`` of every event intake publishes.
EVENT_SOURCE = "leadrouter/intake"
