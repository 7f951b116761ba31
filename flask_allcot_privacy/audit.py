"""The audit trail: every staff view of a person's data and every staff action."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_login import current_user

from .models import AuditEvent
from .state import current_db


def record(action: str, *, subject_id: int | None = None, detail: str = "") -> AuditEvent:
    """Add an audit event for the current staff member; the caller commits.

    :param action: what happened, such as ``directory.search`` or ``role.change``.
    :param subject_id: the id of the member whose data was seen or changed.
    :param detail: a short note (a search term, a role); never a password or token.
    """
    event = AuditEvent(
        actor_id=current_user.id if current_user.is_authenticated else None,
        action=action,
        subject_id=subject_id,
        detail=detail[:500],
        ip_address=(request.remote_addr or "") if has_request_context() else "",
    )
    current_db().session.add(event)
    current_app.logger.info("audit %s by %s on %s", action, event.actor_id, subject_id)
    return event
