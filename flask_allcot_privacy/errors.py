"""Error pages: the page answering an emailed link that cannot be used."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _

from . import tokens


def token_problem(error: tokens.TokenError) -> tuple[str, int]:
    """A page that says why an emailed link cannot be used, and offers a new one."""
    messages = {
        "expired": _("This link has expired."),
        "used": _("This link was already used, or a newer one was sent."),
        "invalid": _("This link is not valid. Check that you copied all of it."),
    }
    body = render_template(
        "privacy/errors/error.html",
        title=_("This link cannot be used"),
        message=messages[error.reason] + " " + _("You can ask for a new link below."),
        link=(url_for("privacy_accounts.reset_password"), _("Send me a new link")),
    )
    return body, 410 if error.reason in ("expired", "used") else 400
