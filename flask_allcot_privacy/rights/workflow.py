"""Every state change of a privacy request, in one place, for the views and the CLI.

A request is ``pending`` until its address confirms it, ``confirmed`` until it is
answered (``completed``) or refused (``rejected``); unconfirmed requests become
``expired`` by :func:`expire_unconfirmed_requests`. Each move out of a state is a
conditional ``UPDATE ... WHERE state = ...``: when two clicks or two workers race,
exactly one moves the request and only that one sends the email.

Transactions: the functions here add to ``db.session`` and leave the commit to the
caller, except :func:`erase_request` (erasers commit their own work) and the sweeps at
the end, which run in their own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import typing as t
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit, outbox, tokens
from ..clock import utcnow
from ..models import OPEN_REQUEST_STATES, REQUEST_TYPES, PrivacyRequest, User
from ..state import current_db
from . import deadlines
from .subject import normalise_email

#: How each request type is named to people.
TYPE_LABELS: dict[str, t.Any] = {
    "export": _l("See and download my data"),
    "erase": _l("Erase my account and data"),
    "correct": _l("Correct my data"),
    "correspondence": _l("Copies of my correspondence"),
}
#: How each state is named on staff screens.
STATE_LABELS: dict[str, t.Any] = {
    "pending": _l("Awaiting confirmation"),
    "confirmed": _l("Confirmed, to answer"),
    "completed": _l("Completed"),
    "rejected": _l("Rejected"),
    "expired": _l("Expired unconfirmed"),
}
#: The request types answered with an export file.
EXPORT_TYPES = ("export", "correspondence")

assert set(TYPE_LABELS) == set(REQUEST_TYPES)


class RequestStateError(Exception):
    """The request is not in a state that allows this step; the message says why."""


@dataclass(frozen=True)
class Actor:
    """Who takes a step: a staff member (``user_id``), the command line, or nobody (auto)."""

    user_id: int | None = None
    via_cli: bool = False

    @classmethod
    def cli(cls) -> Actor:
        return cls(via_cli=True)


def email_hash(email: str) -> str:
    """A keyed hash of an address (HMAC-SHA256 with SECRET_KEY) for the audit trail.

    It lets an officer check "was this address's request handled?" without the trail
    holding the address, so erasing the person never needs to touch the trail.
    """
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def record(action: str, privacy_request: PrivacyRequest, actor: Actor, detail: str = "") -> None:
    """Audit one step on a request: the request by id and email hash, never the address."""
    text = (
        f"request={privacy_request.id} type={privacy_request.request_type} "
        f"email_hmac={email_hash(privacy_request.email)}"
    )
    if detail:
        text = f"{text} {detail}"
    if actor.via_cli:
        audit.record_cli(action, subject_id=privacy_request.user_id, detail=text)
    else:
        audit.record_for(
            action, actor_id=actor.user_id, subject_id=privacy_request.user_id, detail=text
        )


# --- asking and confirming ---


def find_open(email: str, request_type: str) -> PrivacyRequest | None:
    """The open (pending or confirmed) request of this address and type, if any."""
    return current_db().session.scalar(
        sa.select(PrivacyRequest).where(
            PrivacyRequest.email_key == normalise_email(email),
            PrivacyRequest.request_type == request_type,
            PrivacyRequest.state.in_(OPEN_REQUEST_STATES),
        )
    )


def open_request(email: str, request_type: str, details: str = "") -> PrivacyRequest:
    """Record a request (or reuse the open one of the same address and type) and email it.

    A pending request gets a fresh confirmation link; an already confirmed one gets a
    reminder of its deadline. The caller commits.
    """
    if request_type not in REQUEST_TYPES:
        raise ValueError(f"request_type must be one of {REQUEST_TYPES}, not {request_type!r}.")
    db = current_db()
    existing = find_open(email, request_type)
    if existing is None:
        key = normalise_email(email)
        user_id = db.session.scalar(sa.select(User.id).where(User.email_key == key))
        candidate = PrivacyRequest(
            email=email,
            email_key=key,
            user_id=user_id,
            request_type=request_type,
            details=details,
        )
        try:
            with db.session.begin_nested():
                db.session.add(candidate)
        except sa.exc.IntegrityError:
            # The same address asked for the same thing a moment ago: use that request.
            existing = find_open(email, request_type)
            if existing is None:
                raise
        else:
            send_confirmation(candidate)
            record("request.create", candidate, Actor())
            return candidate
    if details and details not in existing.details:
        # Nothing the requester writes is lost when their request is reused.
        existing.details = f"{existing.details}\n\n{details}" if existing.details else details
    if existing.state == "pending":
        send_confirmation(existing)
    else:
        outbox.queue(
            "privacy_request_already_open",
            existing.email,
            privacy_request=existing,
            type_label=TYPE_LABELS[existing.request_type],
        )
    record("request.reuse", existing, Actor())
    return existing


def confirm_link(privacy_request: PrivacyRequest) -> str:
    token = tokens.make(tokens.PRIVACY_REQUEST_CONFIRM, {"rid": privacy_request.id})
    return url_for("privacy_requests.confirm", token=token, _external=True)


def send_confirmation(privacy_request: PrivacyRequest) -> None:
    """Queue the email whose link confirms the request; its window starts now."""
    privacy_request.confirm_sent_at = utcnow()
    within = current_app.config["PRIVACY_REQUEST_CONFIRM_WITHIN"]
    outbox.queue(
        "privacy_request_confirm",
        privacy_request.email,
        privacy_request=privacy_request,
        type_label=TYPE_LABELS[privacy_request.request_type],
        link=confirm_link(privacy_request),
        valid_hours=max(1, int(within.total_seconds() // 3600)),
    )


def request_for_confirm_token(token: str) -> PrivacyRequest:
    """The request a confirmation link names; :class:`tokens.TokenError` if none."""
    payload = tokens.read(tokens.PRIVACY_REQUEST_CONFIRM, token)
    request_id = payload.get("rid")
    if not isinstance(request_id, int):
        raise tokens.TokenInvalid()
    found = current_db().session.get(PrivacyRequest, request_id)
    if found is None:
        raise tokens.TokenInvalid()
    return found


def confirm(privacy_request: PrivacyRequest, now: datetime | None = None) -> bool:
    """Confirm a pending request: set its deadline, acknowledge it, tell the officers.

    False when it was no longer pending (confirmed by another click a moment ago, or
    expired). The caller commits. With PRIVACY_REQUEST_AUTO_EXPORT an export or
    correspondence request is marked for building; the caller starts :func:`build_export`.
    """
    now = now or utcnow()
    deadline = deadlines.deadline_for(now)
    db = current_db()
    result = db.session.execute(
        sa.update(PrivacyRequest)
        .where(PrivacyRequest.id == privacy_request.id, PrivacyRequest.state == "pending")
        .values(state="confirmed", confirmed_at=now, deadline=deadline)
        .execution_options(synchronize_session=False)
    )
    if t.cast(sa.CursorResult[t.Any], result).rowcount != 1:
        return False
    db.session.refresh(privacy_request)
    type_label = TYPE_LABELS[privacy_request.request_type]
    outbox.queue(
        "privacy_request_received",
        privacy_request.email,
        privacy_request=privacy_request,
        type_label=type_label,
    )
    officers = officer_addresses()
    if officers:
        outbox.queue(
            "privacy_request_new_officer",
            officers,
            privacy_request=privacy_request,
            type_label=type_label,
            link=url_for(
                "privacy_staff.request_detail", request_id=privacy_request.id, _external=True
            ),
        )
    record("request.confirm", privacy_request, Actor(), f"deadline={deadline.isoformat()}")
    if (
        current_app.config["PRIVACY_REQUEST_AUTO_EXPORT"]
        and privacy_request.request_type in EXPORT_TYPES
    ):
        privacy_request.export_requested_at = now
    return True


def officer_addresses() -> list[str]:
    """The addresses of everyone who works the queue (privacy officers and admins)."""
    query = sa.select(User.email).where(
        User.role.in_(("privacy_officer", "admin")), User.erased_at.is_(None)
    )
    return list(current_db().session.scalars(query.order_by(User.id)))


# --- answering ---


def _close(privacy_request: PrivacyRequest, state: str, actor: Actor, **values: t.Any) -> bool:
    """Move a confirmed request to ``state`` once; False if someone else already closed it."""
    db = current_db()
    result = db.session.execute(
        sa.update(PrivacyRequest)
        .where(PrivacyRequest.id == privacy_request.id, PrivacyRequest.state == "confirmed")
        .values(state=state, completed_at=utcnow(), handled_by_id=actor.user_id, **values)
        .execution_options(synchronize_session=False)
    )
    if t.cast(sa.CursorResult[t.Any], result).rowcount != 1:
        return False
    db.session.refresh(privacy_request)
    return True


def _require_confirmed(privacy_request: PrivacyRequest, *types: str) -> None:
    if privacy_request.state != "confirmed":
        raise RequestStateError(
            _(
                "Request %(id)s is %(state)s; only a confirmed request can be answered.",
                id=privacy_request.id,
                state=privacy_request.state,
            )
        )
    if types and privacy_request.request_type not in types:
        raise RequestStateError(
            _(
                "Request %(id)s asks for %(kind)s, not %(asked)s.",
                id=privacy_request.id,
                kind=privacy_request.request_type,
                asked=" / ".join(types),
            )
        )


def complete_correction(privacy_request: PrivacyRequest, note: str, actor: Actor) -> bool:
    """Record what was corrected, tell the requester, complete the request. Caller commits."""
    _require_confirmed(privacy_request, "correct")
    if not note.strip():
        raise RequestStateError(_("Say what was changed: the requester is told."))
    if not _close(privacy_request, "completed", actor, correction_note=note.strip()):
        return False
    outbox.queue(
        "privacy_request_corrected",
        privacy_request.email,
        privacy_request=privacy_request,
        type_label=TYPE_LABELS[privacy_request.request_type],
    )
    record("request.complete", privacy_request, actor, "corrected")
    return True


def reject(privacy_request: PrivacyRequest, reason: str, actor: Actor) -> bool:
    """Refuse the request with a reason the requester is told. Caller commits."""
    _require_confirmed(privacy_request)
    if not reason.strip():
        raise RequestStateError(_("Give the reason: the requester is told."))
    if not _close(privacy_request, "rejected", actor, rejection_reason=reason.strip()):
        return False
    outbox.queue(
        "privacy_request_rejected",
        privacy_request.email,
        privacy_request=privacy_request,
        type_label=TYPE_LABELS[privacy_request.request_type],
    )
    record("request.reject", privacy_request, actor)
    return True


def erase_request(privacy_request: PrivacyRequest, actor: Actor) -> bool:
    """Run every eraser for the requester, email them the report, complete the request.

    Commits: the erasers run in their own transactions. Running it again (after a crash)
    finishes the erasure; the requester is told once.
    """
    from .erasure import erase
    from .subject import Subject

    _require_confirmed(privacy_request, "erase")
    db = current_db()
    address = privacy_request.email
    request_id = privacy_request.id
    record("request.erase_start", privacy_request, actor)
    db.session.commit()
    report = erase(Subject.for_email(address, request_id=request_id))
    privacy_request = db.session.get(PrivacyRequest, request_id) or privacy_request
    db.session.refresh(privacy_request)
    if not _close(privacy_request, "completed", actor):
        db.session.commit()
        return False
    outbox.queue(
        "privacy_request_erased",
        address,
        privacy_request=privacy_request,
        report=report,
    )
    erased = sum(count for _title, count in report.erased)
    record("request.complete", privacy_request, actor, f"erased={erased}")
    # The answered request forgets the address too; the trail names it by its hash.
    privacy_request.email = ""
    privacy_request.email_key = f"erased-request-{request_id}"
    privacy_request.details = ""
    db.session.commit()
    return True
