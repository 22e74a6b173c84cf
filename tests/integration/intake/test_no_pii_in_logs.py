"""Whatever callers send, intake's log lines and error answers carry no email address or phone number."""

from __future__ import annotations

import logging

import pytest

from tests.integration.intake.conftest import Intake
from tests.integration.intake.test_activities_api import CALL, signed

#: Pieces of every email and phone number sent below, as given and as normalized.
SENT = ("ana.ruiz", "bo@", "cy@", "di@", "nobody@", "example.com", "555 01", "5550")


def _leaks(text: str) -> list[str]:
    return [piece for piece in SENT if piece in text]


async def test_no_email_or_phone_reaches_a_log_line_or_an_error_answer(intake: Intake,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    answers = [
        await intake.http.post("/v1/leads", json={"email": "ana.ruiz@example.com", "phone": "+1 415 555 0134",
                                                  "source": "web_form"}),
        await intake.http.post("/v1/leads", json={"email": "ana.ruiz@@example.com", "source": "web_form"}),
        await intake.http.post("/v1/leads", json={"email": "bo@example.com", "phone": "+1 415 555 0199" * 10,
                                                  "source": "web_form"}),
        await intake.http.post("/v1/leads", json={"phone": "+1 415 555 0177", "source": "web_form",
                                                  "captured_at": "2999-01-01T00:00:00Z"}),
        await intake.http.post("/v1/leads/batch", content=b"cy@example.com,+1 415 555 0100,web_form\n",
                               headers={"Content-Type": "text/csv"}),
        await intake.http.post("/v1/leads/batch", content=b"email,phone,source\ndi@example.com,+1 415 555 0101,\n",
                               headers={"Content-Type": "text/csv"}),
        await intake.http.post("/v1/activities", **signed({**CALL, "email": "nobody@example.com"})),
        await intake.http.post("/v1/activities", **signed({**CALL, "email": "ana.ruiz@example.com",
                                                           "rep_id": "x" * 500})),
    ]
    assert answers[0].status_code == 202
    assert all(answer.status_code in (200, 413, 422) for answer in answers[1:])
    for answer in answers[1:]:
        assert not _leaks(answer.text), answer.text
    assert not _leaks(caplog.text), caplog.text
