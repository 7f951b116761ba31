"""Staff accounts and roles: the one place that creates staff and changes a role.

The command line, the admin screen and the example site's demo all go through
here, so each change is checked, audited and revokes the member's logins the same
way. Functions only add to ``db.session``; the caller commits.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import audit
from ..accounts import service, sessions
from ..models import ROLES, LoginSession, User
from ..state import current_db


class StaffError(ValueError):
    """A staff account or role change cannot be made; the message says why."""


class LastAdminError(StaffError):
    """The change would leave nobody with the admin role, so nobody could assign roles."""


def find(username: str) -> User | None:
    """The live (not erased) account with this username, whatever its case."""
    return service.find_by_username(username)


_FIELD_LABELS = {"username": _l("Username"), "email": _l("Email address"), "role": _l("Role")}


def create_staff(username: str, email: str, role: str, *, via_cli: bool = False) -> User:
    """Create an account with ``role`` and no password, and queue its set-password email.

    The new member chooses their own password from the link; nobody else ever knows it.
    Registration's rules apply (:mod:`..accounts.service`).
    """
    if role not in ROLES:
        raise StaffError(_("Unknown role %(role)s.", role=role))
    try:
        user = service.create_member(username, email, role=role, send_link="staff")
    except service.UsernameTaken:
        raise StaffError(
            _(
                "The username %(name)s is taken; to give that member a role, use set-role.",
                name=username.strip(),
            )
        ) from None
    except service.EmailTaken:
        raise StaffError(
            _(
                "An account already uses %(email)s; to give that member a role, use set-role.",
                email=email.strip(),
            )
        ) from None
    except service.AccountError as error:
        label = _FIELD_LABELS.get(error.field or "", "")
        raise StaffError(f"{label}: {error}" if label else str(error)) from None
    _audit("staff.create", user.id, f"role {role}", via_cli)
    return user


def change_role(
    user: User,
    role: str | None,
    *,
    via_cli: bool = False,
    keep: LoginSession | None = None,
    keep_an_admin: bool = True,
) -> int:
    """Give ``user`` the role (``None`` removes it) and end their logins; audited.

    Ending the logins makes the change apply on the member's very next request and
    asks them to log in again under the new role. ``keep`` spares one login (an
    admin changing their own role keeps the browser they did it from).
    With ``keep_an_admin`` (the screen), taking the admin role from the last admin
    raises :class:`LastAdminError`; the command line, the recovery path, passes False.
    Returns how many login sessions were ended.
    """
    if role is not None and role not in ROLES:
        raise StaffError(_("Unknown role %(role)s.", role=role))
    old = user.role
    if keep_an_admin and old == "admin" and role != "admin":
        _take_admin_role(user, role)
    else:
        user.role = role
    ended = sessions.revoke_all_for(user, keep=keep)
    _audit("role.change", user.id, f"{old or 'none'} -> {role or 'none'}", via_cli)
    return ended


def _take_admin_role(user: User, role: str | None) -> None:
    """Demote ``user`` only if another live admin remains, checked and written at once.

    Counting first and updating after lets two admins demote each other at the same
    moment and leave none. Here the check is the UPDATE's own WHERE clause and the
    row count says whether it held. On databases with row locks (PostgreSQL, MySQL)
    the admin rows are locked first, so two demotions queue instead of each reading
    the other's admin role as still there; SQLite ignores FOR UPDATE and lets one
    writer at a time in anyway.
    """
    session = current_db().session
    live_admin = (User.role == "admin", User.erased_at.is_(None))
    session.execute(sa.select(User.id).where(*live_admin).with_for_update())
    other = sa.alias(User.__table__, "other_admin")
    result = session.execute(
        sa.update(User)
        .where(
            User.id == user.id,
            *live_admin,
            sa.exists().where(
                other.c.role == "admin", other.c.erased_at.is_(None), other.c.id != user.id
            ),
        )
        .values(role=role)
        .execution_options(synchronize_session="fetch")
    )
    if t.cast(sa.CursorResult[t.Any], result).rowcount != 1:
        raise LastAdminError(
            _(
                "%(name)s is the only admin. Make another member admin first, "
                "so that someone can still assign roles.",
                name=user.username,
            )
        )


def admin_count() -> int:
    """How many live accounts hold the admin role."""
    return int(
        current_db().session.scalar(
            sa.select(sa.func.count(User.id)).where(User.role == "admin", User.erased_at.is_(None))
        )
        or 0
    )


def _audit(action: str, subject_id: int, detail: str, via_cli: bool) -> None:
    if via_cli:
        audit.record_cli(action, subject_id=subject_id, detail=detail)
    else:
        audit.record(action, subject_id=subject_id, detail=detail)
