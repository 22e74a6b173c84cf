"""Which webhook URLs can be sent to at all, and which addresses the SSRF guard refuses — including IPv6
forms that carry an internal IPv4 address to a gateway (NAT64, 6to4, Teredo, mapped, compatible)."""

from __future__ import annotations

import pytest

from sla_monitor.ssrf import is_internal
from sla_monitor.webhook_url import InvalidWebhookUrl, parse_webhook_url


@pytest.mark.parametrize("address", [
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata service
    "64:ff9b:1::808:808",  # local-use NAT64 prefix: the operator's own network, whatever it embeds
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "::ffff:a00:1",  # IPv4-mapped 10.0.0.1
    "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
    "::a00:1",  # IPv4-compatible 10.0.0.1
    "::1", "fe80::1%eth0", "fc00::1", "127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "224.0.0.1",
])
def test_internal_addresses_and_their_ipv6_disguises_are_refused(address: str) -> None:
    assert is_internal(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_and_their_ipv6_forms_are_allowed(address: str) -> None:
    assert not is_internal(address)


@pytest.mark.parametrize(("url", "problem"), [
    ("http://8.8.8.8\t/hook", "cannot be parsed"),
    ("https://☃.net/", "cannot be parsed"),
    ("http://example.com:99999/hook", "port 99999"),
    ("http://example.com:0/hook", "port 0"),
    ("http://[::1", "cannot be parsed"),
    ("http://" + "a" * 64 + ".example.com/hook", "longer than 63"),
    ("http://" + ".".join(["a" * 60] * 5) + "/hook", "longer than 253"),
    ("http://exa mple.com/hook", "not a valid host name"),
    ("http://exa_mple-.com/hook", "not a valid host name"),
    ("ftp://example.com/hook", "http:// or https://"),
    ("/hook", "http:// or https://"),
    ("http:///hook", "http:// or https://"),
])
def test_urls_that_cannot_be_sent_to_are_refused_with_the_reason(url: str, problem: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match=problem):
        parse_webhook_url(url)


@pytest.mark.parametrize(("url", "host"), [
    ("https://hooks.example.com/sla?x=1", "hooks.example.com"),
    ("https://bücher.example/hook", "xn--bcher-kva.example"),
    ("http://[2606:4700::1111]:8443/hook", "2606:4700::1111"),
    ("http://8.8.8.8/hook", "8.8.8.8"),
    ("https://hooks.example.com./hook", "hooks.example.com."),
    ("https://my_hooks.example.com/hook", "my_hooks.example.com"),
])
def test_ordinary_urls_parse_to_the_host_httpx_will_connect_to(url: str, host: str) -> None:
    assert parse_webhook_url(url).raw_host.decode() == host
