"""The privacy-request queue and a request's page, for privacy officers (P28-P32).

The queue lists open requests by deadline, overdue first. A request's page shows what
the officer needs to answer it (the address, the type, the requester's details, the
deadline) and the buttons for its type: send the export, erase, record a correction,
or reject with a reason. Every view of a request and every step is audited, naming the
requester by request id and a keyed hash of the address, never the address itself.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import audit, screen_options
from ..accounts.forms import ConfirmForm
from ..clock import utcnow
from ..models import OPEN_REQUEST_STATES, REQUEST_STATES, PrivacyRequest
from ..rights import deadlines, export_jobs, workflow
from ..rights.erasure import ErasureError
from ..rights.forms import NoteForm, RejectForm
from ..rights.workflow import Actor, RequestStateError
from ..state import current_db
from . import bp
from .guard import require_role
from .pagination import page_number, paginate
from .screens import describe

describe(
    "privacy_staff.requests",
    _l("Privacy requests"),
    _l("Work the queue of export, erasure and correction requests before their deadline."),
    before="privacy_staff.consent_records",
)

#: The queue's filters: open (the default) or one state.
FILTERS = ("open", *REQUEST_STATES)
#: The actions a request's page can post, and the request types each applies to.
ACTIONS: dict[str, tuple[str, ...]] = {
    "send_export": workflow.EXPORT_TYPES,
    "erase": ("erase",),
    "complete": ("correct",),
    "reject": ("export", "erase", "correct", "correspondence"),
}

_ID = "<int(max=9223372036854775807):request_id>"


def queue_order() -> tuple[t.Any, ...]:
    """By deadline (so overdue first), then requests without one (pending), oldest first."""
    return (
        PrivacyRequest.deadline.is_(None),
        PrivacyRequest.deadline,
        PrivacyRequest.created_at,
        PrivacyRequest.id,
    )


def open_summary() -> tuple[int, t.Any]:
    """How many confirmed requests await an answer, and the nearest deadline."""
    count, nearest = (
        current_db()
        .session.execute(
            sa.select(sa.func.count(PrivacyRequest.id), sa.func.min(PrivacyRequest.deadline)).where(
                PrivacyRequest.state == "confirmed"
            )
        )
        .one()
    )
    return int(count or 0), nearest


@bp.route("/requests", methods=["GET", "POST"])
@require_role("privacy_officer")
def requests() -> t.Any:
    """The queue. POST only saves the screen options and comes back."""
    options = screen_options.ScreenOptionsForm()
    if options.validate_on_submit():
        return screen_options.saved(options)
    shown = request.args.get("state", "open")
    if shown not in FILTERS:
        shown = "open"
    query = sa.select(PrivacyRequest).order_by(*queue_order())
    if shown == "open":
        query = query.where(PrivacyRequest.state.in_(OPEN_REQUEST_STATES))
    else:
        query = query.where(PrivacyRequest.state == shown)
    page = paginate(query, page_number(), screen_options.per_page())
    ids = ",".join(str(row.PrivacyRequest.id) for row in page.items)
    audit.record("requests.queue_view", detail=f"page={page.page} requests={ids}")
    current_db().session.commit()
    body = render_template(
        "privacy/staff/requests.html",
        page=page,
        shown=shown,
        filters=FILTERS,
        state_labels=workflow.STATE_LABELS,
        type_labels=workflow.TYPE_LABELS,
        today=deadlines.local_date(utcnow()),
        options=options,
    )
    return body, 400 if request.method == "POST" else 200


def _page(privacy_request: PrivacyRequest, status: int = 200, **forms: t.Any) -> t.Any:
    forms.setdefault("note_form", NoteForm(formdata=None))
    forms.setdefault("reject_form", RejectForm(formdata=None))
    body = render_template(
        "privacy/staff/request.html",
        privacy_request=privacy_request,
        type_label=workflow.TYPE_LABELS[privacy_request.request_type],
        state_label=workflow.STATE_LABELS[privacy_request.state],
        today=deadlines.local_date(utcnow()),
        actions=[
            action
            for action, types in ACTIONS.items()
            if privacy_request.state == "confirmed" and privacy_request.request_type in types
        ],
        confirm_form=ConfirmForm(formdata=None),
        **forms,
    )
    return body, status


@bp.route(f"/requests/{_ID}", methods=["GET", "POST"])
@require_role("privacy_officer")
def request_detail(request_id: int) -> t.Any:
    """A request's page; POST carries ``action`` and, for some, a note or a reason."""
    privacy_request = current_db().get_or_404(PrivacyRequest, request_id)
    if request.method == "GET":
        workflow.record("request.view", privacy_request, Actor(user_id=current_user.id))
        current_db().session.commit()
        return _page(privacy_request)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        # A forged or mangled button (a file, an unknown name): the page again, saying so.
        message = _("Choose one of the buttons on this page.")
        return _page(privacy_request, 400, action_error=message)
    forms: dict[str, t.Any] = {}
    if action == "complete":
        form: t.Any = NoteForm()
        forms["note_form"] = form
    elif action == "reject":
        form = RejectForm()
        forms["reject_form"] = form
    else:
        form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(privacy_request, 400, **forms)
    actor = Actor(user_id=current_user.id)
    db = current_db()
    try:
        done = _act(privacy_request, action, form, actor)
    except (RequestStateError, ErasureError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".request_detail", request_id=request_id))
    if not done:
        db.session.rollback()
        flash(_("Someone else answered this request a moment ago."), "error")
    return redirect(url_for(".request_detail", request_id=request_id))


def _act(privacy_request: PrivacyRequest, action: str, form: t.Any, actor: Actor) -> bool:
    db = current_db()
    if action == "send_export":
        export_jobs.request_export(privacy_request, actor)
        db.session.commit()
        export_jobs.build_after_response(privacy_request.id, actor)

        flash(
            _("The export is being built; the requester gets the link by email in a moment."),
            "success",
        )
        return True
    if action == "erase":
        done = workflow.erase_request(privacy_request, actor)
        if done:
            flash(_("Erased. The requester got the list of what was erased and kept."), "success")
        return done
    if action == "complete":
        done = workflow.complete_correction(privacy_request, form.note.data, actor)
        if done:
            db.session.commit()
            flash(_("Completed. The requester is told what was changed."), "success")
        return done
    done = workflow.reject(privacy_request, form.reason.data, actor)
    if done:
        db.session.commit()
        flash(_("Rejected. The requester is told the reason."), "success")
    return done
