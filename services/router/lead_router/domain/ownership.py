"""Returning contacts go to the rep who already owns them; company email domains can mark an account."""

from __future__ import annotations

#: Free-mail domains never identify a company account.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com",
    "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com", "outlook.de", "live.com",
    "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de",
    "gmx.net", "gmx.com", "web.de", "mail.com", "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com",
    "126.com", "zoho.com", "fastmail.com", "hey.com", "t-online.de", "orange.fr", "free.fr", "laposte.net",
    "libero.it", "virgilio.it", "btinternet.com", "comcast.net", "verizon.net", "att.net", "naver.com",
})


def company_domain(email: str | None) -> str | None:
    """The email's domain when it can identify a company (not a free-mail provider), else None."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if domain in FREE_MAIL_DOMAINS else domain
