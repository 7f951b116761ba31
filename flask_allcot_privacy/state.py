"""Where the extension keeps what it needs per app: ``app.extensions["allcot_privacy"]``."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import Flask, current_app

if t.TYPE_CHECKING:
    from flask_login import LoginManager
    from flask_mail import Mail
    from flask_sqlalchemy import SQLAlchemy
    from limits.strategies import MovingWindowRateLimiter

    from .extension import Privacy

EXTENSION_KEY = "allcot_privacy"


@dataclass
class PrivacyState:
    """The host's objects the extension works with, per app. No request state."""

    privacy: Privacy
    db: SQLAlchemy
    mail: Mail
    login_manager: LoginManager
    #: The rate-limit counter (the ``limits`` engine Flask-Limiter is built on).
    limiter: MovingWindowRateLimiter
    #: Values derived from configuration, computed once per process and reused: the
    #: consent revision, HTML that is the same for every visitor. Never visitor state.
    derived: dict[t.Any, t.Any] = field(default_factory=dict)


def state_for(app: Flask) -> PrivacyState:
    """The extension's state for ``app``, or a clear error if it was not initialised."""
    try:
        found: PrivacyState = app.extensions[EXTENSION_KEY]  # no t.cast: hot path
        return found
    except KeyError:
        raise RuntimeError(
            "flask-allcot-privacy is not initialised on this app: call privacy.init_app(app)."
        ) from None


def current_db() -> SQLAlchemy:
    """The host's ``SQLAlchemy`` object for the current app."""
    return state_for(current_app).db
