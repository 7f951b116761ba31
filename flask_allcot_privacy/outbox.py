"""The transactional mail outbox.

:func:`queue` renders an email and adds it to ``db.session`` as an
:class:`~.models.OutboxMessage`, so the message is committed, or rolled back,
together with the change that caused it. After the request, messages queued
by it are delivered with Flask-Mail off the request (see ``PRIVACY_MAIL_DELIVERY``
and :mod:`.background`); a failed delivery stays in the outbox with its attempt
count and the time of its next try (exponential backoff), and ``flask privacy
send-mail`` delivers whatever is due. A worker claims a message before sending it,
so several processes never send the same message twice.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, Response, current_app, g
from flask_mail import Message
from sqlalchemy.orm import Session

from . import background, logsafe, smtp
from .clock import utcnow
from .models import OutboxMessage

__all__ = ["DeliveryReport", "deliver_due", "queue", "queue_copies", "queue_each", "render"]

if t.TYPE_CHECKING:
    from .state import PrivacyState

log = logsafe.logger(__name__)

CATEGORIES = ("system", "marketing")
#: The longest wait between two attempts, however many have failed.
MAX_RETRY_WAIT = timedelta(hours=6)


@dataclass
class DeliveryReport:
    """What one delivery run did, by outbox message id."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _state() -> PrivacyState:
    return t.cast("PrivacyState", current_app.extensions["allcot_privacy"])


def render(template: str, **context: t.Any) -> tuple[str, str, str | None]:
    """Render ``privacy/email/<template>.txt`` (and ``.html`` if present).

    The text template sets the subject with ``{% set subject = ... %}``. Hosts
    override either file by placing one at the same path in their templates.
    """
    env = current_app.jinja_env
    current_app.update_template_context(context)
    text_module = env.get_template(f"privacy/email/{template}.txt").make_module(context)
    subject = str(getattr(text_module, "subject", "")).strip()
    if not subject:
        raise LookupError(
            f"privacy/email/{template}.txt must set a subject: {{% set subject = ... %}}"
        )
    try:
        html_template = env.get_template(f"privacy/email/{template}.html")
    except LookupError:
        html = None
    else:
        html = html_template.render(context)
    return subject, str(text_module).strip() + "\n", html


def queue(
    template: str,
    to: str | t.Sequence[str],
    *,
    category: str = "system",
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    **context: t.Any,
) -> OutboxMessage:
    """Render an email and add it to the outbox in the current transaction.

    The caller commits. Nothing is sent if the transaction rolls back. A ``marketing``
    message for anyone who is not a current subscriber raises
    :class:`~.marketing.subscriptions.NotSubscribed`.
    """
    message = compose(
        template, to, category=category, reply_to=reply_to, headers=headers, **context
    )
    session = _state().db.session
    session.add(message)
    session.flush()
    g.setdefault("_privacy_queued_mail", []).append(message.id)
    return message


def compose(
    template: str,
    to: str | t.Sequence[str],
    *,
    category: str = "system",
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    **context: t.Any,
) -> OutboxMessage:
    """Render an email into an outbox row without adding it to the session."""
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, not {category!r}.")
    recipients = [to] if isinstance(to, str) else list(to)
    if category == "marketing":
        # P20: marketing mail only to those who opted in; raises NotSubscribed otherwise.
        from .marketing.subscriptions import require_subscribed

        require_subscribed(recipients)
    subject, text, html = render(template, **context)
    all_headers = dict(headers or {})
    if reply_to:
        all_headers["Reply-To"] = reply_to
    if category == "system":
        all_headers.setdefault("Auto-Submitted", "auto-generated")
    message = OutboxMessage(
        category=category,
        template=template,
        sender=current_app.config["PRIVACY_MAIL_SENDER"],
        recipients=recipients,
        subject=subject,
        body_text=text,
        body_html=html,
        headers=all_headers,
        next_attempt_at=utcnow(),
    )
    return message


class _Message(Message):
    """Flask-Mail's message, with headers folded at RFC 5322's 998 characters, not 78.

    At 78 the email package encodes a long unbreakable header as RFC 2047 words, which
    would garble ``List-Unsubscribe: <https://...>``: RFC 2369 allows no folding inside
    the brackets, and mail providers read the URL as it is.
    """

    def _message(self) -> t.Any:
        built = super()._message()
        built.policy = built.policy.clone(max_line_length=998)
        return built


