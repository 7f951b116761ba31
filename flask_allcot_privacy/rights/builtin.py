"""The extension's own exporters and erasers: everything it stores about a person.

Each exporter streams its rows (``yield_per``), each eraser is a handful of
set-based statements. Erasure anonymises what others rely on (comments stay,
shown as "Anonymous"), deletes what only the person needs (contact messages,
login sessions, mail sent to them) and keeps, without the person's identity,
what the law requires (proof of consent).
"""

from __future__ import annotations

import json
import typing as t
from collections.abc import Iterator, Mapping
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, lazy_gettext, ngettext
from flask_sqlalchemy.session import Session
from sqlalchemy.orm import QueryableAttribute, scoped_session

from ..clock import utcnow
from ..models import (
    OPEN_REQUEST_STATES,
    AuditEvent,
    Comment,
    ConsentRecord,
    ContactMessage,
    LoginSession,
    OutboxMessage,
    PrivacyRequest,
    User,
    UTCDateTime,
)
from ..state import current_db
from .anonymise import anonymised_ip, prepare
from .registry import Erased, Registry
from .subject import Subject

#: The built-in exporters and erasers, registered for every app.
registry = Registry()

#: The account eraser's name; it runs after every other eraser.
ACCOUNT = "account"
#: Rows fetched per round trip while exporting.
STREAM_BATCH = 1000


def _title(text: str) -> str:
    return t.cast(str, lazy_gettext(text))


def _stream(query: sa.Executable) -> Iterator[Mapping[str, t.Any]]:
    """The query's rows as mappings, fetched in batches, never all in memory."""
    result = current_db().session.execute(query.execution_options(yield_per=STREAM_BATCH))
    yield from t.cast(Iterator[Mapping[str, t.Any]], iter(result.mappings()))


def _by_member_or_email(
    user_column: QueryableAttribute[int | None],
    email_column: QueryableAttribute[str],
    subject: Subject,
) -> sa.ColumnElement[bool]:
    """Rows written by the member, or from the subject's address (any case)."""
    by_email = sa.func.lower(email_column) == subject.email
    if subject.user_id is None:
        return by_email
    return sa.or_(user_column == subject.user_id, by_email)


def _session() -> scoped_session[Session]:
    return current_db().session


def _rows(result: sa.Result[t.Any]) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return t.cast(sa.CursorResult[t.Any], result).rowcount


def _delete(model: type[t.Any], where: sa.ColumnElement[bool]) -> Erased:
    """Delete the rows of ``model`` that match, in one statement; how many went."""
    deleted = _session().execute(
        sa.delete(model).where(where).execution_options(synchronize_session=False)
    )
    return Erased(removed=_rows(deleted))


# --- account and profile ------------------------------------------------------------


