"""The providers' documented payloads, used by the unit tests and by the local fakes of their APIs.

Meta: the ``leadgen`` webhook of "Retrieving Leads" (Marketing API > Lead Ads) and the lead read back from
``GET /{lead-id}`` (Lead / UserLeadGenInfo reference: ``field_data: [{name, values}]``); Graph API errors as in
"Error Handling". LinkedIn: the Lead Sync ``LEAD_ACTION`` notification (lead notifications) and a lead form
response with the form decorated in (``leadFormResponses`` with ``form:(hiddenFields,name,id,content)``), as in
LinkedIn's Lead Sync Postman collection.
"""

from __future__ import annotations

import copy
from typing import Any

META_LEADGEN_ID = "444444444444"

META_WEBHOOK: dict[str, Any] = {
    "object": "page",
    "entry": [{
        "id": "153125381133",
        "time": 1438292065,
        "changes": [{
            "field": "leadgen",
            "value": {"leadgen_id": 444444444444, "page_id": 153125381133, "form_id": 12312312312,
                      "adgroup_id": 12312312312, "ad_id": 12312312312, "created_time": 1440120384},
        }],
    }],
}

META_LEAD: dict[str, Any] = {
    "created_time": "2015-02-28T08:49:14+0000",
    "id": META_LEADGEN_ID,
    "ad_id": "12312312312",
    "form_id": "12312312312",
    "campaign_name": "Spring demo push",
    "field_data": [
        {"name": "car_make", "values": ["Honda"]},
        {"name": "full_name", "values": ["Joe Example"]},
        {"name": "email", "values": ["joe@example.com"]},
        {"name": "selected_dealer", "values": ["99213450"]},
    ],
    "custom_disclaimer_responses": [{"checkbox_key": "my_checkbox", "is_checked": "1"}],
    "is_organic": False,
}

META_TOKEN_ERROR: dict[str, Any] = {"error": {
    "message": "Error validating access token: Session has expired.", "type": "OAuthException",
    "code": 190, "error_subcode": 463, "fbtrace_id": "H2il2t5bn4e"}}
META_UNKNOWN_LEAD: dict[str, Any] = {"error": {
    "message": "Unsupported get request. Object with ID '444444444444' does not exist.",
    "type": "GraphMethodException", "code": 100, "error_subcode": 33, "fbtrace_id": "AqQ0Bm1xZ3K"}}
META_RATE_LIMITED: dict[str, Any] = {"error": {
    "message": "(#80005) There have been too many leadgen api calls to this Page.", "type": "OAuthException",
    "code": 80005, "fbtrace_id": "A3bc"}}

LINKEDIN_RESPONSE_ID = "a9a29e52-c0a3-42e3-8af1-2fc83b697003-4"

LINKEDIN_NOTIFICATION: dict[str, Any] = {
    "type": "LEAD_ACTION",
    "leadGenFormResponse": f"urn:li:leadGenFormResponse:{LINKEDIN_RESPONSE_ID}",
    "leadGenForm": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
    "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:11223344"},
    "associatedEntity": {"associatedCreative": "urn:li:sponsoredCreative:241257736"},
    "leadType": "SPONSORED",
    "leadAction": "CREATED",
    "occurredAt": 1711395661000,
}

LINKEDIN_LEAD: dict[str, Any] = {
    "id": LINKEDIN_RESPONSE_ID,
    "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:11223344"},
    "leadType": "SPONSORED",
    "versionedLeadGenFormUrn": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)",
    "submittedAt": 1711395660000,
    "testLead": False,
    "leadMetadataInfo": {"sponsoredLeadMetadataInfo": {"campaign": {
        "name": "Q2 CFO webinar", "id": "urn:li:sponsoredCampaign:367378525"}}},
    "form": {
        "name": "Form with written spanish",
        "hiddenFields": [{"name": "hidden_field", "value": "abc678"}, {"name": "utm_source", "value": "linkedin"}],
        "id": 7234246,
        "content": {"questions": [
            {"questionId": 107234246, "question": {"localized": {"es_ES": "Nombre"}}, "responseEditable": True,
             "name": "First name", "questionDetails": {"textQuestionDetails": {"maxResponseLength": 300}},
             "predefinedField": "FIRST_NAME", "responseRequired": True},
            {"questionId": 207234246, "question": {"localized": {"es_ES": "Apellidos"}}, "responseEditable": True,
             "name": "Last name", "questionDetails": {"textQuestionDetails": {"maxResponseLength": 300}},
             "predefinedField": "LAST_NAME", "responseRequired": True},
            {"questionId": 307234246, "question": {"localized": {"es_ES": "Correo electrónico"}},
             "responseEditable": True, "name": "Email",
             "questionDetails": {"textQuestionDetails": {"maxResponseLength": 300}},
             "predefinedField": "EMAIL", "responseRequired": True},
            {"questionId": 407234246, "question": {"localized": {"es_ES": "Tamaño de la empresa"}},
             "responseEditable": True, "name": "Company size",
             "questionDetails": {"multipleChoiceQuestionDetails": {"options": [
                 {"id": 1, "text": {"localized": {"es_ES": "1-50"}}},
                 {"id": 2, "text": {"localized": {"es_ES": "51-500"}}}]}},
             "responseRequired": False},
        ]},
    },
    "formResponse": {
        "answers": [
            {"questionId": 107234246, "answerDetails": {"textQuestionAnswer": {"answer": "Ana"}}},
            {"questionId": 207234246, "answerDetails": {"textQuestionAnswer": {"answer": "Ruiz"}}},
            {"questionId": 307234246, "answerDetails": {"textQuestionAnswer": {"answer": "ana.ruiz@example.com"}}},
            {"questionId": 407234246, "answerDetails": {"multipleChoiceAnswer": {"options": [2]}}},
        ],
        "consentResponses": [{"consentId": 5, "accepted": True}],
    },
}

LINKEDIN_NOT_FOUND: dict[str, Any] = {"status": 404, "serviceErrorCode": 100, "code": "NOT_FOUND",
                                      "message": "Not found: leadFormResponse"}
LINKEDIN_TOKEN_EXPIRED: dict[str, Any] = {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
                                          "message": "The token used in the request has been revoked by the user"}


def copied(value: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(value)
