"""The SSRF guard: webhooks may not target loopback, private, link-local or otherwise internal addresses.

Checked twice: when a subscription is created (a clear 422) and on every connection the delivery client
opens. The second check resolves the host itself and connects to the very address it approved, so a
name that resolves to a public address at check time and to an internal one a moment later (DNS
rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx


class UnsafeTarget(ValueError):
    """The URL is malformed or resolves to an address webhooks must not reach."""


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def public_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, or ``UnsafeTarget`` if it does not resolve or any is internal."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnsafeTarget(f"The webhook host {host!r} does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    internal = sorted(a for a in addresses if _is_internal(a))
    if internal:
        raise UnsafeTarget(
            f"The webhook host {host!r} resolves to a loopback or private address ({', '.join(internal)}); "
            "set ALLOW_PRIVATE_WEBHOOK_TARGETS=true only for local development.")
    return addresses


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raise ``UnsafeTarget`` unless ``url`` is http(s) with a host whose every address is public."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeTarget("The webhook URL must be an absolute http:// or https:// URL.")
    if not allow_private:
        await public_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to the public address it has just checked.

    TLS still verifies the certificate against the URL's host name: httpcore passes the origin host as
    ``server_hostname`` when it starts TLS, whatever address the socket was opened to.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        addresses = await public_addresses(host, port)
        return await self._inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise UnsafeTarget("Webhooks are not delivered over Unix sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class WebhookTransport(httpx.AsyncHTTPTransport):
    """The delivery client's transport: no proxies from the environment, and, unless private targets are
    allowed, every connection goes through ``PublicOnlyBackend``."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        if not allow_private:
            limits = httpx.Limits()
            # httpx has no public hook for the network backend; its transport wraps exactly this pool.
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=httpx.create_ssl_context(trust_env=False),
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=PublicOnlyBackend())
