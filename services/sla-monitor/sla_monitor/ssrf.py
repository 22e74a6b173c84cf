"""The SSRF guard: webhooks may not target loopback, private, link-local or otherwise internal addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """The URL is malformed or resolves to an address webhooks must not reach."""


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raise ``UnsafeTarget`` unless ``url`` is http(s) with a host whose every address is public."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeTarget("The webhook URL must be an absolute http:// or https:// URL.")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                             type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnsafeTarget(f"The webhook host {parts.hostname!r} does not resolve.") from None
    internal = sorted({str(info[4][0]) for info in infos if _is_internal(str(info[4][0]))})
    if internal:
        raise UnsafeTarget(
            f"The webhook host {parts.hostname!r} resolves to a loopback or private address ({', '.join(internal)}); "
            "set ALLOW_PRIVATE_WEBHOOK_TARGETS=true only for local development.")
