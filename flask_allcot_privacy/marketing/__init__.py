"""Marketing email: subscriptions with double opt-in, newsletters, unsubscribe, tracking.

The policy's promises: marketing email only to those who opted in (P20), system
email whatever the choice (P21), an unsubscribe link in every marketing email (P22),
opens and clicks tracked only as the subscriber allows (P23).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("privacy_marketing", __name__)


def init_app(app: Flask) -> None:
    """Template filters for tracked links, the CLI command, and the CSRF exemption."""
    from . import cli, tracking

    app.add_template_filter(tracking.track_html_links, "privacy_track_links")
    app.add_template_filter(tracking.track_text_links, "privacy_track_text")
    cli.register()
    # A host's CSRFProtect would refuse the RFC 8058 one-click POST, which carries no
    # token: the signed URL is its proof (see views.unsubscribe).
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(views.unsubscribe)


from . import views  # noqa: E402  (routes register on bp)