def _to_flask_mail(message: OutboxMessage) -> Message:
    headers = dict(message.headers or {})
    reply_to = headers.pop("Reply-To", None)
    return _Message(
        subject=message.subject,
        recipients=list(message.recipients),
        body=message.body_text,
        html=message.body_html,
        sender=message.sender or current_app.config.get("MAIL_DEFAULT_SENDER"),
        reply_to=reply_to,
        extra_headers=headers or None,
    )


def _retry_wait(attempts: int) -> timedelta:
    base: timedelta = current_app.config["PRIVACY_MAIL_RETRY_AFTER"]
    return t.cast(timedelta, min(base * (2 ** (attempts - 1)), MAX_RETRY_WAIT))


def deliver_due(ids: t.Iterable[int] | None = None, limit: int = 100) -> DeliveryReport:
    """Send the outbox messages that are due (only ``ids`` if given), at most ``limit``.

    Runs in its own database session, so it never commits the caller's work. Safe to
    run in many processes at once (web threads, Celery workers, cron): see
    :func:`claim_next`.
    """
    state = _state()
    report = DeliveryReport()
    wanted = None if ids is None else list(ids)
    with Session(state.db.engine, expire_on_commit=False) as session:
        for _ in range(limit):
            claimed = claim_next(session, wanted)
            if claimed is None:
                break
            message, email = claimed
            _attempt(session, message, email, report)
    return report


# --- Delivery and scale: claiming and sending one message -------------------------


def claim_next(
    session: Session, ids: list[int] | None = None
) -> tuple[OutboxMessage, Message] | None:
    """Claim the next due message for this worker and build its email, or None.

    The claim is committed before anything is sent: the row holds
    ``claimed_until`` and one more attempt, so another worker skips it, and a worker
    killed mid-send leaves it to be retried once the claim lapses
    (``PRIVACY_MAIL_CLAIM_FOR``). On PostgreSQL (and MySQL) ``FOR UPDATE SKIP LOCKED``
    lets concurrent workers take different rows without waiting for each other;
    elsewhere the conditional UPDATE alone decides which worker wins a row.
    """
    config = current_app.config
    while True:
        now = utcnow()
        claimable = sa.and_(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.attempts < config["PRIVACY_MAIL_MAX_ATTEMPTS"],
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        query = (
            sa.select(OutboxMessage)
            .where(claimable)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        message = session.scalars(query).first()
        if message is None:
            session.rollback()
            return None
        result = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message.id, claimable)
            .values(
                claimed_until=now + config["PRIVACY_MAIL_CLAIM_FOR"],
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session="fetch")
        )
        if t.cast(sa.CursorResult[t.Any], result).rowcount != 1:
            session.rollback()  # another worker claimed it between our read and our write
            continue
        email = _to_flask_mail(message)
        session.commit()
        return message, email


def _attempt(
    session: Session, message: OutboxMessage, email: Message, report: DeliveryReport
) -> None:
    """Send one claimed message (no transaction open meanwhile) and record the outcome."""
    try:
        smtp.send(email)
    except Exception as error:  # noqa: BLE001 - any failure leaves it for a retry
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        message.next_attempt_at = utcnow() + _retry_wait(message.attempts)
        message.claimed_until = None
        report.failed.append(message.id)
        log.warning(
            "Outbox message %s (%s) not delivered, attempt %s: %s",
            message.id,
            message.template,
            message.attempts,
            type(error).__name__,
        )
    else:
        message.sent_at = utcnow()
        message.last_error = None
        report.sent.append(message.id)
    session.add(message)
    session.commit()


@background.job("privacy.deliver_outbox")
def deliver_outbox(ids: list[int] | None = None) -> dict[str, list[int]]:
    """The background job: deliver ``ids`` (a request's mail), or everything due."""
    report = deliver_due(ids=ids, limit=len(ids) if ids is not None else 500)
    return {"sent": report.sent, "failed": report.failed}


def deliver_after_request(response: Response) -> Response:
    """Hand the messages this request queued to the background once it is answered.

    ``PRIVACY_MAIL_DELIVERY`` says where: ``after_response`` on this process's
    background thread, ``celery`` on a Celery worker, ``cli`` nowhere (cron runs
    ``flask privacy send-mail``). The visitor never waits for SMTP, and how long a
    page takes says nothing about whether it sent mail (which would tell whether an
    account exists). No mail is handed over after a 5xx answer.
    """
    queued = g.pop("_privacy_queued_mail", None)
    if queued and current_app.config["PRIVACY_MAIL_DELIVERY"] != "cli":
        background.after_response("privacy.deliver_outbox", queued)
    return response


