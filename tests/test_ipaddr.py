"""The IP normaliser and the anonymiser used by erasure and retention (P30, P38)."""

from __future__ import annotations

import ipaddress
import typing as t

import pytest
from flask import Flask
from hypothesis import example, given
from hypothesis import strategies as st

from flask_allcot_privacy.ipaddr import UNKNOWN_ANONYMISED as UNKNOWN
from flask_allcot_privacy.ipaddr import anonymise, normalise, request_user_agent


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("203.0.113.42", "203.0.113.42"),
        (" 203.0.113.42\n", "203.0.113.42"),
        ("::ffff:203.0.113.42", "203.0.113.42"),  # IPv4-mapped IPv6 is the IPv4 client
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),  # the zone names the server's interface
        ("::1", "::1"),
        ("not an address", ""),
        ("", ""),
        ("203.0.113.042", ""),  # leading zeros are ambiguous (octal?), so refused
        ("unix:/run/app.sock", ""),
    ],
)
def test_normalise_gives_one_stored_form_per_address(raw: str, stored: str) -> None:
    assert normalise(raw) == stored


@pytest.mark.parametrize(
    ("raw", "anonymised"),
    [
        ("203.0.113.42", "203.0.113.0"),
        ("::ffff:203.0.113.42", "203.0.113.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3:8d3::"),
        ("2001:DB8::1", "2001:db8::"),
        ("fe80::1%eth0", "fe80::"),
        ("garbage", UNKNOWN),
        ("", UNKNOWN),
        ("999.1.1.1", UNKNOWN),
    ],
)
def test_anonymise_keeps_the_network_part(raw: str, anonymised: str) -> None:
    assert anonymise(raw) == anonymised


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("Browser/1.0", "Browser/1.0"), ("U" * 400, "U" * 255), (None, "")],
)
def test_the_user_agent_is_cut_to_what_the_columns_hold(sent: str | None, stored: str) -> None:
    """P26: the user agent is stored; one cut (255 characters) for every table that keeps it."""
    headers = {} if sent is None else {"User-Agent": sent}
    with Flask(__name__).test_request_context(headers=headers):
        assert request_user_agent() == stored


def test_anonymise_never_raises_on_non_strings() -> None:
    for value in (None, 42, b"203.0.113.42", object()):
        assert anonymise(t.cast(str, value)) == UNKNOWN
        assert normalise(t.cast(str, value)) == ""


def _kept(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress._BaseNetwork:
    prefix = 24 if address.version == 4 else 64
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False)


def _as_client(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> t.Any:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


addresses = st.ip_addresses(v=4) | st.ip_addresses(v=6)


@given(address=addresses)
@example(address=ipaddress.ip_address("::ffff:203.0.113.42"))
@example(address=ipaddress.ip_address("::"))
def test_anonymised_address_is_valid_idempotent_and_keeps_the_prefix(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    """P38: an anonymised address still names the network, never the household."""
    result = anonymise(str(address))
    parsed = ipaddress.ip_address(result)
    assert anonymise(result) == result
    client = _as_client(address)
    assert parsed.version == client.version
    assert _kept(parsed) == _kept(client)
    # Nothing past the kept prefix survives.
    assert parsed == _kept(client).network_address


@given(text=st.text())
@example(text="::ffff:")
@example(text="1.2.3.4/24")
@example(text="[::1]")
@example(text="%")
def test_anything_else_becomes_zero_and_never_raises(text: str) -> None:
    result = anonymise(text)
    ipaddress.ip_address(result)  # always a valid address
    assert anonymise(result) == result
    if normalise(text) == "":
        assert result == UNKNOWN


@given(text=st.one_of(st.text(), addresses.map(str)))
def test_normalise_is_idempotent_and_gives_an_address_or_nothing(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    if once:
        assert str(ipaddress.ip_address(once)) == once
