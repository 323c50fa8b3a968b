"""Who is asking: the client's address behind the trusted proxies, and its rate-limit bucket.

REMOTE_ADDR is the peer of the web server; behind the TLS proxy production assumes, that is the
proxy, and every visitor would share one address. ``settings.TRUSTED_PROXIES`` lists the proxies'
networks (none by default: nothing a client sends is believed). X-Forwarded-For is read from the
right, where each trusted proxy appended the address it received the request from: while the
address in hand belongs to a trusted proxy, step one entry left; the first address outside the
trusted networks is the client. Entries a client wrote itself sit further left and are never
reached, so a forged header changes nothing.

Rate limits count per *bucket*: an IPv4 address, or the /64 network of an IPv6 address (one
subscriber line usually holds a whole /64, so counting single IPv6 addresses would give every
client endless fresh buckets).
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "unknown"

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(raw: str) -> _Address | None:
    text = raw.strip().strip('"')
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: _Address) -> bool:
    # Networks as settings.TRUSTED_PROXIES holds them (env.env_networks), or as strings.
    networks = (ipaddress.ip_network(n, strict=False) for n in settings.TRUSTED_PROXIES)
    return any(address in network for network in networks if network.version == address.version)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the trusted proxies saw it; None when the peer is unreadable."""
    address = _parse(request.META.get("REMOTE_ADDR", ""))
    if address is None:
        return None
    forwarded = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if entry.strip()]
    while _trusted(address) and forwarded:
        hop = _parse(forwarded.pop())
        if hop is None:  # a trusted proxy forwarded something unreadable: stop at the proxy
            break
        address = hop
    return str(address)


def client_bucket(ip: str | None) -> str:
    """The rate-limit identity of a client address: itself for IPv4, its /64 for IPv6."""
    address = _parse(ip or "")
    if address is None:
        return UNKNOWN
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
