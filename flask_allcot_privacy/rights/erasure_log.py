"""The erasure log: a keyed hash of every erased address, and nothing else.

After a database backup is restored, people erased since the backup was taken
would come back; ``flask privacy replay-erasures`` finds them again by hashing
the addresses the restored database holds and matching them against this log.

The hash is HMAC-SHA256 under a key derived from ``SECRET_KEY``, so the log
cannot be matched against a list of addresses by someone who holds only the log.
Each entry names its key (``key_id``). When ``SECRET_KEY`` is rotated, keep the
old secret in Flask's ``SECRET_KEY_FALLBACKS``: replay tries every key, and new
entries use the current one. An entry whose key is gone can no longer be matched.

The log must outlive the backups it protects against: set
``PRIVACY_ERASURE_LOG_BIND`` to a ``SQLALCHEMY_BINDS`` key for a database that a
restore leaves alone. Without it the log is in the app's own database, and a
restore brings back the log as it was, together with the data.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import typing as t
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from flask import current_app

from ..models import ErasureLog


class ErasureLogError(RuntimeError):
    """The erasure log's database is not configured as ``PRIVACY_ERASURE_LOG_BIND`` says."""


#: Mixed into ``SECRET_KEY`` so the log's key is used for nothing else.
KEY_PURPOSE = b"flask-allcot-privacy erasure log"


def _derive(secret: str | bytes) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(raw, KEY_PURPOSE, hashlib.sha256).digest()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"key id:" + key).hexdigest()[:16]


def keys() -> list[tuple[str, bytes]]:
    """``(key_id, key)`` for ``SECRET_KEY`` then each of ``SECRET_KEY_FALLBACKS``."""
    fallbacks = current_app.config.get("SECRET_KEY_FALLBACKS") or []
    secrets = [current_app.config["SECRET_KEY"], *fallbacks]
    derived = [_derive(secret) for secret in secrets if secret]
    return [(_key_id(key), key) for key in derived]


def address_hash(email: str, key: bytes | None = None) -> str:
    """The keyed hash of a normalised address (under the current key by default)."""
    return hmac.new(key or keys()[0][1], email.encode("utf-8"), hashlib.sha256).hexdigest()


@contextlib.contextmanager
def _connection(*, commit: bool = True) -> Iterator[sa.Connection]:
    """A connection to the log's database, committed when the block ends if ``commit``."""
    from ..state import current_db

    db = current_db()
    bind = current_app.config["PRIVACY_ERASURE_LOG_BIND"]
    if bind is None:
        yield db.session.connection()
        if commit:
            db.session.commit()
        return
    try:
        engine = db.engines[bind]
    except KeyError:
        raise ErasureLogError(
            f"PRIVACY_ERASURE_LOG_BIND is {bind!r}, but SQLALCHEMY_BINDS has no such key: "
            "add the erasure log's database URL to SQLALCHEMY_BINDS under that key."
        ) from None
    ErasureLog.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    with engine.begin() as connection:
        yield connection


def record(email: str, request_id: int | None = None) -> None:
    """Log that ``email`` is being erased (once per address and key), and commit."""
    key_id, key = keys()[0]
    digest = address_hash(email, key)
    table = t.cast(sa.Table, ErasureLog.__table__)
    with _connection() as connection:
        connection.execute(
            insert_once(connection, table, ("address_hash", "key_id")).values(
                address_hash=digest, key_id=key_id, request_id=request_id
            )
        )


def insert_once(connection: sa.Connection, table: sa.Table, unique: tuple[str, ...]) -> sa.Insert:
    """An INSERT that does nothing when a row with the same ``unique`` columns exists.

    ``ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite, so two erasures of one address
    at the same moment both succeed and the row is written once; on other databases the
    second fails on the unique constraint, and running it again finishes.
    """
    name = connection.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=list(unique))
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(unique))
    # Elsewhere a second simultaneous insert fails loudly on the unique constraint.
    return sa.insert(table)


def logged(addresses: Iterable[str]) -> set[str]:
    """Those of ``addresses`` (normalised) that the log holds, under any known key."""
    batch = set(addresses)
    found: set[str] = set()
    if not batch:
        return found
    table = t.cast(sa.Table, ErasureLog.__table__)
    with _connection(commit=False) as connection:
        for key_id, key in keys():
            by_hash = {address_hash(address, key): address for address in batch}
            matched = connection.scalars(
                sa.select(table.c.address_hash).where(
                    table.c.key_id == key_id, table.c.address_hash.in_(list(by_hash))
                )
            )
            found.update(by_hash[digest] for digest in matched)
    return found


def entries_without_key() -> int:
    """How many entries were hashed under a key that is no longer configured."""
    table = t.cast(sa.Table, ErasureLog.__table__)
    known = [key_id for key_id, _ in keys()]
    with _connection(commit=False) as connection:
        return (
            connection.scalar(
                sa.select(sa.func.count()).select_from(table).where(table.c.key_id.not_in(known))
            )
            or 0
        )