@registry.exporter(ACCOUNT, _title("Account and profile"))
def export_account(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """The member's account: username, email, names, website, bio and settings."""
    if subject.user_id is None:
        return
    yield from _stream(
        sa.select(
            User.username,
            User.email,
            User.first_name,
            User.last_name,
            User.website,
            User.bio,
            User.display_name_choice,
            User.public_profile,
            User.allow_indexing,
            User.role,
            User.created_at,
            User.password_set_at,
        ).where(User.id == subject.user_id)
    )


@registry.eraser(ACCOUNT)
def erase_account(subject: Subject) -> Erased:
    """Blank the profile, replace the unique keys by placeholders, remove the password."""
    if subject.user_id is None:
        return Erased()
    placeholder = f"erased-{subject.user_id}"
    changed = _session().execute(
        sa.update(User)
        .where(User.id == subject.user_id)
        .values(
            username=placeholder,
            username_key=placeholder,
            email="",
            # Unique and never deliverable: ".invalid" is reserved (RFC 2606).
            email_key=f"{placeholder}@erased.invalid",
            password_hash=None,
            credential_version=User.credential_version + 1,
            first_name="",
            last_name="",
            website="",
            bio="",
            display_name_choice="username",
            public_profile=False,
            allow_indexing=False,
            role=None,
            erased_at=sa.func.coalesce(User.erased_at, sa.literal(utcnow(), UTCDateTime())),
        )
        .execution_options(synchronize_session=False)
    )
    return Erased(removed=_rows(changed))


# --- marketing subscription ------------------------------------------------------------


@registry.exporter("marketing", _title("Marketing email"))
def export_marketing(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """The member's marketing choice, then the address's subscription and its opens/clicks."""
    from ..marketing.subscriptions import subscription_export_items

    if subject.user_id is not None:
        yield from _stream(
            sa.select(User.marketing_opt_in, User.marketing_opt_in_at).where(
                User.id == subject.user_id
            )
        )
    yield from subscription_export_items(subject.email)


@registry.eraser("marketing")
def erase_marketing(subject: Subject) -> Erased:
    """Withdraw the marketing subscription: the member's choice, the address's row, tracking."""
    from ..marketing.subscriptions import erase_subscription

    removed = 0
    if subject.user_id is not None:
        changed = _session().execute(
            sa.update(User)
            .where(User.id == subject.user_id, User.marketing_opt_in.is_(True))
            .values(marketing_opt_in=False, marketing_opt_in_at=None)
            .execution_options(synchronize_session=False)
        )
        removed += _rows(changed)
    return Erased(removed=removed + erase_subscription(subject.email))


# --- login sessions ----------------------------------------------------------------


@registry.exporter("login_sessions", _title("Login sessions"))
def export_login_sessions(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """Each login: when, from which IP address and browser, and until when."""
    if subject.user_id is None:
        return
    yield from _stream(
        sa.select(
            LoginSession.created_at,
            LoginSession.last_seen_at,
            LoginSession.expires_at,
            LoginSession.revoked_at,
            LoginSession.remember,
            LoginSession.ip_address,
            LoginSession.user_agent,
        )
        .where(LoginSession.user_id == subject.user_id)
        .order_by(LoginSession.id)
    )


@registry.eraser("login_sessions")
def erase_login_sessions(subject: Subject) -> Erased:
    """Delete every login session: the member is logged out everywhere at once."""
    if subject.user_id is None:
        return Erased()
    return _delete(LoginSession, LoginSession.user_id == subject.user_id)


# --- comments ------------------------------------------------------------------------


@registry.exporter("comments", _title("Comments"))
def export_comments(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """Every comment by the member or from the address, with its IP address and browser."""
    yield from _stream(
        sa.select(
            Comment.id,
            Comment.target,
            Comment.created_at,
            Comment.status,
            Comment.author_name,
            Comment.author_email,
            Comment.author_url,
            Comment.body,
            Comment.ip_address,
            Comment.user_agent,
        )
        .where(_by_member_or_email(Comment.user_id, Comment.author_email, subject))
        .order_by(Comment.id)
    )


@registry.eraser("comments")
def erase_comments(subject: Subject) -> Erased:
    """Keep the comments, shown as "Anonymous": name, email, URL, browser gone, IP anonymised.

    Batched by key range, never by page: a batch is the next ``PRIVACY_ERASURE_BATCH_SIZE``
    ids above the last one done, so rows that stop matching once anonymised (a visitor's,
    found by email) cannot push unvisited rows out of the next batch.
    """
    session = _session()
    prepare(session)
    matches = _by_member_or_email(Comment.user_id, Comment.author_email, subject)
    batch = current_app.config["PRIVACY_ERASURE_BATCH_SIZE"]
    done, after = 0, 0
    while True:
        ids = sa.select(Comment.id).where(matches, Comment.id > after).order_by(Comment.id)
        upto = session.scalar(ids.offset(batch - 1).limit(1))
        if upto is None:
            upto = session.scalar(
                sa.select(sa.func.max(Comment.id)).where(matches, Comment.id > after)
            )
            if upto is None:
                break
        changed = session.execute(
            sa.update(Comment)
            .where(matches, Comment.id > after, Comment.id <= upto)
            .values(
                author_name="",
                author_email="",
                author_url="",
                user_agent="",
                ip_address=anonymised_ip(Comment.ip_address),
            )
            .execution_options(synchronize_session=False)
        )
        done += _rows(changed)
        after = upto
    return Erased(removed=done)


# --- contact messages ----------------------------------------------------------------


@registry.exporter("contact_messages", _title("Contact messages"))
def export_contact_messages(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """Every message sent through the contact form, with its IP address and browser."""
    yield from _stream(
        sa.select(
            ContactMessage.created_at,
            ContactMessage.name,
            ContactMessage.email,
            ContactMessage.message,
            ContactMessage.ip_address,
            ContactMessage.user_agent,
        )
        .where(_by_member_or_email(ContactMessage.user_id, ContactMessage.email, subject))
        .order_by(ContactMessage.id)
    )


@registry.eraser("contact_messages")
def erase_contact_messages(subject: Subject) -> Erased:
    """Delete the messages: nobody else relies on them."""
    return _delete(
        ContactMessage, _by_member_or_email(ContactMessage.user_id, ContactMessage.email, subject)
    )


# --- consent records -----------------------------------------------------------------


@registry.exporter("consent", _title("Consent records"))
def export_consent(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """The consent decisions made while logged in as the member."""
    if subject.user_id is None:
        return
    yield from _stream(
        sa.select(
            ConsentRecord.created_at,
            ConsentRecord.consent_id,
            ConsentRecord.granted,
            ConsentRecord.refused,
            ConsentRecord.source,
            ConsentRecord.policy_version,
            ConsentRecord.ip_address,
            ConsentRecord.user_agent,
        )
        .where(ConsentRecord.user_id == subject.user_id)
        .order_by(ConsentRecord.id)
    )


@registry.eraser("consent")
def erase_consent(subject: Subject) -> Erased:
    """Keep the records as proof of consent, but no longer linked to the person."""
    if subject.user_id is None:
        return Erased()
    kept = _rows(
        _session().execute(
            sa.update(ConsentRecord)
            .where(ConsentRecord.user_id == subject.user_id)
            .values(user_id=None, ip_address="", user_agent="")
            .execution_options(synchronize_session=False)
        )
    )
    if not kept:
        return Erased()
    what = ngettext("%(num)d consent record", "%(num)d consent records", kept)
    return Erased(retained=[(what, gettext("proof of consent is a legal obligation"))])


# --- emails sent to the address ------------------------------------------------------


def _sent_to(subject: Subject) -> sa.ColumnElement[bool]:
    """Outbox rows whose recipients (a JSON list) hold the address.

    The list's text is searched for the address as JSON writes it, in quotes (or in
    angle brackets, for ``Name <address>``), so ``ann@x.test`` never matches
    ``joann@x.test``.
    """
    text = sa.func.lower(sa.cast(OutboxMessage.recipients, sa.Text))
    quoted = json.dumps(subject.email)
    return sa.or_(
        text.contains(quoted, autoescape=True),
        text.contains(f"<{quoted[1:-1]}>", autoescape=True),
    )


@registry.exporter("outbox", _title("Emails we sent you"))
def export_outbox(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """Every email the site sent (or is about to send) to the address."""
    yield from _stream(
        sa.select(
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
            OutboxMessage.category,
            OutboxMessage.recipients,
            OutboxMessage.subject,
            OutboxMessage.body_text,
        )
        .where(_sent_to(subject))
        .order_by(OutboxMessage.id)
    )


@registry.eraser("outbox")
def erase_outbox(subject: Subject) -> Erased:
    """Delete the copies of the emails sent to the address."""
    return _delete(OutboxMessage, _sent_to(subject))


# --- privacy requests ------------------------------------------------------------------


@registry.exporter("privacy_requests", _title("Privacy requests"))
def export_privacy_requests(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """The requests made for the address, and how each was answered."""
    yield from _stream(
        sa.select(
            PrivacyRequest.created_at,
            PrivacyRequest.request_type,
            PrivacyRequest.state,
            PrivacyRequest.email,
            PrivacyRequest.details,
            PrivacyRequest.confirmed_at,
            PrivacyRequest.deadline,
            PrivacyRequest.completed_at,
            PrivacyRequest.rejection_reason,
            PrivacyRequest.correction_note,
        )
        .where(_by_member_or_email(PrivacyRequest.user_id, PrivacyRequest.email_key, subject))
        .order_by(PrivacyRequest.id)
    )


@registry.eraser("privacy_requests")
def erase_privacy_requests(subject: Subject) -> Erased:
    """Answered requests lose the address, details and export; open ones are still answered.

    The request being carried out is left to the request flow, which closes it and
    tells the requester; it is reported as retained.
    """
    from .export_jobs import export_dir

    session = _session()
    mine = _by_member_or_email(PrivacyRequest.user_id, PrivacyRequest.email_key, subject)
    others = sa.and_(mine, PrivacyRequest.id != (subject.request_id or 0))
    closed = sa.and_(others, PrivacyRequest.state.not_in(OPEN_REQUEST_STATES))
    # A handful of files at most: exports of this person's earlier requests.
    files = session.scalars(
        sa.select(PrivacyRequest.export_file).where(others, PrivacyRequest.export_file.is_not(None))
    ).all()
    for name in files:
        (export_dir() / Path(str(name)).name).unlink(missing_ok=True)
    session.execute(
        sa.update(PrivacyRequest)
        .where(others)
        .values(export_file=None, export_token_hash=None, export_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    changed = _rows(
        session.execute(
            sa.update(PrivacyRequest)
            .where(closed)
            .values(
                email="",
                email_key=sa.literal("erased-request-") + sa.cast(PrivacyRequest.id, sa.String),
                user_id=None,
                details="",
                correction_note="",
            )
            .execution_options(synchronize_session=False)
        )
    )
    retained: list[tuple[str, str]] = []
    still_open = session.scalar(
        sa.select(sa.func.count()).where(others, PrivacyRequest.state.in_(OPEN_REQUEST_STATES))
    )
    if still_open:
        retained.append(
            (
                ngettext(
                    "%(num)d open privacy request", "%(num)d open privacy requests", still_open
                ),
                gettext("it will still be answered"),
            )
        )
    if subject.request_id is not None:
        retained.append(
            (gettext("this erasure request"), gettext("the record that we answered it in time"))
        )
    return Erased(removed=changed, retained=retained)


# --- audit trail ---------------------------------------------------------------------


@registry.exporter("audit_trail", _title("Staff access and actions"))
def export_audit_trail(subject: Subject) -> Iterator[Mapping[str, t.Any]]:
    """When staff saw or changed the member's data, and the member's own staff actions.

    The IP address is shown only for the member's own actions: a staff member's
    address is that staff member's personal data.
    """
    if subject.user_id is None:
        return
    own = AuditEvent.actor_id == subject.user_id
    yield from _stream(
        sa.select(
            AuditEvent.created_at,
            AuditEvent.action,
            sa.case((own, sa.literal(gettext("you"))), else_=sa.literal(gettext("staff"))).label(
                "by"
            ),
            sa.case((own, AuditEvent.ip_address), else_=sa.literal("")).label("ip_address"),
        )
        .where(sa.or_(own, AuditEvent.subject_id == subject.user_id))
        .order_by(AuditEvent.id)
    )


@registry.eraser("audit_trail")
def erase_audit_trail(subject: Subject) -> Erased:
    """Keep the audit trail: who did what and when is a security record."""
    if subject.user_id is None:
        return Erased()
    kept = _session().scalar(
        sa.select(sa.func.count()).where(
            sa.or_(AuditEvent.actor_id == subject.user_id, AuditEvent.subject_id == subject.user_id)
        )
    )
    if not kept:
        return Erased()
    what = ngettext("%(num)d audit trail entry", "%(num)d audit trail entries", kept)
    return Erased(
        retained=[(what, gettext("kept for security: who saw or changed data, and when"))]
    )
