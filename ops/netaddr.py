"""The client's address, and CIDR matching for allowlists.

``X-Forwarded-For`` is believed only when the connection comes from a configured trusted
proxy (``TRUSTED_PROXIES``), and then only up to the first address, from the right, that is
not itself a trusted proxy: everything left of it was written by the client and may be
forged.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse CIDR ranges (a bare address is a /32 or /128); raises ValueError naming a bad one."""
    parsed = []
    for entry in entries:
        try:
            parsed.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IPv4 or IPv6 address or CIDR range") from None
    return tuple(parsed)


def address_in(address: str, ranges: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in ranges)


def client_ip(request) -> str:
    """The address of whoever sent the request (see the module docstring)."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = networks(tuple(settings.TRUSTED_PROXIES))
    if not trusted or not address_in(remote, trusted):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not address_in(hop, trusted):
            return hop
    return hops[0] if hops else remote
