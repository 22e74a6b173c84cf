"""The longest value each event field may hold, defined once.

Intake validates against these, the event models declare them, and every service's database columns are
as wide as these, so a value intake accepted can always be stored downstream (no activity is lost on
PostgreSQL because one service's column is narrower than another's check).
"""

from __future__ import annotations

#: Lead ids are UUIDs (36 characters).
MAX_LEAD_ID = 36
#: A lead source's own id of a lead (Typeform response token, Google lead_id, Meta leadgen id, …).
MAX_SOURCE_LEAD_ID = 255
#: A CRM's own activity id.
MAX_ACTIVITY_ID = 255
#: Rep, team and rule ids of the routing document.
MAX_REP_ID = 64
MAX_TEAM_ID = 64
MAX_RULE_ID = 64
#: An activity's CRM status (``qualified``, ``meeting_booked``, …) and its outcome.
MAX_STATUS = 64
MAX_OUTCOME = 255
#: Slug fields of a lead: ``source``, ``industry``, ``intent``.
MAX_SLUG = 64
#: Free text fields of a lead (names, company, campaign, …).
MAX_TEXT = 255
MAX_EMAIL = 320
MAX_PHONE = 64
MAX_POSTAL_CODE = 32
MAX_NOTES = 5_000
#: A CRM's id for a person (HubSpot contact id, Salesforce WhoId, Pipedrive person id, Close lead id).
MAX_EXTERNAL_ID = 255
#: A rep's display name in the routing document and on ``lead.assigned``.
MAX_REP_NAME = 255
#: A Slack member id (``U024BE7LH``, or ``W…`` on Enterprise Grid); Slack's are about 9–11 characters.
MAX_SLACK_USER_ID = 32
#: A rep's user id in a CRM (HubSpot owner id, Salesforce user id, Pipedrive user id, Close user id).
MAX_CRM_USER_ID = 64
