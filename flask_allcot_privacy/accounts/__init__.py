"""Accounts: registration, password links, server-side login sessions and the profile."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

bp = Blueprint("privacy_accounts", __name__)

#: Pages that may be cached like any public page; every other account page is private.
PUBLIC_ENDPOINTS = frozenset({"privacy_accounts.public_profile"})


@bp.after_request
def _private_pages(response: Response) -> Response:
    if request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def init_app(app: Flask) -> None:
    """Install the login session cookie and its hooks (Flask-Login is set up by then)."""
    from . import sessions

    sessions.init_app(app)


from . import profile, views  # noqa: E402, F401  (routes register on bp)
