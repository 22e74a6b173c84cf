"""Lead-source webhook payloads as the providers document them, and their signatures computed here (hmac/base64,
independently of intake's code).

- Typeform: the "Example webhook payload" of https://www.typeform.com/developers/webhooks/example-payload/
  (event LtWXD3crgy, form lT4Z3j "Webhooks example"), trimmed to a few of its answers, plus a phone_number answer
  and utm hidden fields (both documented answer/field kinds).
- Tally: the shape of the "Example webhook event" of https://tally.so/help/webhooks (eventId/eventType/createdAt,
  data.responseId/formId/formName/createdAt, fields[] of key/label/type/value, choices as option ids + options).
- Google Ads: the sample lead of https://developers.google.com/google-ads/webhook/docs/implementation.
- Zuddl: the LEAD_ADDED sample of https://docs.zuddl.com/api-reference/leadactivitywebhooks/lead-added-activity.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from typing import Any

TYPEFORM_SECRET = "test-typeform"
TALLY_SECRET = "test-tally"
GOOGLE_KEY = "test-google-key"
ZUDDL_TOKEN = "test-zuddl"


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def typeform_signature(secret: str, raw: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def tally_signature(secret: str, raw: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


_TYPEFORM: dict[str, Any] = {
    "event_id": "LtWXD3crgy",
    "event_type": "form_response",
    "form_response": {
        "form_id": "lT4Z3j",
        "token": "a3a12ec67a1365927098a606107fac15",
        "submitted_at": "2018-01-18T18:17:02Z",
        "landed_at": "2018-01-18T18:07:02Z",
        "calculated": {"score": 9},
        "variables": [{"key": "score", "type": "number", "number": 4},
                      {"key": "name", "type": "text", "text": "typeform"}],
        "hidden": {"user_id": "abc123456", "utm_source": "newsletter", "utm_campaign": "winter-2026"},
        "definition": {
            "id": "lT4Z3j",
            "title": "Webhooks example",
            "fields": [
                {"id": "DlXFaesGBpoF", "title": "Thanks, {{answer_60906475}}! What's it like where you live? Tell us "
                 "in a few sentences.", "type": "long_text", "ref": "readable_ref_long_text",
                 "allow_multiple_selections": False, "allow_other_choice": False},
                {"id": "SMEUb7VJz92Q", "title": "If you're OK with our city management following up if they have "
                 "further questions, please give us your email address.", "type": "email",
                 "ref": "readable_ref_email", "allow_multiple_selections": False, "allow_other_choice": False},
                {"id": "JwWggjAKtOkA", "title": "What is your first name?", "type": "short_text",
                 "ref": "readable_ref_short_text", "allow_multiple_selections": False, "allow_other_choice": False},
                {"id": "PNe8ZKBK8C2Q", "title": "Which pictures do you like? You can choose as many as you like.",
                 "type": "picture_choice", "ref": "readable_ref_picture_choice", "allow_multiple_selections": True,
                 "allow_other_choice": False},
                {"id": "Q7M2XAwY04dW", "title": "On a scale of 1 to 5, what rating would you give the weather in "
                 "Sydney?", "type": "number", "ref": "readable_ref_number1", "allow_multiple_selections": False,
                 "allow_other_choice": False},
                {"id": "k6TP9oLGgHjl", "title": "Which of these cities is your favorite?", "type": "multiple_choice",
                 "ref": "readable_ref_multiple_choice", "allow_multiple_selections": False,
                 "allow_other_choice": False},
                {"id": "Kt6Q3ALa5ELr", "title": "And your phone number, please?", "type": "phone_number",
                 "ref": "readable_ref_phone_number", "allow_multiple_selections": False,
                 "allow_other_choice": False},
            ],
        },
        "answers": [
            {"type": "text", "text": "It's cold right now! I live in an older medium-sized city with a university. "
             "Geographically, the area is hilly.",
             "field": {"id": "DlXFaesGBpoF", "type": "long_text", "ref": "readable_ref_long_text"}},
            {"type": "email", "email": "laura@example.com",
             "field": {"id": "SMEUb7VJz92Q", "type": "email", "ref": "readable_ref_email"}},
            {"type": "text", "text": "Laura",
             "field": {"id": "JwWggjAKtOkA", "type": "short_text", "ref": "readable_ref_short_text"}},
            {"type": "choices", "choices": {"labels": ["London", "Sydney"]},
             "field": {"id": "PNe8ZKBK8C2Q", "type": "picture_choice", "ref": "readable_ref_picture_choice"}},
            {"type": "number", "number": 5,
             "field": {"id": "Q7M2XAwY04dW", "type": "number", "ref": "readable_ref_number1"}},
            {"type": "choice", "choice": {"label": "London"},
             "field": {"id": "k6TP9oLGgHjl", "type": "multiple_choice", "ref": "readable_ref_multiple_choice"}},
            {"type": "phone_number", "phone_number": "+14155550134",
             "field": {"id": "Kt6Q3ALa5ELr", "type": "phone_number", "ref": "readable_ref_phone_number"}},
        ],
    },
}

_TALLY: dict[str, Any] = {
    "eventId": "a4cb511e-d513-4fa5-baee-b815d718dfd1",
    "eventType": "FORM_RESPONSE",
    "createdAt": "2023-06-28T15:00:21.889Z",
    "data": {
        "responseId": "2wgx4n",
        "submissionId": "2wgx4n",
        "respondentId": "dwQKYm",
        "formId": "VwbNEw",
        "formName": "Webhook payload",
        "createdAt": "2023-06-28T15:00:21.000Z",
        "fields": [
            {"key": "question_mVGEg3_8b5711e3-ec7c-4c0f-b5d4-5d1ac0bca845", "label": "utm_source",
             "type": "HIDDEN_FIELDS", "value": "newsletter"},
            {"key": "question_3EKz4n", "label": "Full name", "type": "INPUT_TEXT", "value": "Alice Martin"},
            {"key": "question_w4Q4Xr", "label": "Email", "type": "INPUT_EMAIL", "value": "alice@example.com"},
            {"key": "question_3jkbxN", "label": "Phone number", "type": "INPUT_PHONE_NUMBER",
             "value": "+32 470 12 34 56"},
            {"key": "question_wQ5Ze8", "label": "Company size", "type": "MULTIPLE_CHOICE",
             "value": ["5c5e7a33-3e1d-4d1f-9a3c-1f47b0a1d7a8"],
             "options": [{"id": "5c5e7a33-3e1d-4d1f-9a3c-1f47b0a1d7a8", "text": "51-200"},
                         {"id": "0c6b5d94-5b7a-4a1e-8f2d-6f5b0e2c3d4e", "text": "201-1000"}]},
            {"key": "question_n0kdxL", "label": "Interests", "type": "CHECKBOXES",
             "value": ["e3b0c442-98fc-1c14-9afb-f4c8996fb924", "d4735e3a-265e-16ee-e03a-a7d85d5c4a5c"],
             "options": [{"id": "e3b0c442-98fc-1c14-9afb-f4c8996fb924", "text": "Routing"},
                         {"id": "d4735e3a-265e-16ee-e03a-a7d85d5c4a5c", "text": "SLA alerts"}]},
            {"key": "question_n0kdxL_e3b0c442-98fc-1c14-9afb-f4c8996fb924", "label": "Interests (Routing)",
             "type": "CHECKBOXES", "value": True},
            {"key": "question_n0kdxL_d4735e3a-265e-16ee-e03a-a7d85d5c4a5c", "label": "Interests (SLA alerts)",
             "type": "CHECKBOXES", "value": True},
        ],
    },
}

_GOOGLE_ADS: dict[str, Any] = {
    "lead_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789-AaBbCcDdEeFfGgHhIiJjKkLl",
    "user_column_data": [
        {"column_name": "Full Name", "string_value": "FirstName LastName", "column_id": "FULL_NAME"},
        {"column_name": "User Phone", "string_value": "1-650-555-0123", "column_id": "PHONE_NUMBER"},
        {"column_name": "User Email", "string_value": "test@example.com", "column_id": "EMAIL"},
        {"column_name": "City", "string_value": "Mountain View", "column_id": "CITY"},
    ],
    "api_version": "1.0",
    "form_id": 40000000000,
    "campaign_id": 50000000000,
    "google_key": "test",
    "is_test": True,
    "gcl_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789-AaBbCcDdEeFfGgHhIiJjKkLl",
    "adgroup_id": 20000000000,
    "creative_id": 30000000000,
    "lead_submit_time": "2024-09-26T12:30:00Z",
}

_ZUDDL: dict[str, Any] = {
    "action": "LEAD_ADDED",
    "actionId": "123e4567-e89b-12d3-a456-426614174000",
    "actor": {"id": "h212a64f-8865-4289-9024-9a120792c3d8", "type": "USER"},
    "actionCreatedAt": "2023-10-01T12:00:00Z",
    "lead": {
        "id": "123e4567-e89b-12d3-a456-426614174000",
        "firstName": "John", "lastName": "Doe", "email": "john.doe@example.com", "phoneNumber": "+1-555-123-4567",
        "designation": "Product Manager", "company": "Acme Corp",
        "leadAddedByName": "John Wick", "leadAddedByEmail": "example@zuddl.com",
        "createdBy": "123e4567-e89b-12d3-a456-426614174000", "updatedBy": "123e4567-e89b-12d3-a456-426614174000",
        "leadStatus": "QUALIFIED", "enrichedState": "ENRICHED", "notes": "Interested in product demo", "rating": 5,
        "createdAt": "2025-04-07T09:57:55.826749Z", "updatedAt": "2025-04-07T10:00:00Z",
        "customFields": [{"id": "123e4567-e89b-12d3-a456-426614174000", "order": 1,
                          "question": "How satisfied are you with the event?", "type": "SINGLE_CHOICE",
                          "dataType": "STRING", "isMandatory": True,
                          "options": ["Excellent", "Good", "Average", "Poor"], "response": "Excellent"}],
    },
    "event": {
        "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "organizationId": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "name": "Huddle with zuddl.", "description": "join us to learn more about zuddl.", "identifier": "event-123",
        "startDate": "2025-04-11T12:30:00Z", "endDate": "2025-04-11T12:30:00Z", "timezone": "UTC/IST",
        "status": "UPCOMING/ONGOING", "type": "WEBINAR/FIELD_EVENT/EVENT", "eventFormat": "IN_PERSON",
        "customProperties": [{"key": "salesforceCampaignId", "value": "ABCyyZ1234"}],
    },
}


def typeform() -> dict[str, Any]:
    return copy.deepcopy(_TYPEFORM)


def tally() -> dict[str, Any]:
    return copy.deepcopy(_TALLY)


def google_ads(*, key: str = GOOGLE_KEY, is_test: bool = False) -> dict[str, Any]:
    return {**copy.deepcopy(_GOOGLE_ADS), "google_key": key, "is_test": is_test}


def google_ads_documented() -> dict[str, Any]:
    """Google's sample exactly: a test lead with google_key "test"."""
    return copy.deepcopy(_GOOGLE_ADS)


def zuddl() -> dict[str, Any]:
    return copy.deepcopy(_ZUDDL)
