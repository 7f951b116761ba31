"""Accounts: registration, password links, server-side login sessions and the profile."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request
from flask_babel import lazy_gettext as _l

from ..state import state_for

bp = Blueprint("privacy_accounts", __name__)

#: Pages that may be cached like any public page; every other account page is private.
PUBLIC_ENDPOINTS = frozenset({"privacy_accounts.public_profile"})


@bp.after_request
def _private_pages(response: Response) -> Response:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def init_app(app: Flask) -> None:
    """Wire Flask-Login to the server-side sessions and send anonymous members to log in."""
    from . import sessions

    login_manager = state_for(app).login_manager
    login_manager.login_view = "privacy_accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    sessions.init_app(app)


from . import profile, views  # noqa: E402, F401  (routes register on bp)