def deliver_queued() -> None:
    """Hand over the mail queued in this app context, for work done outside a request.

    A background job that queues mail calls it after its commit (no ``after_request``
    runs there). Under ``after_response`` it goes to the background thread's queue.
    """
    queued = g.pop("_privacy_queued_mail", None)
    if queued and current_app.config["PRIVACY_MAIL_DELIVERY"] != "cli":
        background.submit("privacy.deliver_outbox", queued)


def init_app(app: Flask) -> None:
    """Deliver queued mail, and start the jobs a request asked for, after each request."""
    # Flask runs these backwards: the mail's job is asked for, then every job handed over.
    app.after_request(background.hand_over_after_response)
    app.after_request(deliver_after_request)


def queue_each(
    template: str,
    recipients: t.Sequence[str],
    contexts: t.Sequence[dict[str, t.Any]] | None = None,
    *,
    return_ids: bool = False,
    **shared: t.Any,
) -> list[int]:
    """Add one ``system`` message per recipient in one set-based ``INSERT``; the caller commits.

    For mass notices (policy changes, breaches), sent in batches: with ``contexts``
    (one per recipient) each message is rendered for its recipient; without, the
    message is rendered once and each recipient gets their own copy. Returns the new
    messages' ids in the order of ``recipients`` if ``return_ids`` (slower: a statement
    per row on SQLite), else an empty list. They are delivered by
    ``flask privacy send-mail``, not after the request.
    """
    if not recipients:
        return []
    if contexts is not None and len(contexts) != len(recipients):
        raise ValueError("queue_each() needs one context per recipient.")
    sender = current_app.config["PRIVACY_MAIL_SENDER"]
    now = utcnow()
    once = render(template, **shared) if contexts is None else None
    rows = []
    for index, recipient in enumerate(recipients):
        subject, text, html = once or render(template, **shared, **contexts[index])  # type: ignore[index]
        rows.append(
            {
                "category": "system",
                "template": template,
                "sender": sender,
                "recipients": [recipient],
                "subject": subject,
                "body_text": text,
                "body_html": html,
                "headers": {"Auto-Submitted": "auto-generated"},
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
    session = _state().db.session
    if not return_ids:
        session.execute(sa.insert(OutboxMessage), rows)
        return []
    result = session.execute(
        sa.insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True), rows
    )
    return [row.id for row in result]


def queue_copies(template: str, addresses: sa.Select[t.Any], **context: t.Any) -> int:
    """Render once and add one ``system`` message per address ``addresses`` selects.

    One ``INSERT ... SELECT`` on SQLite and PostgreSQL (the recipients list is built by
    the database), so queueing for a hundred thousand members costs one statement per
    batch. The caller commits. Returns how many messages were added.
    """
    db = _state().db
    dialect = db.engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        found = list(db.session.scalars(addresses))
        queue_each(template, found, **context)
        return len(found)
    subject, text, html = render(template, **context)
    now = utcnow()
    inner = addresses.subquery()
    address = next(iter(inner.c))
    as_list = sa.func.json_array if dialect == "sqlite" else sa.func.json_build_array
    columns = {
        "category": sa.literal("system"),
        "template": sa.literal(template),
        "sender": sa.literal(current_app.config["PRIVACY_MAIL_SENDER"], sa.String),
        "recipients": sa.type_coerce(as_list(address), sa.JSON),
        "subject": sa.literal(subject),
        "body_text": sa.literal(text),
        "body_html": sa.literal(html, sa.Text),
        "headers": sa.literal({"Auto-Submitted": "auto-generated"}, sa.JSON),
        "created_at": sa.literal(now, OutboxMessage.__table__.c.created_at.type),
        "attempts": sa.literal(0),
        "next_attempt_at": sa.literal(now, OutboxMessage.__table__.c.next_attempt_at.type),
    }
    insert = sa.insert(OutboxMessage).from_select(list(columns), sa.select(*columns.values()))
    if dialect == "postgresql":
        # psycopg reports no row count for INSERT ... SELECT here: count what it returns.
        return len(db.session.execute(insert.returning(OutboxMessage.id)).all())
    result = db.session.execute(insert)
    return int(t.cast(sa.CursorResult[t.Any], result).rowcount or 0)
