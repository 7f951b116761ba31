"""The audit trail: every staff view of a person's data and every staff action (P33).

Each event says who (the staff member's id, or none for the command line), when,
what (an action name such as ``directory.search``) and on whom (a member id).
Helpers only add the event to ``db.session``; the caller commits it together with
the work it describes, so an action that rolls back leaves no event behind.
"""

from __future__ import annotations

from flask import current_app, has_request_context
from flask_login import current_user

from .ipaddr import request_ip
from .logsafe import visitor_text
from .models import AuditEvent
from .state import current_db

__all__ = ["record", "record_cli"]

#: The detail of every event recorded from the command line starts with this.
CLI = "cli"


def record(action: str, *, subject_id: int | None = None, detail: str = "") -> AuditEvent:
    """Add an audit event for the logged-in staff member; the caller commits.

    :param action: what happened, such as ``directory.search`` or ``role.change``.
    :param subject_id: the id of the member whose data was seen or changed.
    :param detail: a short note (a search term, a role); never a password or token.
    """
    in_request = has_request_context()
    actor_id = current_user.id if in_request and current_user.is_authenticated else None
    ip_address = request_ip() if in_request else ""
    return _add(action, actor_id, subject_id, detail, ip_address)


def record_cli(action: str, *, subject_id: int | None = None, detail: str = "") -> AuditEvent:
    """Add an audit event for a ``flask privacy`` command: no actor, detail ``cli: ...``."""
    return _add(action, None, subject_id, f"{CLI}: {detail}" if detail else CLI, "")


def record_for(
    action: str, *, actor_id: int | None, subject_id: int | None = None, detail: str = ""
) -> AuditEvent:
    """Add an event for a known actor outside their own request; the caller commits.

    For work finished after the response (an export built once the page was sent) and
    for steps a visitor takes from an emailed link (``actor_id`` None). No IP address
    is kept: the visitor is not staff, and the staff member's was recorded when they acted.
    """
    return _add(action, actor_id, subject_id, detail, "")


def _add(
    action: str, actor_id: int | None, subject_id: int | None, detail: str, ip_address: str
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        subject_id=subject_id,
        # The detail may quote a search a visitor typed: one printable line, no NUL
        # (which PostgreSQL refuses).
        detail=visitor_text(detail, 500),
        ip_address=ip_address[:45],
    )
    current_db().session.add(event)
    current_app.logger.info("audit %s by %s on %s", action, actor_id, subject_id)
    return event
