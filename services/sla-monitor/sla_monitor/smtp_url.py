"""``SMTP_URL``: where assignment emails are sent, and how securely.

- ``smtp://[user:pass@]host[:port]`` — plain SMTP (port 25), e.g. a relay on the same network;
- ``smtp+starttls://user:pass@host[:port]`` — STARTTLS required (port 587), the usual submission port;
- ``smtps://user:pass@host[:port]`` — TLS from the first byte (port 465).

A user name or password with ``@``, ``:`` or ``/`` in it is percent-encoded (``%40``, ``%3A``, ``%2F``). Errors
never quote the URL: it may carry the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

Security = Literal["plain", "starttls", "tls"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
_EXAMPLE = "e.g. smtp+starttls://user:password@smtp.example.com:587"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def display_url(self) -> str:
        """The URL without credentials: what the subscription list and the logs may show."""
        scheme = next(name for name, (security, _) in _SCHEMES.items() if security == self.security)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def parse_smtp_url(value: str) -> SmtpServer:
    """The server ``value`` names; ``ValueError`` (a sentence naming SMTP_URL, never its value) otherwise."""
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError(f"SMTP_URL must not contain spaces or control characters ({_EXAMPLE}).")
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"SMTP_URL must start with smtp://, smtp+starttls:// or smtps:// ({_EXAMPLE}).")
    security, default_port = _SCHEMES[scheme]
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"SMTP_URL takes no path, query or fragment, only [user:password@]host[:port] "
                         f"({_EXAMPLE}).")
    if not parts.hostname:
        raise ValueError(f"SMTP_URL names no host ({_EXAMPLE}).")
    try:
        port = default_port if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ValueError(f"SMTP_URL's port must be a number from 1 to 65535 ({_EXAMPLE}).")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if (username is None) != (password is None):
        raise ValueError("SMTP_URL has a user name without a password or a password without a user name; "
                         f"give both or neither ({_EXAMPLE}).")
    return SmtpServer(host=parts.hostname, port=port, security=security, username=username, password=password)
