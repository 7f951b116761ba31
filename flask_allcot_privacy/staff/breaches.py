"""Breach incidents for privacy officers: record, see the deadlines, notify (P35).

``/staff/breaches`` lists incidents with their two deadlines (48 hours to tell the
members, 72 hours to tell the authority, both from discovery), overdue ones marked,
and a form to record one. Each incident's page queues its notices and records when
and how the authority was told. Every look and every act is audited.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length

from .. import audit, breaches
from ..accounts.forms import ConfirmForm
from ..clock import utcnow
from ..forms import PrivacyForm, stripped
from ..models import BreachIncident, BreachNotice, User
from ..state import current_db
from . import bp
from .guard import require_role
from .pagination import page_number, paginate
from .screens import describe

describe(
    "privacy_staff.breaches",
    _l("Breaches"),
    _l("Record a breach and notify those affected within 48 hours."),
    before="privacy_staff.roles",
)

TIME_FORMAT = "%Y-%m-%dT%H:%M"
MAX_ID = "9223372036854775807"


def _as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _not_in_future(form: t.Any, field: t.Any) -> None:
    if field.data is not None and _as_utc(field.data) > utcnow():  # type: ignore[operator]
        raise ValidationError(_l("That time is in the future."))


class BreachForm(PrivacyForm):
    """Record an incident: when it was discovered, what happened, to which data, who."""

    discovered_at = DateTimeLocalField(
        _l("Discovered (UTC)"),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter when the team became aware.")), _not_in_future],
    )
    summary = TextAreaField(
        _l("What happened"),
        filters=[stripped],
        validators=[DataRequired(_l("Say what happened.")), Length(max=5000)],
    )
    data_affected = TextAreaField(
        _l("Which data is affected"), filters=[stripped], validators=[Length(max=5000)]
    )
    what_to_do = TextAreaField(
        _l("What members should do"), filters=[stripped], validators=[Length(max=5000)]
    )
    members = TextAreaField(
        _l("Affected members (usernames, separated by commas or lines)"),
        filters=[stripped],
        validators=[Length(max=100_000)],
    )
    all_members = BooleanField(_l("Every member is affected"))

    found: list[User]

    def validate_members(self, field: t.Any) -> None:
        names = [name for name in (field.data or "").replace(",", "\n").split("\n") if name.strip()]
        if names and self.all_members.data:
            raise ValidationError(_l("Name the members or tick “every member”, not both."))
        self.found, unknown = breaches.find_members(names)
        if unknown:
            raise ValidationError(
                _l("No account has the username %(names)s.", names=", ".join(unknown))
            )


class AuthorityForm(PrivacyForm):
    """When and how the supervisory authority was told."""

    notified_at = DateTimeLocalField(
        _l("Told the authority at (UTC)"),
        format=TIME_FORMAT,
        validators=[InputRequired(_l("Enter when the authority was told.")), _not_in_future],
    )
    how = StringField(
        _l("How"),
        filters=[stripped],
        validators=[DataRequired(_l("Say how (for example its online form).")), Length(max=500)],
    )


def _incident_rows(now: datetime) -> list[dict[str, t.Any]]:
    incidents = current_db().session.scalars(
        sa.select(BreachIncident).order_by(BreachIncident.discovered_at.desc()).limit(200)
    )
    rows = []
    for incident in incidents:
        done = breaches.progress(incident)
        members, authority = breaches.deadlines(incident, done, now)
        rows.append(
            {"incident": incident, "progress": done, "members": members, "authority": authority}
        )
    return rows


@bp.route("/breaches", methods=["GET", "POST"], endpoint="breaches")
@require_role("privacy_officer")
def breaches_list() -> t.Any:
    """The incidents, newest first, overdue deadlines marked; the form to record one."""
    form = BreachForm()
    if request.method == "GET":
        form.discovered_at.data = utcnow().replace(tzinfo=None, second=0, microsecond=0)
    db = current_db()
    if form.validate_on_submit():
        try:
            incident = breaches.open_incident(
                form.summary.data,
                discovered_at=_as_utc(form.discovered_at.data),
                data_affected=form.data_affected.data or "",
                what_to_do=form.what_to_do.data or "",
                members=form.found,
                all_members=form.all_members.data,
            )
        except breaches.BreachError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(
                _("Incident %(id)s is recorded. Notify the members now.", id=incident.id),
                "success",
            )
            return redirect(url_for(".breach", incident_id=incident.id), code=303)
    rows = _incident_rows(utcnow())
    audit.record("breach.list_view", detail="ids=" + ",".join(str(r["incident"].id) for r in rows))
    db.session.commit()
    body = render_template("privacy/staff/breaches.html", rows=rows, form=form)
    return body, 400 if request.method == "POST" else 200


def _incident_page(incident: BreachIncident, authority_form: AuthorityForm, status: int) -> t.Any:
    db = current_db()
    breaches.record_deliveries()
    done = breaches.progress(incident)
    members, authority = breaches.deadlines(incident, done)
    query = (
        sa.select(
            BreachNotice.id,
            BreachNotice.queued_at,
            BreachNotice.notified_at,
            User.id.label("user_id"),
            User.username,
            User.email,
        )
        .join(User, User.id == BreachNotice.user_id)
        .where(BreachNotice.incident_id == incident.id)
        .order_by(BreachNotice.id)
    )
    notices = paginate(query, page_number(), 50)
    audit.record(
        "breach.view",
        detail=f"incident={incident.id} page={notices.page} members="
        + ",".join(str(row.user_id) for row in notices.items),
    )
    db.session.commit()
    body = render_template(
        "privacy/staff/breach.html",
        incident=incident,
        progress=done,
        members_deadline=members,
        authority_deadline=authority,
        notices=notices,
        notify_form=ConfirmForm(),
        authority_form=authority_form,
    )
    return body, status


@bp.route(f"/breaches/<int(max={MAX_ID}):incident_id>")
@require_role("privacy_officer")
def breach(incident_id: int) -> t.Any:
    """One incident: its deadlines, its notices, the buttons to act."""
    incident = current_db().get_or_404(BreachIncident, incident_id)
    form = AuthorityForm()
    form.notified_at.data = utcnow().replace(tzinfo=None, second=0, microsecond=0)
    return _incident_page(incident, form, 200)


@bp.route(f"/breaches/<int(max={MAX_ID}):incident_id>/notify", methods=["POST"])
@require_role("privacy_officer")
def breach_notify(incident_id: int) -> t.Any:
    """Queue the notice for each affected member not told yet (never twice)."""
    current_db().get_or_404(BreachIncident, incident_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    queued = breaches.queue_notices(incident_id)
    flash(
        _("%(count)s notice(s) queued; members already told were skipped.", count=queued),
        "success",
    )
    return redirect(url_for(".breach", incident_id=incident_id), code=303)


@bp.route(f"/breaches/<int(max={MAX_ID}):incident_id>/authority", methods=["POST"])
@require_role("privacy_officer")
def breach_authority(incident_id: int) -> t.Any:
    """Record when and how the supervisory authority was told."""
    incident = current_db().get_or_404(BreachIncident, incident_id)
    form = AuthorityForm()
    if not form.validate_on_submit():
        return _incident_page(incident, form, 400)
    when = _as_utc(form.notified_at.data)
    assert when is not None
    breaches.record_authority(incident, when, form.how.data)
    current_db().session.commit()
    flash(_("The authority's notification is recorded."), "success")
    return redirect(url_for(".breach", incident_id=incident_id), code=303)
