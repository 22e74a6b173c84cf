"""The routing page in a real browser, against the whole stack: a rule naming an unknown team is flagged inline
as it is typed; a published change is rolled back with one click and the router serves the old document again;
a backtest of a draft over leads routed for real shows where they would have gone and the predicted SLA."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT, screenshot, sign_in
from tests.e2e.conftest import CREDENTIALS, Stack

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": f"Bearer {CREDENTIALS['ADMIN_TOKEN']}"}
API_KEY = {"X-API-Key": CREDENTIALS["INTAKE_API_KEYS"].split(":")[1]}
#: The first rule of config/routing.yaml as the editor shows it (the document dumped as YAML, keys in order).
FINTECH_RULE_TEAM = "  team: na-enterprise\n  urgency: hot"
FINTECH = {"company": "Fintastic", "country": "US", "industry": "fintech", "employees": 1200, "source": "web_form",
           "intent": "demo_request"}
GERMAN = {"company": "Bauhaus Analytics", "country": "DE", "industry": "software", "employees": 300,
          "source": "webinar", "intent": "content_download"}


def _router(stack: Stack, path: str) -> Any:
    answer = httpx.get(stack.url("router", path), headers=ADMIN, timeout=10)
    answer.raise_for_status()
    return answer.json()


def _edit(page: Page, old: str, new: str) -> None:
    editor = page.get_by_label("Routing document (YAML)")
    text = editor.input_value()
    assert old in text
    editor.fill(text.replace(old, new, 1))


def test_an_error_shows_inline_and_a_rollback_restores_the_old_document(page: Page, console_stack: Stack) -> None:
    original = _router(console_stack, "/v1/routing/config")
    sign_in(page, console_stack, "/ops/routing")
    expect(page.get_by_role("heading", name="Routing", exact=True)).to_be_visible()

    _edit(page, FINTECH_RULE_TEAM, "  team: nowhere\n  urgency: hot")
    validation = page.locator("#validation")
    expect(validation).to_contain_text("rules[0].team")
    expect(validation).to_contain_text("unknown team 'nowhere'")
    screenshot(page, "routing")

    _edit(page, "  team: nowhere\n", "  team: inbound-desk\n")
    expect(validation).to_contain_text("Valid")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").filter(has_text="Published: version 2")).to_be_visible()
    assert _router(console_stack, "/v1/routing/config")["document"]["rules"][0]["team"] == "inbound-desk"

    page.get_by_role("button", name="Diff with current").click()
    expect(page.locator("pre.diff .diff-removed").filter(has_text="team: na-enterprise")).to_be_visible()
    expect(page.locator("pre.diff .diff-added").filter(has_text="team: inbound-desk")).to_be_visible()
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.get_by_role("status").filter(has_text="Rolled back: version 3")).to_be_visible()
    served = _router(console_stack, "/v1/routing/config")
    assert served == {"version": 3, "document": original["document"]}
    expect(page.get_by_label("Routing document (YAML)")).to_have_value(
        re.compile(r"team: na-enterprise\n  urgency: hot"))


def _seed(stack: Stack, leads: list[dict[str, Any]]) -> list[str]:
    """Post leads to intake and wait until the router has assigned each one."""
    ids = []
    for n, lead in enumerate(leads):
        answer = httpx.post(stack.url("intake", "/v1/leads"), headers=API_KEY, timeout=10,
                            json={**lead, "email": f"buyer{n}@example.com"})
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["lead_id"])
    deadline = time.monotonic() + 30
    for lead_id in ids:
        while httpx.get(stack.url("router", f"/v1/assignments/{lead_id}"), headers=ADMIN).status_code != 200:
            assert time.monotonic() < deadline, f"lead {lead_id} was not routed"
            time.sleep(0.1)
    return ids


def test_a_backtest_shows_how_a_draft_would_spread_real_leads(page: Page, console_stack: Stack) -> None:
    _seed(console_stack, [FINTECH] * 4 + [GERMAN] * 3)
    sign_in(page, console_stack, "/ops/routing")
    _edit(page, FINTECH_RULE_TEAM, "  team: inbound-desk\n  urgency: hot")
    page.get_by_label("Days to replay").fill("7")
    page.get_by_role("button", name="Run backtest").click()
    result = page.locator("#backtest-result")
    expect(result).to_contain_text("7 leads replayed")
    expect(result).to_contain_text("4 would go elsewhere")
    teams = result.locator("table", has=page.locator("caption", has_text="Per team"))
    expect(teams.locator("tr", has_text="na-enterprise")).to_contain_text("4")
    expect(teams.locator("tr", has_text="na-enterprise").locator("td.changed")).to_have_text("-4")
    expect(teams.locator("tr", has_text="inbound-desk").locator("td.changed")).to_have_text("+4")
    expect(result).to_contain_text("Predicted within SLA")
    expect(result).to_contain_text("Run time")
    assert _router(console_stack, "/v1/routing/config")["version"] == 1  # a backtest publishes nothing
    path = screenshot(page, "backtest")
    docs = ROOT / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, docs / "backtest.png")
    assert Path(docs / "backtest.png").stat().st_size > 0
