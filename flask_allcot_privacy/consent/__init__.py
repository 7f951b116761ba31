"""The cookie-consent banner, the settings page, consent records and script gating."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("privacy_consent", __name__)


def init_app(app: Flask) -> None:
    """Register this part's hooks on ``app`` (the blueprint is registered by the extension)."""
