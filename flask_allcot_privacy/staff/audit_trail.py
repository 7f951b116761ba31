"""The audit trail screen: admins read who saw or did what, filtered by staff member and date."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from .. import audit, screen_options
from ..models import AuditEvent, User
from ..state import current_db
from . import bp
from .forms import AuditFilterForm, option
from .guard import require_role
from .pagination import Page, page_number, paginate

#: The ``actor`` filter value for events recorded by ``flask privacy`` commands.
COMMAND_LINE = "cli"


def _actor_choices() -> list[t.Any]:
    """Everyone who holds a role or ever acted, so former staff stay searchable."""
    actors = current_db().session.execute(
        sa.select(User.id, User.username)
        .where(
            sa.or_(
                User.role.is_not(None),
                User.id.in_(sa.select(AuditEvent.actor_id).where(AuditEvent.actor_id.is_not(None))),
            )
        )
        .order_by(User.username_key)
    )
    return [
        option("", _l("Everyone")),
        option(COMMAND_LINE, _l("The command line")),
        *(option(str(row.id), row.username) for row in actors),
    ]


def _events(form: AuditFilterForm, page: int, per_page: int) -> Page:
    actor, subject = aliased(User), aliased(User)
    query = (
        sa.select(
            AuditEvent.id,
            AuditEvent.created_at,
            AuditEvent.action,
            AuditEvent.detail,
            AuditEvent.ip_address,
            AuditEvent.actor_id,
            AuditEvent.subject_id,
            actor.username.label("actor_name"),
            subject.username.label("subject_name"),
        )
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(subject, subject.id == AuditEvent.subject_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    if form.actor.data == COMMAND_LINE:
        query = query.where(AuditEvent.actor_id.is_(None), AuditEvent.detail.startswith(audit.CLI))
    elif form.actor.data:
        query = query.where(AuditEvent.actor_id == int(form.actor.data))
    query = query.where(*form.conditions(AuditEvent.created_at))
    if form.subject.data:
        query = query.where(AuditEvent.subject_id == form.subject.data)
    return paginate(query, page, per_page)


@bp.route("/audit", methods=["GET", "POST"], endpoint="audit")
@require_role("admin")
def audit_view() -> t.Any:
    """The trail, newest first. POST only saves the screen options and comes back."""
    options = screen_options.ScreenOptionsForm()
    if options.validate_on_submit():
        return screen_options.saved(options)
    status = 400 if request.method == "POST" else 200

    form = AuditFilterForm(formdata=request.args)
    form.actor.choices = _actor_choices()
    events: Page | None = None
    if form.validate():
        events = _events(form, page_number(), screen_options.per_page())
        # Reading the trail is itself recorded: it shows staff activity and member ids.
        filters = {key: value for key, value in request.args.items() if value}
        audit.record("audit.view", detail=" ".join(f"{k}={v}" for k, v in filters.items()))
        current_db().session.commit()
    else:
        status = 400
    body = render_template("privacy/staff/audit.html", form=form, options=options, events=events)
    return body, status
