"""Privacy requests (export, erase, correct, correspondence): a later capability."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("privacy_requests", __name__)


def init_app(app: Flask) -> None:
    """Register this part's hooks on ``app`` (the blueprint is registered by the extension)."""
