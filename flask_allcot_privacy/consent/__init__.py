"""The cookie-consent banner, the settings page, consent records and script gating.

A host adds two lines to its base template (``{{ privacy_head() }}`` in
``<head>``, ``{{ privacy_consent_banner() }}`` before ``</body>``). Host code asks
:func:`allows` before doing anything a category covers.
"""

from __future__ import annotations

import dataclasses
import typing as t

from flask import Blueprint, Flask, Response, g

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
    from . import fragments, rendering

    app.add_template_global(rendering.head, "privacy_head")
    app.add_template_global(rendering.banner, "privacy_consent_banner")
    app.add_template_global(rendering.script, "privacy_script")
    app.add_template_global(rendering.iframe, "privacy_iframe")
    app.add_template_global(allows, "privacy_consent_allows")
    app.add_template_global(fragments.template_fragment, "privacy_fragment")
    app.after_request(_save_gpc_decision)


def _save_gpc_decision(response: Response) -> Response:
    """Store a Global Privacy Control decision in the cookie; record it once the cookie is back.

    Recording only a decision the browser presents again means a client that keeps
    no cookies (a crawler, a flood of requests) never writes to the database. It runs
    after every response, so the usual case (consent read, nothing to save) is short.
    """
    from . import choice

    store = g._get_current_object()  # type: ignore[attr-defined]
    if not getattr(store, "_privacy_consent_consulted", False):
        return response
    # The page differs with the consent cookie and the GPC signal: caches must know.
    _vary_on(response, "Cookie", "Sec-GPC")
    if not hasattr(store, "_privacy_consent_unsaved") and not hasattr(
        store, "_privacy_consent_unrecorded"
    ):
        return response  # most pages: consent read, nothing to save
    unsaved = choice.take_unsaved()
    unrecorded = choice.take_unrecorded()
    if (unsaved is None and unrecorded is None) or response.status_code >= 400:
        return response
    from ..state import current_db
    from . import proof

    if unrecorded is not None:
        if proof.append_gpc_once(unrecorded):
            current_db().session.commit()
        if choice.is_current(unrecorded):
            choice.save(response, dataclasses.replace(unrecorded, unrecorded=False))
    if unsaved is not None:
        choice.save(response, unsaved)
    return response


def _vary_on(response: Response, *names: str) -> None:
    """Add ``names`` to ``Vary`` (werkzeug's ``response.vary`` parses it on every access)."""
    if "Vary" not in response.headers:
        response.headers["Vary"] = ", ".join(names)
        return
    current = ", ".join(response.headers.getlist("Vary"))
    listed = {part.strip().lower() for part in current.split(",")}
    missing = [name for name in names if name.lower() not in listed]
    if missing and "*" not in listed:
        response.headers["Vary"] = ", ".join(filter(None, [current, *missing]))


from . import views  # noqa: E402, F401  (routes register on bp)
