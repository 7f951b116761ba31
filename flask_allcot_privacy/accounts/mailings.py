"""Account emails and their links: making them, finding an address's account, and the
page answering a link that cannot be used."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import gettext as _

from .. import mail, tokens
from ..models import User
from ..state import current_db


def find_by_email(email: str) -> User | None:
    """The account for an address, compared without regard to case."""
    return current_db().session.scalar(
        sa.select(User).where(User.email_key == email.strip().lower())
    )


def password_link(user: User) -> str:
    """An absolute set-password link, valid once and until PRIVACY_SET_PASSWORD_WITHIN."""
    token = tokens.make(
        tokens.SET_PASSWORD,
        {"uid": user.id, "stamp": tokens.stamp(user.credential_version)},
    )
    return url_for("privacy_accounts.set_password", token=token, _external=True)


def send_password_link(user: User, *, reason: str, deliver: bool = True) -> None:
    """Queue the set-password email; ``reason`` is ``welcome``, ``reset`` or ``staff``.

    The caller commits. Issue it after any change to ``credential_version``. With
    ``deliver=False`` the email is made the same way but neither stored nor sent: a
    reset asked for an unknown address does the same work as one for a member.
    """
    if reason not in ("welcome", "reset", "staff"):
        raise ValueError(f"Unknown reason {reason!r}.")
    hours = int(current_app.config["PRIVACY_SET_PASSWORD_WITHIN"].total_seconds() // 3600)
    make = mail.queue if deliver else mail.compose
    make(
        f"set_password_{reason}",
        user.email,
        user=user,
        link=password_link(user),
        valid_hours=hours,
    )


def stand_in(email: str) -> User:
    """A member that is never stored, for the work done on an unknown address."""
    local = email.partition("@")[0][:60] or "member"
    return User(id=0, username=local, username_key=local.lower(), email=email, credential_version=0)


def token_problem(error: tokens.TokenError) -> tuple[str, int]:
    """A page that says why an emailed link cannot be used, and offers a new one."""
    messages = {
        "expired": _("This link has expired."),
        "used": _("This link was already used, or a newer one was sent."),
        "invalid": _("This link is not valid. Check that you copied all of it."),
    }
    body = render_template(
        "privacy/errors/error.html",
        title=_("This link cannot be used"),
        message=messages[error.reason] + " " + _("You can ask for a new link below."),
        link=(url_for("privacy_accounts.reset_password"), _("Send me a new link")),
    )
    return body, 410 if error.reason in ("expired", "used") else 400
