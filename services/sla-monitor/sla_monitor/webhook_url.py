"""What a webhook URL must be, checked with httpx's own URL parser — the one that later sends to it — so a
URL accepted when subscribing cannot fail to parse at delivery time (a tab, a host IDNA refuses, a port out
of range or a label too long for DNS used to pass ``urlsplit`` and then break every delivery)."""

from __future__ import annotations

import ipaddress
import re
from contextlib import suppress

import httpx

MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63
#: A DNS label as resolvers take it (after IDNA): letters, digits, hyphens; underscores occur in the wild.
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?")


class InvalidWebhookUrl(ValueError):
    """The URL cannot be sent to, whatever its host resolves to."""


def parse_webhook_url(url: str) -> httpx.URL:
    """``url`` parsed by httpx, or ``InvalidWebhookUrl`` with a sentence saying what is wrong with it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidWebhookUrl(f"The webhook URL cannot be parsed: {exc}") from None
    if parsed.scheme not in {"http", "https"} or not parsed.raw_host:
        raise InvalidWebhookUrl("The webhook URL must be an absolute http:// or https:// URL.")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise InvalidWebhookUrl(f"The webhook URL's port {parsed.port} is not between 1 and 65535.")
    _check_host(parsed.raw_host.decode("ascii"))
    return parsed


def _check_host(host: str) -> None:
    with suppress(ValueError):  # not an IP address: a host name, whose length and labels are checked below
        ipaddress.ip_address(host)
        return
    if len(host.rstrip(".")) > MAX_HOST_LENGTH:
        raise InvalidWebhookUrl(f"The webhook URL's host is longer than {MAX_HOST_LENGTH} characters.")
    for label in host.removesuffix(".").split("."):
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidWebhookUrl(
                f"The webhook URL's host has a label longer than {MAX_LABEL_LENGTH} characters ({label[:20]}…).")
        if not _LABEL.fullmatch(label):
            raise InvalidWebhookUrl(f"The webhook URL's host {host!r} is not a valid host name.")
