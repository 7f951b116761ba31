"""Blinker signals a host can subscribe to. Each is sent with the app as sender."""

from __future__ import annotations

import typing as t

from blinker import NamedSignal, Namespace
from flask import current_app

_signals = Namespace()

#: A visitor registered; sent with ``user``.
user_registered = _signals.signal("user-registered")
#: A member set a password from an emailed link; sent with ``user``.
password_set = _signals.signal("password-set")
#: A member logged in; sent with ``user`` and ``remember``.
user_logged_in = _signals.signal("user-logged-in")
#: A member logged out; sent with ``user``.
user_logged_out = _signals.signal("user-logged-out")
#: A login failed; sent with ``username`` as typed (never the password).
login_failed = _signals.signal("login-failed")
#: A member saved their profile; sent with ``user`` and ``changed`` (field names).
profile_updated = _signals.signal("profile-updated")
#: A member confirmed a new email address; sent with ``user`` and ``old_email``.
email_changed = _signals.signal("email-changed")


def send(signal: NamedSignal, **extra: t.Any) -> None:
    """Send ``signal`` with the current app as sender, as Flask's own signals are sent."""
    signal.send(current_app._get_current_object(), **extra)  # type: ignore[attr-defined]
