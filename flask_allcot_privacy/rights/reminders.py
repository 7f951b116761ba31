"""Deadline reminders for privacy officers (P32), for ``flask privacy requests remind``.

Run it from cron (hourly or daily). Two business days before a deadline the officers
get a reminder, and once the deadline has passed a warning; each is sent once per
request, even when two runs overlap: a run claims the requests it mails about with a
conditional ``UPDATE ... RETURNING``, so the other run finds nothing left to claim.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import url_for

from .. import logsafe, outbox
from ..models import PrivacyRequest
from ..state import current_db
from . import deadlines, workflow

log = logsafe.logger(__name__)


@dataclass
class ReminderReport:
    """The request ids the officers were reminded of, and those they were warned of."""

    reminded: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)
    #: False when nobody holds the privacy officer role: nothing was marked as sent.
    had_officers: bool = True


def _claim(now: datetime, marker: t.Any, *conditions: t.Any) -> list[int]:
    db = current_db()
    claimed = db.session.scalars(
        sa.update(PrivacyRequest)
        .where(PrivacyRequest.state == "confirmed", marker.is_(None), *conditions)
        .values({marker: now})
        .returning(PrivacyRequest.id)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(claimed)


def send_reminders(now: datetime) -> ReminderReport:
    """Queue the due reminders and overdue warnings to the officers; commits."""
    db = current_db()
    officers = workflow.officer_addresses()
    if not officers:
        log.warning("No privacy officer to remind: give someone the privacy_officer role.")
        return ReminderReport(had_officers=False)
    today = deadlines.local_date(now)
    remind_until = deadlines.calendar().add_business_days(today, deadlines.REMIND_BEFORE_DAYS)
    report = ReminderReport(
        reminded=_claim(
            now,
            PrivacyRequest.reminder_sent_at,
            PrivacyRequest.deadline >= today,
            PrivacyRequest.deadline <= remind_until,
        ),
        warned=_claim(now, PrivacyRequest.overdue_warning_sent_at, PrivacyRequest.deadline < today),
    )
    for template, ids in (
        ("privacy_request_reminder", report.reminded),
        ("privacy_request_overdue", report.warned),
    ):
        if not ids:
            continue
        rows = db.session.scalars(
            sa.select(PrivacyRequest)
            .where(PrivacyRequest.id.in_(ids))
            .order_by(PrivacyRequest.deadline, PrivacyRequest.id)
        ).all()
        outbox.queue(
            template,
            officers,
            requests=[
                {
                    "id": row.id,
                    "type_label": workflow.TYPE_LABELS[row.request_type],
                    "deadline": row.deadline,
                    "link": url_for(
                        "privacy_staff.request_detail", request_id=row.id, _external=True
                    ),
                }
                for row in rows
            ],
            queue_link=url_for("privacy_staff.requests", _external=True),
        )
    db.session.commit()
    return report
