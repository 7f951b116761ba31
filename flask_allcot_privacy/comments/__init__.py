"""Comments on host content: the blueprint, the Jinja helper and the IP/user-agent log.

Hosts show a target's comments and the form with ``{{ privacy_comments("post:12") }}``.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from .bodies import render_body
from .thread import privacy_comments

bp = Blueprint("privacy_comments", __name__)


def init_app(app: Flask) -> None:
    """Register this part's hooks on ``app`` (the blueprint is registered by the extension)."""
    app.add_template_global(privacy_comments, "privacy_comments")
    app.add_template_filter(render_body, "privacy_comment_body")


from . import views  # noqa: E402, F401  (routes register on bp)
