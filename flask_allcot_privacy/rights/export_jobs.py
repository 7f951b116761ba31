"""Answering export and correspondence requests with a ZIP behind an expiring link.

Building never runs inside the request that asked for it: a view marks the request
(:func:`request_export`) and :func:`build_after_response` builds it once the response
is sent; ``flask privacy requests process ID`` builds it from the command line, and
``flask privacy requests build-exports`` picks up any left behind (for a worker or
cron). A build first claims the request with a conditional ``UPDATE``, so two workers
never build the same one.

The file sits in ``PRIVACY_EXPORT_DIR`` (outside the web root, mode 0700) under a
random name. The link's token is signed for this purpose, names the request, and
carries a random secret whose SHA-256 is stored on the row: a token for one request
never opens another's file, and a newer export voids the older link.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import typing as t
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app, request, url_for

from .. import background, logsafe, outbox, tokens
from ..clock import utcnow
from ..models import PrivacyRequest
from ..state import current_db
from . import workflow
from .workflow import Actor, RequestStateError

log = logsafe.logger(__name__)

#: A claimed build not finished after this long is taken to have crashed; another may retry.
BUILD_CLAIM_FOR = timedelta(minutes=30)
#: Correspondence requests export only these exporters (P18).
CORRESPONDENCE_EXPORTERS = ("contact_messages", "outbox")


def export_dir(app: Flask | None = None) -> Path:
    """PRIVACY_EXPORT_DIR, or ``privacy-exports`` in the instance folder; created 0700."""
    app = app or current_app
    configured = app.config["PRIVACY_EXPORT_DIR"]
    folder = Path(configured) if configured else Path(app.instance_path) / "privacy-exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def request_export(privacy_request: PrivacyRequest, actor: Actor) -> None:
    """Mark a confirmed export or correspondence request for building. Caller commits."""
    workflow._require_confirmed(privacy_request, *workflow.EXPORT_TYPES)
    # A build under way keeps its claim: pressing the button twice builds once.
    privacy_request.export_requested_at = utcnow()
    privacy_request.export_error = ""
    workflow.record("request.export_queued", privacy_request, actor)


def _claim(request_id: int) -> bool:
    now = utcnow()
    db = current_db()
    result = db.session.execute(
        sa.update(PrivacyRequest)
        .where(
            PrivacyRequest.id == request_id,
            PrivacyRequest.state == "confirmed",
            PrivacyRequest.export_requested_at.is_not(None),
            sa.or_(
                PrivacyRequest.export_started_at.is_(None),
                PrivacyRequest.export_started_at < now - BUILD_CLAIM_FOR,
            ),
        )
        .values(export_started_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return t.cast(sa.CursorResult[t.Any], result).rowcount == 1


def build_export(request_id: int, actor: Actor) -> bool:
    """Build the export of one marked request, email its link and complete the request.

    Needs a request context for the link (the CLI pushes one on the site's address).
    False if it was not due (not marked, already built or being built elsewhere) or the
    writer failed; a failure is kept in ``export_error`` and the request stays open.
    Commits.
    """
    from .export import ExportError, write_export
    from .subject import Subject

    if not _claim(request_id):
        return False
    db = current_db()
    privacy_request = db.session.get(PrivacyRequest, request_id)
    assert privacy_request is not None
    folder = export_dir()
    name = f"{secrets.token_hex(16)}.zip"
    only = CORRESPONDENCE_EXPORTERS if privacy_request.request_type == "correspondence" else None
    subject = Subject.for_email(privacy_request.email, request_id=request_id)
    try:
        write_export(subject, folder / name, only=only)
    except ExportError as error:
        db.session.rollback()
        privacy_request = db.session.get(PrivacyRequest, request_id)
        assert privacy_request is not None
        privacy_request.export_error = str(error)[:500]
        privacy_request.export_started_at = None
        privacy_request.export_requested_at = None
        workflow.record("request.export_failed", privacy_request, actor)
        db.session.commit()
        log.error("Export for privacy request %s failed: %s", request_id, error)
        return False
    db.session.refresh(privacy_request)
    old_file = privacy_request.export_file
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    expires: timedelta = current_app.config["PRIVACY_EXPORT_EXPIRES"]
    privacy_request.export_file = name
    privacy_request.export_token_hash = _secret_hash(secret)
    privacy_request.export_expires_at = now + expires
    privacy_request.export_requested_at = None
    privacy_request.export_started_at = None
    privacy_request.export_error = ""
    token = tokens.make(tokens.PRIVACY_EXPORT, {"rid": request_id, "s": secret})
    message = outbox.queue(
        "privacy_export_ready",
        privacy_request.email,
        privacy_request=privacy_request,
        type_label=workflow.TYPE_LABELS[privacy_request.request_type],
        link=url_for("privacy_requests.download_export", token=token, _external=True),
        expires_at=privacy_request.export_expires_at,
    )
    workflow.record("request.export_sent", privacy_request, actor)
    if workflow._close(privacy_request, "completed", actor):
        workflow.record("request.complete", privacy_request, actor, "exported")
    db.session.commit()
    if old_file and old_file != name:
        (folder / old_file).unlink(missing_ok=True)
    outbox.deliver_due(ids=[message.id])
    return True


def build_due(actor: Actor, limit: int = 20) -> list[int]:
    """Build every marked export not yet built (for a worker or cron); the ids built."""
    query = (
        sa.select(PrivacyRequest.id)
        .where(
            PrivacyRequest.state == "confirmed",
            PrivacyRequest.export_requested_at.is_not(None),
        )
        .order_by(PrivacyRequest.deadline, PrivacyRequest.id)
        .limit(limit)
    )
    built = []
    for request_id in list(current_db().session.scalars(query)):
        if build_export(request_id, actor):
            built.append(request_id)
    return built


BUILD_JOB = "privacy.build_export"


def build_after_response(request_id: int, actor: Actor) -> None:
    """Build the export once this request is answered, on the same site address for the link.

    It runs on the web process's background thread (:mod:`..background`), handed over on
    the response the client gets.
    """
    base_url = request.host_url.rstrip("/") + request.script_root
    background.after_response(
        BUILD_JOB, request_id, actor.user_id, actor.via_cli, base_url, on="thread"
    )


@background.job(BUILD_JOB)
def _build_export_job(request_id: int, user_id: int | None, via_cli: bool, base_url: str) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.test_request_context(base_url=base_url):
        try:
            build_export(request_id, Actor(user_id=user_id, via_cli=via_cli))
        except Exception:
            log.exception(
                "Building the export for privacy request %s failed; "
                "'flask privacy requests build-exports' retries it.",
                request_id,
            )


def request_for_download(token: str, now: datetime | None = None) -> tuple[PrivacyRequest, Path]:
    """The request and file an export link opens, or :class:`tokens.TokenError`."""
    payload = tokens.read(tokens.PRIVACY_EXPORT, token)
    request_id, secret = payload.get("rid"), payload.get("s")
    if not isinstance(request_id, int) or not isinstance(secret, str):
        raise tokens.TokenInvalid()
    found = current_db().session.get(PrivacyRequest, request_id)
    if found is None or found.export_token_hash is None or found.export_file is None:
        raise tokens.TokenExpired()
    if not hmac.compare_digest(found.export_token_hash, _secret_hash(secret)):
        raise tokens.TokenUsed()
    if found.export_expires_at is None or found.export_expires_at <= (now or utcnow()):
        raise tokens.TokenExpired()
    path = export_dir() / found.export_file
    if not path.is_file():
        raise tokens.TokenExpired()
    return found, path


__all__ = [
    "RequestStateError",
    "build_after_response",
    "build_due",
    "build_export",
    "export_dir",
    "request_export",
    "request_for_download",
]
