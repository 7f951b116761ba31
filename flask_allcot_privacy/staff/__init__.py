"""The staff area: roles, the directory, the audit trail and the privacy tools.

Every route on ``bp`` is guarded by :func:`.guard.require_role`; a test walks the
URL map and fails for any staff route without it. Staff pages hold personal data,
so no browser or proxy may keep them and no search engine may index them.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, Flask, Response
from flask_babel import gettext as _

from .. import screen_options

bp = Blueprint("privacy_staff", __name__)
# A list's ?per_page= is kept in the screen-options cookie, like the form's choice.
bp.after_request(screen_options.remember_address_choice)


@bp.after_request
def _private_and_unindexed(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.errorhandler(403)
def _forbidden(error: t.Any) -> t.Any:
    """A refusal that says why (the role), instead of the general 403 page."""
    from ..errors import error_response

    return error_response(
        403,
        _("Your role does not reach this page. Ask an admin if your work needs it."),
        title=_("You cannot open this page"),
    )


def init_app(app: Flask) -> None:
    """Give templates the staff navigation (the screens the member's role reaches)."""
    from . import screens

    app.add_template_global(screens.nav, "privacy_staff_nav")


# Each module adds its routes to bp, every one behind guard.require_role.
from . import (  # noqa: E402, F401
    audit_trail,
    breaches,
    consent_records,
    moderation,
    policy_versions,
    requests,
    roles,
    views,
)
