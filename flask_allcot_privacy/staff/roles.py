"""Admins assign roles: who holds one, and the form that changes a member's role."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..accounts import sessions
from ..models import ROLES, User
from ..state import current_db
from . import bp, members
from .forms import RoleForm
from .guard import require_role
from .screens import ROLE_LABELS

#: What the role screen shows of a member: the directory's four fields and the role.
MEMBER_COLUMNS = (
    User.id,
    User.username,
    User.first_name,
    User.last_name,
    User.email,
    User.role,
)


@bp.route("/roles")
@require_role("admin")
def roles() -> str:
    """Everyone who holds a staff role, most privileged first; the look is audited."""
    db_session = current_db().session
    rank = sa.case({role: -index for index, role in enumerate(ROLES)}, value=User.role)
    holders = db_session.execute(
        sa.select(*MEMBER_COLUMNS)
        .where(User.role.is_not(None), User.erased_at.is_(None))
        .order_by(rank, User.username_key)
    ).all()
    # The page shows the names and emails of every role holder: record whom it showed.
    audit.record("roles.view", detail="ids=" + ",".join(str(row.id) for row in holders))
    db_session.commit()
    return render_template("privacy/staff/roles.html", holders=holders, role_labels=ROLE_LABELS)


# The bound keeps ids a 64-bit column cannot hold out of the query: 404, not an error.
@bp.route("/members/<int(max=9223372036854775807):user_id>/role", methods=["GET", "POST"])
@require_role("admin")
def member_role(user_id: int) -> t.Any:
    """Change one member's role; the change ends their logins so it applies at once."""
    db_session = current_db().session
    member = db_session.execute(
        sa.select(*MEMBER_COLUMNS).where(User.id == user_id, User.erased_at.is_(None))
    ).first()
    if member is None:
        abort(404)
    is_self = member.id == current_user.id
    form = RoleForm(data={"role": member.role or "none"})
    if not form.validate_on_submit():
        if request.method == "POST":
            return _page(form, member, is_self, 400)
        audit.record("role.view", subject_id=member.id)
        db_session.commit()
        return _page(form, member, is_self)

    new_role = None if form.role.data == "none" else form.role.data
    if new_role == member.role:
        flash(_("%(name)s already has this role; nothing changed.", name=member.username))
        return redirect(url_for(".member_role", user_id=member.id))
    if is_self and member.role == "admin" and new_role != "admin" and not form.confirm_own.data:
        form.confirm_own.errors.append(
            _("Tick this box to confirm that you are removing your own admin role.")
        )
        return _page(form, member, is_self, 400)

    user = db_session.get(User, member.id)
    assert user is not None
    try:
        # Refuses, in the same statement that writes, to take the role from the last admin.
        ended = members.change_role(user, new_role, keep=sessions.current() if is_self else None)
    except members.LastAdminError as error:
        db_session.rollback()
        form.role.errors.append(str(error))
        return _page(form, member, is_self, 400)
    db_session.commit()
    label = ROLE_LABELS[new_role] if new_role else _("no role")
    flash(
        _(
            "%(name)s now has the role: %(role)s. %(count)s login session(s) ended, "
            "so the change applies at once.",
            name=member.username,
            role=label,
            count=ended,
        )
    )
    if is_self and not current_user.has_role("admin"):
        # They can no longer see this screen; send them where their new role reaches.
        if current_user.has_role("staff"):
            return redirect(url_for(".home"))
        return redirect(url_for("privacy_accounts.profile"))
    return redirect(url_for(".member_role", user_id=member.id))


def _page(
    form: RoleForm, member: sa.Row[*tuple[t.Any, ...]], is_self: bool, status: int = 200
) -> t.Any:
    body = render_template(
        "privacy/staff/member_role.html",
        form=form,
        member=member,
        is_self=is_self,
        role_labels=ROLE_LABELS,
    )
    return body, status
