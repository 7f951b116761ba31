"""Retention: personal data is kept only as long as there is a reason (P38, P25).

One :class:`RetentionRule` per kind of data. Each rule is a function
``(now, dry_run) -> int`` that acts with set-based statements (one ``UPDATE`` or
``DELETE``, never a query per row), returns how many rows it changed (or, in a dry
run, would change), and is idempotent: a second run finds nothing left to do.
``flask privacy purge`` runs every rule, each in its own transaction.

Rules come from three places, run in this order:

- the built-in rules below, each driven by a ``PRIVACY_RETAIN_*`` setting
  (``None`` turns a rule off);
- rules the extension's other packages add with :func:`builtin_rule` when imported;
- rules the host adds with :meth:`.Privacy.retention_rule` and
  :meth:`.Privacy.financial_records`.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from .models import Comment, ContactMessage, LoginSession, OutboxMessage
from .state import current_db, state_for

#: What a rule does: given the time and whether this is a dry run, how many rows it changed.
ApplyRule = Callable[[datetime, bool], int]


@dataclass(frozen=True)
class RetentionRule:
    """One kind of data and how long it is kept.

    :param name: a short key shown by ``flask privacy purge``, such as ``login-sessions``.
    :param description: what the rule does, in a sentence (``str.format`` may use the
        app's config, e.g. ``"... after {PRIVACY_RETAIN_LOGIN_SESSIONS.days} days"``).
    :param apply: the rule itself; see :data:`ApplyRule`.
    :param setting: the ``PRIVACY_RETAIN_*`` key that drives it; the rule is off while
        the key is ``None``.
    """

    name: str
    description: str
    apply: ApplyRule
    setting: str | None = None

    def enabled(self) -> bool:
        return self.setting is None or current_app.config[self.setting] is not None

    def describe(self) -> str:
        if not self.enabled():
            return f"off ({self.setting} is None): this data is kept"
        try:
            return self.description.format(**current_app.config)
        except (KeyError, IndexError, AttributeError, ValueError):
            return self.description


@dataclass(frozen=True)
class RuleResult:
    """What one rule did (or, in a dry run, would do)."""

    rule: RetentionRule
    count: int | None

    def line(self, dry_run: bool) -> str:
        """One line of ``flask privacy purge`` output."""
        if self.count is None:
            return f"{self.rule.name}: skipped, {self.rule.describe()}"
        verb = "would change" if dry_run else "changed"
        return f"{self.rule.name}: {verb} {self.count} row(s); {self.rule.describe()}"


#: Rules added by the extension's own packages, in the order they were added.
_BUILTIN: dict[str, RetentionRule] = {}


def builtin_rule(
    name: str, description: str, *, setting: str | None = None
) -> Callable[[ApplyRule], ApplyRule]:
    """Decorator for the extension's own packages: add a rule every app runs.

    .. code-block:: python

        from .. import retention

        @retention.builtin_rule(
            "unconfirmed-requests", "Unconfirmed privacy requests expired after 24 hours"
        )
        def expire_unconfirmed_requests(now: datetime, dry_run: bool) -> int: ...

    The module must be imported when the extension is (``init_app`` imports every
    package), so the rule is known before ``purge`` runs.
    """

    def register(apply: ApplyRule) -> ApplyRule:
        _BUILTIN[name] = RetentionRule(name, description, apply, setting)
        return apply

    return register


def cutoff(setting: str, now: datetime) -> datetime | None:
    """``now`` minus the duration in ``setting``, or ``None`` when the setting is off."""
    kept: timedelta | None = current_app.config[setting]
    return None if kept is None else now - kept


def _count_or_run(statement: t.Any, counted: t.Any, dry_run: bool) -> int:
    """In a dry run count the rows ``counted`` selects; otherwise execute ``statement``."""
    session = current_db().session
    if dry_run:
        return int(session.scalar(sa.select(sa.func.count()).select_from(counted.subquery())) or 0)
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(t.cast(sa.CursorResult[t.Any], result).rowcount or 0)


def anonymise_comment_meta(now: datetime, dry_run: bool) -> int:
    """Blank the IP address and user agent of comments older than the setting."""
    before = cutoff("PRIVACY_RETAIN_COMMENT_META", now)
    if before is None:
        return 0
    where = (
        Comment.created_at < before,
        sa.or_(Comment.ip_address != "", Comment.user_agent != ""),
    )
    return _count_or_run(
        sa.update(Comment).where(*where).values(ip_address="", user_agent=""),
        sa.select(Comment.id).where(*where),
        dry_run,
    )


def delete_ended_login_sessions(now: datetime, dry_run: bool) -> int:
    """Delete login sessions that expired, or were revoked, longer ago than the setting."""
    before = cutoff("PRIVACY_RETAIN_LOGIN_SESSIONS", now)
    if before is None:
        return 0
    where = sa.or_(LoginSession.expires_at < before, LoginSession.revoked_at < before)
    return _count_or_run(
        sa.delete(LoginSession).where(where), sa.select(LoginSession.id).where(where), dry_run
    )


def delete_delivered_mail(now: datetime, dry_run: bool) -> int:
    """Delete outbox messages delivered longer ago than the setting.

    Breach notices keep their delivery time: it is copied onto them first.
    """
    before = cutoff("PRIVACY_RETAIN_DELIVERED_MAIL", now)
    if before is None:
        return 0
    where = OutboxMessage.sent_at < before
    if not dry_run:
        from .breaches import detach_messages, record_deliveries

        record_deliveries()
        detach_messages(sa.select(OutboxMessage.id).where(where))
    return _count_or_run(
        sa.delete(OutboxMessage).where(where), sa.select(OutboxMessage.id).where(where), dry_run
    )


def delete_old_contact_messages(now: datetime, dry_run: bool) -> int:
    """Delete contact messages older than the setting (off by default: the policy keeps them)."""
    before = cutoff("PRIVACY_RETAIN_CONTACT_MESSAGES", now)
    if before is None:
        return 0
    where = ContactMessage.created_at < before
    return _count_or_run(
        sa.delete(ContactMessage).where(where), sa.select(ContactMessage.id).where(where), dry_run
    )


#: The extension's own rules, with the policy's defaults.
CORE_RULES = (
    RetentionRule(
        "comment-meta",
        "IP addresses and user agents of comments blanked after PRIVACY_RETAIN_COMMENT_META",
        anonymise_comment_meta,
        "PRIVACY_RETAIN_COMMENT_META",
    ),
    RetentionRule(
        "login-sessions",
        "Ended login sessions deleted {PRIVACY_RETAIN_LOGIN_SESSIONS.days} days after they "
        "expired or were revoked",
        delete_ended_login_sessions,
        "PRIVACY_RETAIN_LOGIN_SESSIONS",
    ),
    RetentionRule(
        "delivered-mail",
        "Delivered outbox mail deleted {PRIVACY_RETAIN_DELIVERED_MAIL.days} days after delivery",
        delete_delivered_mail,
        "PRIVACY_RETAIN_DELIVERED_MAIL",
    ),
    RetentionRule(
        "contact-messages",
        "Contact messages deleted {PRIVACY_RETAIN_CONTACT_MESSAGES.days} days after they came",
        delete_old_contact_messages,
        "PRIVACY_RETAIN_CONTACT_MESSAGES",
    ),
)


def financial_records_rule(name: str, column: t.Any, description: str = "") -> RetentionRule:
    """A rule deleting rows of ``column``'s table older than ``PRIVACY_RETAIN_FINANCIAL_RECORDS``.

    :param column: the mapped timestamp column the age is measured by, such as
        ``Order.created_at`` (aware or naive UTC, as the host stores it).
    """
    table = column.table

    def apply(now: datetime, dry_run: bool) -> int:
        before = cutoff("PRIVACY_RETAIN_FINANCIAL_RECORDS", now)
        if before is None:
            return 0
        if not _column_is_aware(column):
            before = before.replace(tzinfo=None)
        return _count_or_run(
            sa.delete(table).where(column < before),
            sa.select(column).where(column < before),
            dry_run,
        )

    return RetentionRule(
        name,
        description
        or f"{name.capitalize()} (financial records) deleted after "
        "{PRIVACY_RETAIN_FINANCIAL_RECORDS.days} days",
        apply,
        "PRIVACY_RETAIN_FINANCIAL_RECORDS",
    )


def _column_is_aware(column: t.Any) -> bool:
    from .models import UTCDateTime

    return isinstance(column.type, UTCDateTime) or bool(getattr(column.type, "timezone", False))


def rules(app: Flask | None = None) -> list[RetentionRule]:
    """Every rule the app runs: the core ones, the packages', then the host's."""
    app = app or current_app
    host_rules = state_for(app).privacy.host_retention_rules
    found: dict[str, RetentionRule] = {}
    for rule in (*CORE_RULES, *_BUILTIN.values(), *host_rules):
        found[rule.name] = rule
    return list(found.values())


def purge(now: datetime | None = None, *, dry_run: bool = False) -> list[RuleResult]:
    """Run every enabled rule, each in its own transaction; a dry run changes nothing."""
    from .clock import utcnow

    now = now or utcnow()
    session = current_db().session
    results = []
    for rule in rules():
        if not rule.enabled():
            results.append(RuleResult(rule, None))
            continue
        try:
            count = rule.apply(now, dry_run)
        except Exception:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()
        results.append(RuleResult(rule, count))
    return results
