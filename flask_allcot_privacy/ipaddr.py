"""Client IP addresses: one stored form, and the anonymiser used by erasure and retention.

Every address the extension stores goes through :func:`normalise`, so the same
client is always written the same way (``::ffff:203.0.113.7`` is ``203.0.113.7``,
IPv6 is compressed and lower-case). :func:`anonymise` keeps only the network
part, which still answers "where did the abuse come from" without naming one
household: IPv4 keeps its first three octets, IPv6 its first 64 bits. Neither
ever raises: anything that is not an address becomes ``""`` (unknown) or, once
anonymised, ``0.0.0.0``. The request's user agent, stored beside the address, is
read here too, cut to the length every user-agent column holds.
"""

from __future__ import annotations

import ipaddress

from flask import request

#: What :func:`anonymise` returns for anything that is not an IP address.
# A stored value, never an address to bind to.
UNKNOWN_ANONYMISED = "0.0.0.0"  # noqa: S104  # nosec B104
#: How many leading bits :func:`anonymise` keeps, per IP version.
KEPT_PREFIX = {4: 24, 6: 64}
#: The longest user agent stored; longer ones are cut (the columns hold 255 characters).
USER_AGENT_LENGTH = 255

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(ip: object) -> _Address | None:
    """The address in ``ip``, as IPv4 when it is an IPv4-mapped IPv6 address."""
    if not isinstance(ip, str):
        return None
    # A zone id ("fe80::1%eth0") names an interface on the server, not the client.
    text = ip.strip().split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def normalise(ip: str) -> str:
    """The canonical text of an IP address (IPv4-mapped IPv6 as IPv4), or ``""`` if none."""
    address = _parse(ip)
    return "" if address is None else str(address)


def request_ip() -> str:
    """The current client's address, normalised, as the extension stores it.

    This is ``request.remote_addr``: the peer that connected, unless the host set
    ``PRIVACY_TRUSTED_PROXIES`` and werkzeug's ProxyFix took it from that many
    ``X-Forwarded-For`` hops. A forged header from an untrusted client changes nothing.
    """
    return normalise(request.remote_addr or "")


def request_user_agent() -> str:
    """The current client's user agent, cut to the :data:`USER_AGENT_LENGTH` every column holds."""
    return request.user_agent.string[:USER_AGENT_LENGTH]


def anonymise(ip: str) -> str:
    """The network part of ``ip``: ``203.0.113.42`` becomes ``203.0.113.0``.

    IPv4 keeps 24 bits and IPv6 64 bits; anything else becomes ``0.0.0.0``.
    Anonymising an anonymised address changes nothing.
    """
    address = _parse(ip)
    if address is None:
        return UNKNOWN_ANONYMISED
    network = ipaddress.ip_network(f"{address}/{KEPT_PREFIX[address.version]}", strict=False)
    return str(network.network_address)


__all__ = [
    "KEPT_PREFIX",
    "UNKNOWN_ANONYMISED",
    "USER_AGENT_LENGTH",
    "anonymise",
    "normalise",
    "request_ip",
    "request_user_agent",
]
