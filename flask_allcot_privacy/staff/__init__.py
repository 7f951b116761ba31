"""The staff area: roles, the directory, the audit trail and the privacy tools."""

from __future__ import annotations

from flask import Blueprint, Flask, Response

bp = Blueprint("privacy_staff", __name__)


@bp.after_request
def _private_and_unindexed(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def init_app(app: Flask) -> None:
    """Register this part's hooks on ``app`` (the blueprint is registered by the extension)."""


# Each module adds its routes to bp, every one behind guard.require_role.
from . import moderation, views  # noqa: E402, F401
