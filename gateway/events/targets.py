"""Where webhooks may be sent: public addresses only, unless `webhook_delivery.allow_private_targets`.

A webhook URL is a request the gateway makes on an admin's behalf from inside the network: one
pointing at loopback, a private range, link-local (cloud metadata at 169.254.169.254) or
another non-public address would reach what only the gateway can reach. So the URL is checked
when it is created (an IP literal, or `localhost`), and every name is checked again after DNS
resolution at delivery time (`gateway/events/resolver.py`), so a public-looking name that resolves to
127.0.0.1, or comes to later, is not connected to. Redirects are not followed (see webhooks.py).
"""

from __future__ import annotations

import ipaddress

from yarl import URL

ALLOW_SETTING = "webhook_delivery.allow_private_targets (GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS)"


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address judged as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _host(url: str) -> str | None:
    try:
        return (URL(url).host or "").strip("[]").rstrip(".").lower()
    except (ValueError, UnicodeError):
        return None  # the URL check reports it


def address_problem(url: str, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to `url` when its host is an IP literal (aiohttp connects
    to those without asking the resolver); None for names and allowed addresses."""
    host = _host(url)
    if allow_private or not host:
        return None
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if is_public(host):
        return None
    return f"url points at {host}, a loopback, private or otherwise non-public address; set {ALLOW_SETTING} to allow it"


def target_problem(url: str, allow_private: bool) -> str | None:
    """Why a webhook may not be created with `url` (its host a non-public IP literal, or
    localhost); None when it may, as far as can be told before resolving its name."""
    host = _host(url)
    if not allow_private and host and (host == "localhost" or host.endswith(".localhost")):
        return f"url points at {host}, a loopback name; set {ALLOW_SETTING} to allow it"
    return address_problem(url, allow_private)


def redacted_url(url: str) -> str:
    """The URL with its password (if any) shown as ***, for API answers and logs."""
    try:
        parsed = URL(url)
        if parsed.password is None:
            return url
        return str(parsed.with_password("***"))
    except (ValueError, UnicodeError):
        return url


def redact(text: str, url: str) -> str:
    """`text` (an error message, say) with the password of `url` replaced by ***."""
    try:
        password = URL(url).raw_password
    except (ValueError, UnicodeError):
        return text
    if not password:
        return text
    text = text.replace(url, redacted_url(url))
    for form in {password, URL(url).password or password}:
        text = text.replace(form, "***")
    return text
