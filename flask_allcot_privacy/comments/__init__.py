"""Comments on host content: the blueprint, the Jinja helper and the IP/user-agent log."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("privacy_comments", __name__)


def init_app(app: Flask) -> None:
    """Register this part's hooks on ``app`` (the blueprint is registered by the extension)."""
