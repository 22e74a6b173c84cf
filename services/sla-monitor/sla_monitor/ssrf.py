"""The SSRF guard: webhooks may not target loopback, private, link-local or otherwise internal addresses.

Checked twice: when a subscription is created (a clear 422) and on every connection the delivery client
opens. The second check resolves the host itself and connects to the very address it approved, so a
name that resolves to a public address at check time and to an internal one a moment later (DNS
rebinding) cannot slip through.

An IPv6 address can carry an IPv4 one (NAT64, 6to4, IPv4-mapped and -compatible forms); a gateway on the
way turns it back into that IPv4 address, so the embedded address is checked like the IPv4 one itself.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import httpcore
import httpx

from sla_monitor.webhook_url import InvalidWebhookUrl, parse_webhook_url

#: RFC 6052 well-known NAT64 prefix: the last 32 bits are the IPv4 address the gateway connects to.
NAT64_WELL_KNOWN = ip_network("64:ff9b::/96")
#: RFC 8215 local-use NAT64 prefix: an operator's own translation, never globally reachable.
NAT64_LOCAL_USE = ip_network("64:ff9b:1::/48")
#: Deprecated IPv4-compatible (``::a.b.c.d``) and SIIT IPv4-translated (``::ffff:0:a.b.c.d``) forms.
IPV4_COMPATIBLE = ip_network("::/96")
IPV4_TRANSLATED = ip_network("::ffff:0:0:0/96")


class UnsafeTarget(ValueError):
    """The URL is malformed or resolves to an address webhooks must not reach."""


def embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for on the way (NAT64, 6to4, Teredo client, mapped), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002::/16
        return ip.sixtofour
    if ip.teredo is not None:  # 2001::/32: (server, client)
        return ip.teredo[1]
    if ip in NAT64_WELL_KNOWN or ip in IPV4_TRANSLATED or ip in IPV4_COMPATIBLE:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_internal(address: str) -> bool:
    """Whether webhooks must not connect to ``address`` (an IP address as a resolver returns it)."""
    ip = ip_address(address.split("%")[0])
    if isinstance(ip, IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return True
        embedded = embedded_ipv4(ip)
        if embedded is not None and is_internal(str(embedded)):
            return True
    return not ip.is_global or ip.is_multicast


async def public_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, or ``UnsafeTarget`` if it does not resolve or any is internal."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):  # UnicodeError: a name IDNA cannot encode (e.g. a label too long)
        raise UnsafeTarget(f"The webhook host {host!r} does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    internal = sorted(a for a in addresses if is_internal(a))
    if internal:
        raise UnsafeTarget(
            f"The webhook host {host!r} resolves to a loopback or private address ({', '.join(internal)}); "
            "set ALLOW_PRIVATE_WEBHOOK_TARGETS=true only for local development.")
    return addresses


async def check_target(url: str, *, allow_private: bool) -> httpx.URL:
    """``url`` parsed, or ``UnsafeTarget`` unless it is http(s) with a host whose every address is public."""
    try:
        parsed = parse_webhook_url(url)
    except InvalidWebhookUrl as exc:
        raise UnsafeTarget(str(exc)) from None
    if not allow_private:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        await public_addresses(parsed.raw_host.decode("ascii"), port)
    return parsed


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


DELIVERY_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=128, keepalive_expiry=30)


class WebhookTransport(httpx.AsyncHTTPTransport):
    """The delivery client's transport: no proxies from the environment, and, unless private targets are
    allowed, every connection goes through ``PublicOnlyBackend``."""

    def __init__(self, *, allow_private: bool) -> None:
        # Enough kept-alive connections that a burst of alerts to a few subscribers reuses its connections
        # round after round instead of opening (and checking) new ones.
        limits = DELIVERY_LIMITS
        super().__init__(trust_env=False, limits=limits)
        if not allow_private:
            # httpx has no public hook for the network backend; its transport wraps exactly this pool.
            self._pool = httpcore.AsyncConnectionPool(
                ssl_context=httpx.create_ssl_context(trust_env=False),
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=PublicOnlyBackend())
