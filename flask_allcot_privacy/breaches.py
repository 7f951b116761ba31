"""Breach incidents: record what happened, tell each affected member once (P35).

The policy promises customers an email within 48 hours of the team becoming aware of
a breach; GDPR Art. 33 gives 72 hours to tell the supervisory authority. Both run from
``discovered_at``. Each affected member has one :class:`~.models.BreachNotice` row,
unique per incident and member: notifying inserts the missing rows in one statement,
then claims unqueued rows a batch at a time with a conditional ``UPDATE``, so running
it twice, or twice at once, emails each member once.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import audit, outbox
from .clock import utcnow
from .models import BreachIncident, BreachNotice, OutboxMessage, User
from .state import current_db

#: The policy's promise to customers, from the moment the team became aware.
MEMBER_DEADLINE = timedelta(hours=48)
#: GDPR Art. 33: the supervisory authority, "where feasible, not later than 72 hours".
AUTHORITY_DEADLINE = timedelta(hours=72)

DEFAULT_DATA_AFFECTED = _l("Your account details: your username and email address.")
DEFAULT_WHAT_TO_DO = _l(
    "Nothing is needed from you right now. Be wary of unexpected emails that ask for your "
    "password or details; we never ask for your password. We will write again if there is "
    "more to do."
)


class BreachError(ValueError):
    """The incident cannot be recorded or notified; the message says why."""


@dataclass(frozen=True)
class Deadline:
    """One deadline of an incident: when it falls, when it was met, whether it is overdue."""

    due: datetime
    done_at: datetime | None
    now: datetime

    @property
    def overdue(self) -> bool:
        """Not done and past due, or done after it fell."""
        return (self.done_at or self.now) > self.due

    @property
    def remaining(self) -> timedelta:
        return self.due - self.now


@dataclass(frozen=True)
class Progress:
    """How far an incident's notices are: affected members, queued and delivered notices."""

    affected: int
    queued: int
    delivered: int
    last_queued_at: datetime | None

    @property
    def complete(self) -> bool:
        return self.queued >= self.affected


def find_members(usernames: t.Iterable[str]) -> tuple[list[User], list[str]]:
    """The live accounts with these usernames, and the usernames that match none."""
    wanted = {name.strip().lower(): name.strip() for name in usernames if name.strip()}
    if not wanted:
        return [], []
    found = list(
        current_db().session.scalars(
            sa.select(User).where(User.username_key.in_(wanted), User.erased_at.is_(None))
        )
    )
    known = {user.username_key for user in found}
    return found, [name for key, name in wanted.items() if key not in known]


def open_incident(
    summary: str,
    *,
    discovered_at: datetime | None = None,
    data_affected: str = "",
    what_to_do: str = "",
    members: t.Sequence[User] = (),
    all_members: bool = False,
    via_cli: bool = False,
) -> BreachIncident:
    """Record an incident and who it affects; the caller commits."""
    now = utcnow()
    if not summary.strip():
        raise BreachError(_("Say what happened: the summary is quoted in every notice."))
    if members and all_members:
        raise BreachError(_("Name the affected members or choose all members, not both."))
    discovered_at = discovered_at or now
    if discovered_at > now:
        raise BreachError(_("The time of discovery cannot be in the future."))
    session = current_db().session
    incident = BreachIncident(
        discovered_at=discovered_at,
        recorded_at=now,
        summary=summary.strip(),
        data_affected=(data_affected or "").strip() or str(DEFAULT_DATA_AFFECTED),
        what_to_do=(what_to_do or "").strip() or str(DEFAULT_WHAT_TO_DO),
        all_members=all_members,
        created_by_id=None if via_cli else _current_user_id(),
    )
    session.add(incident)
    session.flush()
    if members:
        session.execute(
            sa.insert(BreachNotice),
            [{"incident_id": incident.id, "user_id": user.id} for user in members],
        )
    detail = f"incident={incident.id} members={'all' if all_members else len(members)}"
    _audit("breach.open", detail, via_cli)
    return incident


def _current_user_id() -> int | None:
    from flask_login import current_user

    return current_user.id if current_user.is_authenticated else None


def _audit(action: str, detail: str, via_cli: bool) -> None:
    if via_cli:
        audit.record_cli(action, detail=detail)
    else:
        audit.record(action, detail=detail)


def get(incident_id: int) -> BreachIncident:
    incident = current_db().session.get(BreachIncident, incident_id)
    if incident is None:
        raise BreachError(_("There is no incident %(id)s.", id=incident_id))
    return incident


def add_missing_notices(incident: BreachIncident) -> None:
    """For an all-members incident, one notice row per live member who has none (one INSERT).

    "All members" are those with an account when the incident was recorded.
    """
    if not incident.all_members:
        return
    db = current_db()
    missing = sa.select(sa.literal(incident.id), User.id).where(
        User.erased_at.is_(None),
        User.created_at <= incident.recorded_at,
        ~sa.exists().where(
            BreachNotice.incident_id == incident.id, BreachNotice.user_id == User.id
        ),
    )
    insert = _insert_ignoring_duplicates(db.engine.dialect.name).from_select(
        ["incident_id", "user_id"], missing
    )
    db.session.execute(insert)


