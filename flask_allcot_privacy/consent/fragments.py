"""HTML that is the same for every visitor, rendered once per process and reused.

The consent tags of ``privacy_head()`` and the banner depend only on the app's
configuration, the locale, the consent revision, the script root and (for the head)
which of a handful of consent states the visitor is in. Each is rendered the first
time its key is seen and kept in the app's state: it is derived from configuration,
not visitor data, so every worker renders the same bytes and a shared cache may hold
the page. The templates rendered this way must not use per-visitor data
(``current_user``, ``csrf_token()``, the session): that would be served to everyone.
"""

from __future__ import annotations

import typing as t

from flask import Flask, current_app, g, request
from flask_babel import get_locale
from markupsafe import Markup

from ..state import state_for
from . import catalogue

#: More keys than any site has locales times consent states; past it the cache restarts.
MAX_ENTRIES = 512


def page_key() -> tuple[t.Any, ...]:
    """What the fragments of this request depend on, besides the consent state."""
    # Runs on every page: each context-local proxy read costs calls, so read each once.
    store = g._get_current_object()  # type: ignore[attr-defined]
    found: tuple[t.Any, ...] | None = getattr(store, "_privacy_fragment_key", None)
    if found is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        config = app.config
        found = (
            _locale(app, store),
            catalogue.revision(app, store),
            request.script_root,
            config["PRIVACY_SITE_NAME"],
            config["PRIVACY_ANALYTICS_ID"],
        )
        store._privacy_fragment_key = found
    return found


def _locale(app: Flask, store: t.Any) -> str:
    """The request's locale; without a locale selector, the default's name as configured.

    Flask-Babel parses the default locale again on every request; the key needs
    only its name.
    """
    babel = app.extensions.get("babel")
    chosen = getattr(getattr(store, "_flask_babel", None), "babel_locale", None)  # force_locale too
    if chosen is None and getattr(babel, "locale_selector", True) is None:
        return str(babel.default_locale)  # type: ignore[union-attr]
    return str(chosen or get_locale())


T = t.TypeVar("T")


def cached(key: t.Hashable, render: t.Callable[[], T]) -> T:
    """The HTML for ``key``, rendered by ``render`` the first time this process sees it.

    With template auto-reload on (debug mode) nothing is kept, so edited templates show.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.jinja_env.auto_reload:
        return render()
    store = state_for(app).derived
    if key in store:
        kept: T = store[key]
        return kept
    value = render()
    if len(store) >= MAX_ENTRIES:
        store.clear()
    store[key] = value
    return value


def template_fragment(name: str, caller: t.Callable[[], str]) -> Markup:
    """``{% call privacy_fragment("name") %}...{% endcall %}``: the body, rendered once.

    Once per locale and consent revision, like the banner; the body must not use
    per-visitor data. The login page uses it for its fields on a GET.
    """
    return cached(("fragment", name, page_key()), lambda: Markup(caller()))  # noqa: S704  # nosec B704
