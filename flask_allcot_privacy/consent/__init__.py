"""The cookie-consent banner, the settings page, consent records and script gating.

A host adds two lines to its base template (``{{ privacy_head() }}`` in
``<head>``, ``{{ privacy_consent_banner() }}`` before ``</body>``). Host code asks
:func:`allows` before doing anything a category covers.
"""

from __future__ import annotations

import dataclasses
import typing as t

from flask import Blueprint, Flask, Response

bp = Blueprint("privacy_consent", __name__)


def allows(category: str) -> bool:
    """True when the current visitor consented to ``category`` (``necessary`` always is)."""
    from .choice import current

    return current().allows(category)


@bp.context_processor
def _describe() -> dict[str, t.Any]:
    from .catalogue import template_helpers

    return template_helpers()


def init_app(app: Flask) -> None:
    """Register the template globals and the hook that saves and records a GPC decision."""
    from . import rendering

    app.add_template_global(rendering.head, "privacy_head")
    app.add_template_global(rendering.banner, "privacy_consent_banner")
    app.add_template_global(rendering.script, "privacy_script")
    app.add_template_global(rendering.iframe, "privacy_iframe")
    app.add_template_global(allows, "privacy_consent_allows")
    app.after_request(_save_gpc_decision)


def _save_gpc_decision(response: Response) -> Response:
    """Store a Global Privacy Control decision in the cookie; record it once the cookie is back.

    Recording only a decision the browser presents again means a client that keeps
    no cookies (a crawler, a flood of requests) never writes to the database.
    """
    from ..state import current_db
    from . import choice, proof

    if not choice.was_consulted():
        return response
    # The page differs with the consent cookie and the GPC signal: caches must know.
    response.vary.add("Cookie")
    response.vary.add("Sec-GPC")
    unsaved = choice.take_unsaved()
    unrecorded = choice.take_unrecorded()
    if response.status_code >= 400:
        return response
    if unrecorded is not None:
        if proof.append_gpc_once(unrecorded):
            current_db().session.commit()
        if choice.is_current(unrecorded):
            choice.save(response, dataclasses.replace(unrecorded, unrecorded=False))
    if unsaved is not None:
        choice.save(response, unsaved)
    return response


from . import views  # noqa: E402, F401  (routes register on bp)
