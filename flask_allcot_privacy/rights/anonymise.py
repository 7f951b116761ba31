"""Anonymising IP addresses inside the database, so erasure stays one UPDATE per batch.

:func:`anonymised_ip` is a SQL expression with the meaning of
:func:`flask_allcot_privacy.ipaddr.anonymise` (IPv4 keeps 24 bits, IPv6 64):
on PostgreSQL it is built from ``inet`` functions; on SQLite it calls that very
Python function, registered on the connection by :func:`prepare`. Stored
addresses are always normalised (see ``ipaddr.normalise``), so each is empty or a
valid address; PostgreSQL refuses, and the erasure fails loudly on, anything else.
"""

from __future__ import annotations

import functools
import re
import typing as t

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.functions import FunctionElement

from .. import ipaddr

#: The SQL function name registered on SQLite connections.
SQLITE_FUNCTION = "privacy_anonymise_ip"


class anonymised_ip(FunctionElement[str]):
    """``anonymised_ip(Comment.ip_address)``: the column's address with its host part zeroed."""

    type = sa.String()
    inherit_cache = True
    name = SQLITE_FUNCTION


@compiles(anonymised_ip)
def _compile_default(element: anonymised_ip, compiler: t.Any, **kw: t.Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(anonymised_ip, "postgresql")
def _compile_postgresql(element: anonymised_ip, compiler: t.Any, **kw: t.Any) -> str:
    column = compiler.process(element.clauses, **kw)
    ipv4 = "'^[0-9]{1,3}([.][0-9]{1,3}){3}$'"
    ipv6 = "'^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$'"
    keep = ipaddr.KEPT_PREFIX
    return (
        f"CASE WHEN {column} ~ {ipv4} "
        f"THEN host(network(set_masklen(CAST({column} AS inet), {keep[4]}))) "
        f"WHEN {column} ~ {ipv6} "
        f"THEN host(network(set_masklen(CAST({column} AS inet), {keep[6]}))) "
        f"ELSE '{ipaddr.UNKNOWN_ANONYMISED}' END"
    )


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: A normalised IPv4 address, the common case, anonymised without parsing it.
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


@functools.lru_cache(maxsize=4096)
def _anonymise_other(ip: str) -> str:
    return ipaddr.anonymise(ip)


def _anonymise_for_sqlite(ip: str | None) -> str:
    """:func:`ipaddr.anonymise`, with a fast path for IPv4 (same answer, 24 bits kept)."""
    if ip and ipaddr.KEPT_PREFIX[4] == 24 and _IPV4.fullmatch(ip):
        return ip[: ip.rindex(".")] + ".0"
    return _anonymise_other(ip or "")


def prepare(session: Session | scoped_session[t.Any]) -> None:
    """Make :func:`anonymised_ip` usable on the session's connection (SQLite needs it)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.driver_connection
        raw.create_function(SQLITE_FUNCTION, 1, _anonymise_for_sqlite, deterministic=True)  # type: ignore[union-attr]