def _insert_ignoring_duplicates(dialect: str) -> t.Any:
    """``INSERT ... ON CONFLICT DO NOTHING``: a run at the same time inserted the row first."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(BreachNotice).on_conflict_do_nothing()
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(BreachNotice).on_conflict_do_nothing()
    return sa.insert(BreachNotice)


def queue_notices(incident_id: int, *, via_cli: bool = False, batch_size: int | None = None) -> int:
    """Queue the notice for every affected member not told yet; commits once per batch.

    Returns how many notices this run queued (0 when every member was told already).
    """
    db = current_db()
    size = batch_size or current_app.config["PRIVACY_NOTICE_BATCH_SIZE"]
    incident = get(incident_id)
    add_missing_notices(incident)
    db.session.commit()
    queued = 0
    while True:
        now = utcnow()
        candidates = sa.select(BreachNotice.id).where(
            BreachNotice.incident_id == incident_id,
            BreachNotice.queued_at.is_(None),
            BreachNotice.user_id.in_(sa.select(User.id).where(User.erased_at.is_(None))),
        )
        ids = list(db.session.scalars(candidates.order_by(BreachNotice.id).limit(size)))
        if not ids:
            break
        # Only rows still unqueued are taken: a run at the same time took the others.
        claimed = db.session.execute(
            sa.update(BreachNotice)
            .where(BreachNotice.id.in_(ids), BreachNotice.queued_at.is_(None))
            .values(queued_at=now)
            .returning(BreachNotice.id, BreachNotice.user_id)
        ).all()
        if not claimed:
            db.session.rollback()
            continue
        users = {
            user.id: user
            for user in db.session.scalars(
                sa.select(User).where(User.id.in_([row.user_id for row in claimed]))
            )
        }
        incident = get(incident_id)
        message_ids = outbox.queue_each(
            "breach_notice",
            [users[row.user_id].email for row in claimed],
            [{"user": users[row.user_id]} for row in claimed],
            return_ids=True,
            incident=incident,
            **_links(),
        )
        db.session.execute(
            sa.update(BreachNotice),
            [
                {"id": row.id, "message_id": message_id}
                for row, message_id in zip(claimed, message_ids, strict=True)
            ],
        )
        _audit("breach.notify", f"incident={incident_id} queued={len(claimed)}", via_cli)
        db.session.commit()
        queued += len(claimed)
    return queued


def _links() -> dict[str, str]:
    links = {"policy_url": url_for("privacy_consent.policy", _external=True)}
    if "privacy_accounts.reset_password" in current_app.view_functions:
        links["reset_url"] = url_for("privacy_accounts.reset_password", _external=True)
    return links


def record_deliveries() -> int:
    """Copy the delivery time of each sent notice email onto its notice (one UPDATE)."""
    sent_at = (
        sa.select(OutboxMessage.sent_at)
        .where(OutboxMessage.id == BreachNotice.message_id)
        .scalar_subquery()
    )
    result = current_db().session.execute(
        sa.update(BreachNotice)
        .where(
            BreachNotice.notified_at.is_(None),
            BreachNotice.message_id.in_(
                sa.select(OutboxMessage.id).where(OutboxMessage.sent_at.is_not(None))
            ),
        )
        .values(notified_at=sent_at)
        .execution_options(synchronize_session=False)
    )
    return int(t.cast(sa.CursorResult[t.Any], result).rowcount or 0)


def detach_messages(message_ids: sa.Select[t.Any]) -> None:
    """Unlink notices from outbox messages about to be deleted (SQLite may not enforce
    ``ON DELETE SET NULL``); their delivery time stays on the notice."""
    current_db().session.execute(
        sa.update(BreachNotice)
        .where(BreachNotice.message_id.in_(message_ids))
        .values(message_id=None)
        .execution_options(synchronize_session=False)
    )


def progress(incident: BreachIncident) -> Progress:
    """Affected members (live ones, plus any already told), queued and delivered notices."""
    session = current_db().session
    live = sa.select(User.id).where(User.erased_at.is_(None))
    if incident.all_members:
        live = live.where(User.created_at <= incident.recorded_at)
        affected_query = sa.select(sa.func.count()).select_from(live.subquery())
        affected = int(session.scalar(affected_query) or 0)
    else:
        affected = int(
            session.scalar(
                sa.select(sa.func.count(BreachNotice.id)).where(
                    BreachNotice.incident_id == incident.id,
                    sa.or_(BreachNotice.user_id.in_(live), BreachNotice.queued_at.is_not(None)),
                )
            )
            or 0
        )
    row = session.execute(
        sa.select(
            sa.func.count(BreachNotice.queued_at),
            sa.func.count(BreachNotice.notified_at),
            sa.func.max(BreachNotice.queued_at),
        ).where(BreachNotice.incident_id == incident.id)
    ).one()
    return Progress(
        affected=max(affected, int(row[0])),
        queued=int(row[0]),
        delivered=int(row[1]),
        last_queued_at=row[2],
    )


def deadlines(
    incident: BreachIncident, done: Progress, now: datetime | None = None
) -> tuple[Deadline, Deadline]:
    """The members' 48-hour deadline (met when every notice is queued) and the authority's."""
    now = now or utcnow()
    members_done = done.last_queued_at if done.complete and done.queued else None
    if done.complete and not done.affected:
        members_done = incident.recorded_at
    return (
        Deadline(incident.discovered_at + MEMBER_DEADLINE, members_done, now),
        Deadline(incident.discovered_at + AUTHORITY_DEADLINE, incident.authority_notified_at, now),
    )


def record_authority(
    incident: BreachIncident, when: datetime, how: str, *, via_cli: bool = False
) -> None:
    """Note when and how the supervisory authority was told; the caller commits."""
    if not how.strip():
        raise BreachError(_("Say how the authority was told (for example its online form)."))
    if when > utcnow():
        raise BreachError(_("That time is in the future."))
    incident.authority_notified_at = when
    incident.authority_notified_how = how.strip()[:500]
    _audit("breach.authority", f"incident={incident.id}", via_cli)
