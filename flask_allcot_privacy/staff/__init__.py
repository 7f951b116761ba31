"""The staff area: roles, the directory, the audit trail and the privacy tools."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("privacy_staff", __name__)


def init_app(app: Flask) -> None:
    """Register this part's hooks on ``app`` (the blueprint is registered by the extension)."""
