"""Account emails and their links."""

from __future__ import annotations

from flask import current_app, url_for

from .. import outbox, tokens
from ..models import User


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
    make = outbox.queue if deliver else outbox.compose
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
