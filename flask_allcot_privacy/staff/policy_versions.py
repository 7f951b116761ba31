"""Policy versions for privacy officers: publish the policy as it now renders (P36).

``/staff/policy`` lists the versions and whether the policy changed since the last
one; publishing adds a version and queues the notice for every member, in batches.
Publishing when nothing changed is refused beside the form. Every act is audited.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from .. import audit, policy_versions
from ..accounts.forms import ConfirmForm
from ..forms import PrivacyForm, stripped
from ..models import PolicyVersion
from ..state import current_db
from . import bp
from .guard import require_role
from .screens import describe

describe(
    "privacy_staff.policy_versions",
    _l("Policy versions"),
    _l("Publish a new version of the privacy policy and announce it."),
    before="privacy_staff.roles",
)


class PublishForm(PrivacyForm):
    """What changed, in a sentence or two: quoted in the notice to every member."""

    summary = TextAreaField(
        _l("What changed"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Say what changed: the summary is quoted in the email.")),
            Length(max=2000, message=_l("Use at most 2000 characters.")),
        ],
    )


@bp.route("/policy", methods=["GET", "POST"], endpoint="policy_versions")
@require_role("privacy_officer")
def policy_versions_screen() -> t.Any:
    """The versions, newest first, and the form that publishes the next one."""
    form = PublishForm()
    db = current_db()
    if form.validate_on_submit():
        try:
            version = policy_versions.publish(form.summary.data)
            db.session.commit()
        except policy_versions.PublishError as error:
            db.session.rollback()
            form.summary.errors = [*form.summary.errors, str(error)]
        except IntegrityError:
            db.session.rollback()
            form.summary.errors = [
                *form.summary.errors,
                _("Someone published a version at the same moment. Reload and check it."),
            ]
        else:
            queued = policy_versions.queue_notices(version.id)
            flash(
                _(
                    "Version %(number)s is published; %(count)s member(s) will be emailed.",
                    number=version.number,
                    count=queued,
                ),
                "success",
            )
            return redirect(url_for(".policy_versions"), code=303)
    versions = db.session.scalars(
        sa.select(PolicyVersion).order_by(PolicyVersion.number.desc())
    ).all()
    rendered = policy_versions.render_policy()
    last = versions[0] if versions else None
    body = render_template(
        "privacy/staff/policy_versions.html",
        form=form,
        versions=versions,
        changed=last is None or last.digest != rendered.digest,
        cookies_changed=last is not None and last.cookie_digest != rendered.cookie_digest,
        resume_form=ConfirmForm(),
    )
    audit.record("policy.view")
    db.session.commit()
    return body, 400 if request.method == "POST" else 200


@bp.route("/policy/<int(max=9223372036854775807):number>/resume", methods=["POST"])
@require_role("privacy_officer")
def policy_version_resume(number: int) -> t.Any:
    """Queue the notices a publishing run left unsent (none is sent twice)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = current_db()
    version = db.first_or_404(sa.select(PolicyVersion).where(PolicyVersion.number == number))
    queued = policy_versions.queue_notices(version.id)
    audit.record("policy.resume_notices", detail=f"version={number} queued={queued}")
    db.session.commit()
    flash(_("%(count)s more member(s) will be emailed.", count=queued), "success")
    return redirect(url_for(".policy_versions"), code=303)
