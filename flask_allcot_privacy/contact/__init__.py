"""The contact form: messages stored with email, IP and browser, copied to staff."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("privacy_contact", __name__)


def init_app(app: Flask) -> None:
    """Register this part's hooks on ``app`` (the blueprint is registered by the extension)."""


from . import views  # noqa: E402, F401  (routes register on bp)
