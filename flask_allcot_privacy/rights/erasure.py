"""The erasure runner: every eraser for a subject, resumable, logged for replay.

:func:`erase` writes the address's keyed hash to the erasure log first (so a
restore can never bring back someone who asked to be forgotten, even if the run
is interrupted), then runs each eraser (see :func:`.registry.erasers_for`) in its
own transaction, committed together with an :class:`~..models.ErasureProgress`
row. A run killed halfway finishes when run again: the erasers that committed are
skipped, their stored results reported. :func:`replay_erasures` runs the whole
erasure again for every logged address a restored database still holds.
"""

from __future__ import annotations

import itertools
import json
import typing as t
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from email.utils import getaddresses

import sqlalchemy as sa
from flask import current_app

from ..models import Comment, ContactMessage, ErasureProgress, OutboxMessage, User
from ..state import current_db
from . import erasure_log
from .registry import Erased, erasers_for, title_of
from .subject import Subject, normalise_email

#: Addresses hashed and matched against the log per query during replay.
REPLAY_BATCH = 1000


class ErasureError(Exception):
    """An eraser failed; what ran before it is done and recorded. Run the erasure again."""


@dataclass
class ErasureReport:
    """What an erasure did, to tell the requester."""

    #: ``(title, count)`` for each eraser that removed or anonymised something.
    erased: list[tuple[str, int]] = field(default_factory=list)
    #: ``(what, reason)`` for everything kept.
    retained: list[tuple[str, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _run_key(subject: Subject) -> str:
    if subject.request_id is not None:
        return f"request:{subject.request_id}"
    return f"address:{erasure_log.address_hash(subject.email)}"


def erase(subject: Subject) -> ErasureReport:
    """Run every eraser for ``subject`` and commit; safe to call again.

    Commits the session (pending changes of the caller's included).

    :raises ErasureError: when an eraser fails; its work is rolled back, the erasers
        before it stay done, and calling :func:`erase` again finishes the job.
    """
    session = current_db().session
    erasure_log.record(subject.email, subject.request_id)
    run_key = _run_key(subject)
    finished = {
        progress.eraser: progress.result
        for progress in session.scalars(
            sa.select(ErasureProgress).where(ErasureProgress.run_key == run_key)
        )
    }
    report = ErasureReport()
    for eraser in erasers_for(current_app):
        result = finished.get(eraser.name)
        if result is None:
            try:
                erased = eraser.function(subject)
                if not isinstance(erased, Erased):
                    raise TypeError(f"it returned {erased!r}, not an Erased")
                result = json.loads(json.dumps(asdict(erased), default=str))
                progress = t.cast(sa.Table, ErasureProgress.__table__)
                session.execute(
                    erasure_log.insert_once(
                        session.connection(), progress, ("run_key", "eraser")
                    ).values(run_key=run_key, eraser=eraser.name, result=result)
                )
                session.commit()
            except Exception as error:
                session.rollback()
                raise ErasureError(
                    f"The {eraser.name!r} eraser failed ({error}); the erasers before it are "
                    "done and recorded. Fix the cause and run the erasure again to finish."
                ) from error
        if result["removed"]:
            report.erased.append((title_of(current_app, eraser), result["removed"]))
        report.retained.extend((what, reason) for what, reason in result["retained"])
        report.messages.extend(result["messages"])
    session.execute(sa.delete(ErasureProgress).where(ErasureProgress.run_key == run_key))
    session.commit()
    return report


def _column_addresses(query: sa.Select[t.Any]) -> Iterator[str]:
    """One column of addresses, streamed, normalised, blanks skipped."""
    result = current_db().session.execute(query.execution_options(yield_per=REPLAY_BATCH))
    for (address,) in result:
        if address:
            yield normalise_email(address)


def _outbox_addresses() -> Iterator[str]:
    result = current_db().session.execute(
        sa.select(OutboxMessage.recipients).execution_options(yield_per=REPLAY_BATCH)
    )
    for (recipients,) in result:
        for _, address in getaddresses(list(recipients or [])):
            if address:
                yield normalise_email(address)


def candidate_addresses() -> Iterator[str]:
    """Every address the database holds, from each table that stores one (with repeats).

    Accounts, comments, contact messages, privacy requests, the outbox, and each
    host eraser's ``addresses`` query.
    """
    yield from _column_addresses(sa.select(User.email_key).where(User.erased_at.is_(None)))
    yield from _column_addresses(
        sa.select(sa.func.lower(Comment.author_email)).where(Comment.author_email != "").distinct()
    )
    yield from _column_addresses(sa.select(sa.func.lower(ContactMessage.email)).distinct())
    from .. import models

    requests = getattr(models, "PrivacyRequest", None)
    if requests is not None:
        yield from _column_addresses(sa.select(requests.email_key).distinct())
    yield from _outbox_addresses()
    for eraser in erasers_for(current_app):
        if eraser.addresses is not None:
            yield from _column_addresses(eraser.addresses())


def _batches(addresses: Iterable[str]) -> Iterator[list[str]]:
    iterator = iter(addresses)
    while batch := list(itertools.islice(iterator, REPLAY_BATCH)):
        yield batch


def replay_erasures() -> int:
    """Erase again everyone in the erasure log whose address the database holds.

    Run after restoring a backup. The addresses are hashed in batches of
    :data:`REPLAY_BATCH` under every known key and matched with one query per
    batch and key; only the matches are kept in memory. Returns how many people
    were erased again.
    """
    found: set[str] = set()
    for batch in _batches(candidate_addresses()):
        found.update(erasure_log.logged(batch))
    for address in sorted(found):
        erase(Subject.for_email(address))
    return len(found)
