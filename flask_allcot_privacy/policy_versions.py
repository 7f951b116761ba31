"""Policy versions: publish the policy as it now renders, and tell every member (P36).

A version keeps the policy page's body as it rendered when published: the host's
policy text, the generated cookie table and the processor list. Publishing is refused
when that body is the same as the last version's, so a version always means a change.
The notice goes to every member who is not erased, once, in batches through the
outbox: each batch's mail and the version's progress marker are committed together,
so a run that stops half-way resumes after the last member told, and nobody gets two.
"""

from __future__ import annotations

import hashlib
import typing as t
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from . import audit, outbox
from .clock import utcnow
from .models import PolicyVersion, User
from .state import current_db

#: The body of the policy page: what a version keeps and what its digest covers.
POLICY_BODY_TEMPLATE = "privacy/consent/policy_body.html"
#: What consent records hold as the policy version before any version is published.
UNPUBLISHED = "unpublished"


class PublishError(ValueError):
    """A version cannot be published; the message says why and what to do."""


class PolicyUnchanged(PublishError):
    """The policy renders exactly as the last published version."""


@dataclass(frozen=True)
class RenderedPolicy:
    """The policy page's body as it renders now, with its digests."""

    text: str
    digest: str
    #: The consent revision: it changes when a cookie, processor or category changes.
    cookie_digest: str


@dataclass(frozen=True)
class ChangelogEntry:
    """One line of the policy's changelog: a history entry or a published version."""

    day: date
    summary: str
    number: int | None = None


def policy_context() -> dict[str, t.Any]:
    """What the policy body's template needs: cookies, processors, category labels."""
    from . import cookies
    from .consent import catalogue

    return {
        "declared_cookies": cookies.declared(),
        "processors": current_app.config["PRIVACY_PROCESSORS"],
        "categories": {c.name: c for c in catalogue.categories()},
        **catalogue.template_helpers(),
    }


def render_policy() -> RenderedPolicy:
    """Render the policy body in the site's default language (needs a request context)."""
    from .consent import catalogue

    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    with force_locale(locale):
        text = render_template(POLICY_BODY_TEMPLATE, **policy_context())
        cookie_digest = catalogue.revision()
    return RenderedPolicy(
        text=text,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        cookie_digest=cookie_digest,
    )


def latest() -> PolicyVersion | None:
    """The current (last published) version, or ``None`` before the first."""
    return current_db().session.scalar(
        sa.select(PolicyVersion).order_by(PolicyVersion.number.desc()).limit(1)
    )


def current_label() -> str:
    """The current version's number as text, or ``"unpublished"``: what consent records hold."""
    number = current_db().session.scalar(sa.select(sa.func.max(PolicyVersion.number)))
    return str(number) if number is not None else UNPUBLISHED


def changelog() -> list[ChangelogEntry]:
    """The history entries (``PRIVACY_POLICY_HISTORY``), then every version, oldest first."""
    entries = [
        ChangelogEntry(day=_as_date(entry["date"]), summary=str(entry["summary"]))
        for entry in current_app.config["PRIVACY_POLICY_HISTORY"]
    ]
    rows = current_db().session.execute(
        sa.select(PolicyVersion.number, PolicyVersion.published_at, PolicyVersion.summary).order_by(
            PolicyVersion.number
        )
    )
    entries.extend(
        ChangelogEntry(day=row.published_at.date(), summary=row.summary, number=row.number)
        for row in rows
    )
    return entries


def _as_date(value: t.Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def publish(summary: str, *, via_cli: bool = False) -> PolicyVersion:
    """Add the policy as it now renders as the next version; the caller commits.

    Raises :class:`PolicyUnchanged` when nothing changed since the last version. Two
    officers publishing at once both ask for the same number; the unique number lets
    only one commit (the other gets an ``IntegrityError``).
    """
    summary = summary.strip()
    if not summary:
        raise PublishError(
            _("Say in a sentence what changed: the summary is quoted in the notice.")
        )
    rendered = render_policy()
    last = latest()
    if last is not None and last.digest == rendered.digest:
        raise PolicyUnchanged(
            _(
                "The policy is the same as version %(number)s: change the policy text, the "
                "cookies or the processors first, then publish.",
                number=last.number,
            )
        )
    session = current_db().session
    version = PolicyVersion(
        number=(last.number + 1) if last is not None else 1,
        published_at=utcnow(),
        summary=summary,
        text=rendered.text,
        digest=rendered.digest,
        cookie_digest=rendered.cookie_digest,
        published_by_id=None if via_cli else _current_user_id(),
        notify_up_to_user_id=session.scalar(sa.select(sa.func.max(User.id))) or 0,
    )
    session.add(version)
    session.flush()
    detail = f"version={version.number} cookies_changed={_cookies_changed(last, rendered)}"
    if via_cli:
        audit.record_cli("policy.publish", detail=detail)
    else:
        audit.record("policy.publish", detail=detail)
    return version


def _cookies_changed(last: PolicyVersion | None, rendered: RenderedPolicy) -> bool:
    return last is None or last.cookie_digest != rendered.cookie_digest


def _current_user_id() -> int | None:
    from flask_login import current_user

    return current_user.id if current_user.is_authenticated else None


def queue_notices(version_id: int, batch_size: int | None = None) -> int:
    """Queue the change notice for every member not told yet; commits once per batch.

    Members are taken in id order a batch at a time (keyset paging: flat memory, a fresh
    query after each commit), each batch's mail added by one ``INSERT ... SELECT``. Each
    batch first moves the version's marker with a conditional ``UPDATE``: a second run
    working at the same time finds the marker moved, takes nothing, and reads on.
    Returns how many were queued.
    """
    db = current_db()
    size = batch_size or current_app.config["PRIVACY_NOTICE_BATCH_SIZE"]
    queued = 0
    while True:
        version = db.session.get(PolicyVersion, version_id, populate_existing=True)
        if version is None:
            raise PublishError(_("There is no policy version %(id)s.", id=version_id))
        if version.notices_completed_at is not None:
            db.session.commit()
            return queued
        start = version.notified_through_user_id
        live = (
            User.id > start,
            User.id <= version.notify_up_to_user_id,
            User.erased_at.is_(None),
        )
        # The batch ends at the size-th live member after the marker (or at the last one).
        end = db.session.scalar(
            sa.select(User.id).where(*live).order_by(User.id).offset(size - 1).limit(1)
        )
        if end is None:
            end = db.session.scalar(sa.select(sa.func.max(User.id)).where(*live))
        claim = sa.update(PolicyVersion).where(
            PolicyVersion.id == version_id, PolicyVersion.notified_through_user_id == start
        )
        if end is None:
            db.session.execute(
                claim.values(
                    notified_through_user_id=version.notify_up_to_user_id,
                    notices_completed_at=utcnow(),
                )
            )
            db.session.commit()
            return queued
        claimed = db.session.execute(claim.values(notified_through_user_id=end))
        if t.cast(sa.CursorResult[t.Any], claimed).rowcount != 1:
            db.session.rollback()  # another run took this batch
            continue
        count = outbox.queue_copies(
            "policy_changed",
            sa.select(User.email).where(*live, User.id <= end),
            version=version,
            policy_url=url_for("privacy_consent.policy", _external=True),
        )
        db.session.execute(
            sa.update(PolicyVersion)
            .where(PolicyVersion.id == version_id)
            .values(notices_queued=PolicyVersion.notices_queued + count)
        )
        db.session.commit()
        queued += count
