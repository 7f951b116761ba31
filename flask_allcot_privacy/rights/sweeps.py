"""The retention sweeps of privacy requests, rules of ``flask privacy purge``.

Both are set-based, take the time as an argument (the purge passes one ``now`` to
every rule) and with ``dry_run`` only count. Each commits its own work.
"""

from __future__ import annotations

import typing as t
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from .. import retention
from ..models import PrivacyRequest
from ..state import current_db

#: Export rows handled per statement when deleting expired files.
BATCH = 500


@retention.builtin_rule(
    "unconfirmed-requests",
    "Privacy requests not confirmed within PRIVACY_REQUEST_CONFIRM_WITHIN become expired",
)
def expire_unconfirmed_requests(now: datetime, dry_run: bool) -> int:
    """Pending requests whose confirmation window has passed become ``expired``.

    The window is PRIVACY_REQUEST_CONFIRM_WITHIN from the latest confirmation email, so
    a link sent a moment ago is never cut short. Returns how many (would) expire.
    """
    cutoff = now - current_app.config["PRIVACY_REQUEST_CONFIRM_WITHIN"]
    where = (PrivacyRequest.state == "pending", PrivacyRequest.confirm_sent_at < cutoff)
    db = current_db()
    if dry_run:
        count = db.session.scalar(sa.select(sa.func.count(PrivacyRequest.id)).where(*where))
        return int(count or 0)
    result = db.session.execute(
        sa.update(PrivacyRequest)
        .where(*where)
        .values(state="expired")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return int(t.cast(sa.CursorResult[t.Any], result).rowcount)


@retention.builtin_rule(
    "expired-exports", "Export files deleted once their PRIVACY_EXPORT_EXPIRES link expired"
)
def delete_expired_exports(now: datetime, dry_run: bool) -> int:
    """Delete the export files whose link has expired and clear the rows' file reference.

    Returns how many files (would) go. A file already missing is counted and cleared too.
    """
    from .export_jobs import export_dir

    db = current_db()
    where = (
        PrivacyRequest.export_file.is_not(None),
        PrivacyRequest.export_expires_at <= now,
    )
    if dry_run:
        count = db.session.scalar(sa.select(sa.func.count(PrivacyRequest.id)).where(*where))
        return int(count or 0)
    folder = export_dir()
    deleted = 0
    while True:
        rows = db.session.execute(
            sa.select(PrivacyRequest.id, PrivacyRequest.export_file)
            .where(*where)
            .order_by(PrivacyRequest.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for _request_id, name in rows:
            # Only a bare file name from our own column; never a path out of the folder.
            (folder / Path(str(name)).name).unlink(missing_ok=True)
        db.session.execute(
            sa.update(PrivacyRequest)
            .where(PrivacyRequest.id.in_([row.id for row in rows]))
            .values(export_file=None, export_token_hash=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        deleted += len(rows)
    return deleted
