"""Signing in to the ops console: the admin token gives a session cookie (HttpOnly, SameSite=Strict), pages need
it, every form post needs its CSRF token, and nothing of it weakens the API's bearer gate."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import pytest

from sla_monitor.console.headers import CONTENT_SECURITY_POLICY
from tests.integration.sla_monitor.conftest import Monitor


@pytest.fixture
async def browser(monitor: Monitor) -> AsyncIterator[httpx.AsyncClient]:
    """A client without the bearer token, keeping cookies like a browser."""
    async with httpx.AsyncClient(base_url=str(monitor.http.base_url)) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, token: str = "test-admin") -> httpx.Response:
    return await client.post("/ops/login", data={"token": token, "next": "/ops/"})


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(browser: httpx.AsyncClient) -> None:
    answer = await browser.get("/ops/?team=na&urgency=hot")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ops/login?next=%2Fops%2F%3Fteam%3Dna%26urgency%3Dhot"
    login = await browser.get(answer.headers["location"])
    assert login.status_code == 200 and 'name="next" value="/ops/?team=na&amp;urgency=hot"' in login.text
    assert login.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_an_htmx_request_without_a_session_is_401_with_a_redirect_for_htmx(browser: httpx.AsyncClient) -> None:
    answer = await browser.get("/ops/", headers={"HX-Request": "true"})
    assert answer.status_code == 401
    assert answer.headers["hx-redirect"].startswith("/ops/login?next=")


async def test_a_wrong_token_is_refused_and_sets_no_cookie(browser: httpx.AsyncClient) -> None:
    answer = await sign_in(browser, "not-the-token")
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert "That is not the admin token" in answer.text
    assert (await browser.get("/ops/")).status_code == 303


async def test_the_admin_token_gives_an_httponly_strict_cookie_for_the_console_only(
        browser: httpx.AsyncClient) -> None:
    answer = await sign_in(browser)
    assert answer.status_code == 303 and answer.headers["location"] == "/ops/"
    raw = answer.headers["set-cookie"]
    morsel = SimpleCookie(raw)["lr_console"]
    assert morsel["httponly"] and morsel["samesite"].lower() == "strict" and morsel["path"] == "/ops"
    assert not morsel["secure"]  # plain http here; over https the cookie is Secure
    assert int(morsel["max-age"]) == 12 * 3600
    board = await browser.get("/ops/")
    assert board.status_code == 200
    assert board.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert board.headers["x-frame-options"] == "DENY"
    for label, path in [("Board", "/ops/"), ("Reps", "/ops/reps"), ("Routing", "/ops/routing"),
                        ("Reports", "/ops/reports"), ("Plumbing", "/ops/plumbing")]:
        assert f'href="{path}"' in board.text and f">{label}</a>" in board.text


async def test_the_session_cookie_is_no_bearer_token_for_the_api(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    assert (await browser.get("/v1/subscriptions")).status_code == 401


async def test_a_tampered_cookie_is_no_session(browser: httpx.AsyncClient, monitor: Monitor) -> None:
    await sign_in(browser)
    value = browser.cookies["lr_console"]
    browser.cookies.clear()
    browser.cookies.set("lr_console", value[:-3] + "abc", domain="127.0.0.1", path="/ops")
    assert (await browser.get("/ops/")).status_code == 303


async def test_a_post_without_its_csrf_token_is_403_and_with_it_goes_through(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    csrf = csrf_of((await browser.get("/ops/")).text)
    assert (await browser.post("/ops/logout")).status_code == 403
    assert (await browser.post("/ops/logout", data={"csrf_token": "forged"})).status_code == 403
    assert (await browser.post("/ops/logout", headers={"X-CSRF-Token": "forged"})).status_code == 403
    answer = await browser.post("/ops/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/ops/login"
    assert 'lr_console=""' in answer.headers["set-cookie"] or "Max-Age=0" in answer.headers["set-cookie"]


async def test_htmx_sends_the_csrf_token_as_a_header(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    page = (await browser.get("/ops/")).text
    header = re.search(r"hx-headers='\{&#34;X-CSRF-Token&#34;: &#34;([^&]+)&#34;\}'", page) or \
        re.search(r'hx-headers=\'\{"X-CSRF-Token": "([^"]+)"\}\'', page)
    assert header and header.group(1) == csrf_of(page)
    answer = await browser.post("/ops/logout", headers={"X-CSRF-Token": header.group(1)})
    assert answer.status_code == 303


async def test_sign_in_only_returns_to_console_pages(browser: httpx.AsyncClient) -> None:
    for target in ["https://evil.example/", "//evil.example/ops/", "/v1/subscriptions", "/ops\\..\\x"]:
        answer = await browser.post("/ops/login", data={"token": "test-admin", "next": target})
        assert answer.headers["location"] == "/ops/", target


async def test_a_sign_in_posted_from_another_site_is_refused(browser: httpx.AsyncClient) -> None:
    answer = await browser.post("/ops/login", data={"token": "test-admin"},
                                headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


async def test_the_vendored_scripts_are_served_from_the_app(browser: httpx.AsyncClient) -> None:
    for name in ["htmx.min.js", "htmx-ext-sse.min.js", "console.js", "console.css"]:
        answer = await browser.get(f"/ops/static/{name}")
        assert answer.status_code == 200, name
    assert "htmx" in (await browser.get("/ops/static/htmx.min.js")).text[:2000]


async def test_twenty_wrong_tokens_block_sign_in_and_the_api_from_that_address(browser: httpx.AsyncClient) -> None:
    """The admin token cannot be guessed at network speed: after 20 refusals in a minute the address gets 429
    (not even the right token is checked) on the sign-in form and on the bearer API alike."""
    for _ in range(19):
        assert (await sign_in(browser, "guess")).status_code == 401
    api = await browser.get("/v1/subscriptions", headers={"Authorization": "Bearer guess"})
    assert api.status_code == 401  # the twentieth refusal, counted against the same address
    blocked = await sign_in(browser)
    assert blocked.status_code == 429 and "set-cookie" not in blocked.headers
    assert 55 <= int(blocked.headers["retry-after"]) <= 60
    assert "Too many refused credentials" in blocked.text
    api = await browser.get("/v1/subscriptions", headers={"Authorization": "Bearer test-admin"})
    assert api.status_code == 429 and api.headers["retry-after"]
    assert (await browser.get("/ops/login")).status_code == 200  # the page itself needs no credentials
    assert (await browser.get("/healthz")).status_code == 200
