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


def send_password_link(user: User, *, reason: str) -> None:
    """Queue the set-password email; ``reason`` is ``welcome``, ``reset`` or ``staff``.

    The caller commits. Issue it after any change to ``credential_version``.
    """
    if reason not in ("welcome", "reset", "staff"):
        raise ValueError(f"Unknown reason {reason!r}.")
    hours = int(current_app.config["PRIVACY_SET_PASSWORD_WITHIN"].total_seconds() // 3600)
    outbox.queue(
        f"set_password_{reason}",
        user.email,
        user=user,
        link=password_link(user),
        valid_hours=hours,
    )
