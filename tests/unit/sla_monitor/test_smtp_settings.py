"""``SMTP_URL`` and ``SMTP_FROM``: the three ways to reach a mail server, refused at start with a sentence that
names the setting — and never repeats the URL, which may carry a password."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sla_monitor.settings import SlaMonitorSettings
from sla_monitor.smtp_url import SmtpServer

PASSWORD = "s3cret-pa55"


def _settings(**values: str) -> SlaMonitorSettings:
    return SlaMonitorSettings(admin_token="x", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("url", "server", "shown"), [
    ("smtp://relay.internal", SmtpServer("relay.internal", 25, "plain"), "smtp://relay.internal:25"),
    (f"smtp+starttls://apikey:{PASSWORD}@smtp.example.com",
     SmtpServer("smtp.example.com", 587, "starttls", "apikey", PASSWORD), "smtp+starttls://smtp.example.com:587"),
    ("smtps://me%40example.com:p%3Ass%2Fw@mail.example.com:2465",
     SmtpServer("mail.example.com", 2465, "tls", "me@example.com", "p:ss/w"), "smtps://mail.example.com:2465"),
    ("SMTP://[::1]:1025/", SmtpServer("::1", 1025, "plain"), "smtp://[::1]:1025"),
])
def test_each_scheme_names_a_server_shown_without_its_credentials(url: str, server: SmtpServer, shown: str) -> None:
    parsed = _settings(smtp_url=url).smtp_server
    assert parsed == server
    assert parsed is not None and parsed.display_url == shown
    assert PASSWORD not in repr(parsed) and PASSWORD not in repr(_settings(smtp_url=url))


def test_unset_or_empty_means_no_email() -> None:
    assert _settings().smtp_server is None and _settings(smtp_url="").smtp_server is None
    assert _settings().smtp_from == "leadrouter <leadrouter@localhost>"


@pytest.mark.parametrize(("url", "says"), [
    (f"https://u:{PASSWORD}@smtp.example.com", "must start with smtp://, smtp+starttls:// or smtps://"),
    (f"smtp://u:{PASSWORD}@smtp.example.com/inbox", "takes no path, query or fragment"),
    (f"smtp://u:{PASSWORD}@smtp.example.com?tls=1", "takes no path, query or fragment"),
    (f"smtp://u:{PASSWORD}@:25", "names no host"),
    (f"smtp://u:{PASSWORD}@smtp.example.com:0", "port must be a number from 1 to 65535"),
    (f"smtp://u:{PASSWORD}@smtp.example.com:port", "port must be a number from 1 to 65535"),
    ("smtp://apikey@smtp.example.com", "a user name without a password"),
    (f"smtp://u:{PASSWORD} @smtp.example.com", "must not contain spaces"),
])
def test_a_malformed_url_is_refused_naming_the_setting_but_never_quoting_it(url: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _settings(smtp_url=url)
    [error] = refused.value.errors()
    assert error["loc"] == ("smtp_url",) and says in error["msg"] and "SMTP_URL" in error["msg"]
    assert PASSWORD not in str(refused.value) and PASSWORD not in error["msg"]  # what the service prints


@pytest.mark.parametrize("sender", ["leadrouter", "x <@example.com>", "a b@example.com",
                                    "leadrouter <lr@example.com>\r\nBcc: x@evil.example"])
def test_smtp_from_must_be_an_address(sender: str) -> None:
    with pytest.raises(ValidationError, match="SMTP_FROM must be an email address"):
        _settings(smtp_from=sender)
    assert _settings(smtp_from="Lead Desk <leads@example.com>").smtp_from == "Lead Desk <leads@example.com>"
