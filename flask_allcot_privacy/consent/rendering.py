"""Template globals: the head tags, the banner and script gating.

A host adds ``{{ privacy_head() }}`` inside ``<head>`` and
``{{ privacy_consent_banner() }}`` before ``</body>``. ``privacy_script`` and
``privacy_iframe`` mark third-party code as belonging to a consent category:
without consent it is rendered inert (a ``text/plain`` script, an iframe with
no ``src``), with consent it is rendered live, and ``consent.js`` brings inert
elements to life at the moment the visitor consents.
"""

from __future__ import annotations

import re
import typing as t

from flask import current_app, g, has_request_context, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..cookies import ANALYTICS, MARKETING, NECESSARY, PREFERENCES
from ..headers import csp_nonce
from . import catalogue, choice, fragments

#: Google Consent Mode v2 signals each category grants.
CONSENT_MODE = {
    NECESSARY: ["security_storage"],
    PREFERENCES: ["functionality_storage", "personalization_storage"],
    ANALYTICS: ["analytics_storage"],
    MARKETING: ["ad_storage", "ad_user_data", "ad_personalization"],
}

_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9:.-]*$")
#: What would end an inert ``<script>`` early or switch the HTML parser's script state.
_SCRIPT_BREAKOUT = re.compile(r"</script|<!--", re.IGNORECASE)
#: Attributes the gating sets; a caller passing one could make inert code live.
_SCRIPT_RESERVED = frozenset({"src", "nonce", "data-privacy-category", "data-privacy-type"})
_IFRAME_RESERVED = frozenset(
    {"src", "srcdoc", "title", "data-privacy-category", "data-privacy-src"}
)


def head() -> Markup:
    """The consent CSS and script, Consent Mode defaults, and the gated GA4 loader.

    Rendered once per locale, consent revision and consent state (see :mod:`.fragments`).
    """
    if not has_request_context():
        return _NOTHING  # an email or a page rendered by a command: no visitor to ask
    g._get_current_object()._privacy_head_rendered = True  # type: ignore[attr-defined]
    consent = choice.current()
    nonce = csp_nonce()
    key = ("head", fragments.page_key(), consent.decided, consent.granted, bool(nonce))
    if not nonce:
        # Rendered by a template with autoescape on: safe to mark as markup.
        return fragments.cached(key, lambda: Markup(_render_head(consent)))  # noqa: S704  # nosec B704
    # The extension's own pages carry this response's script nonce: the head is kept
    # with a stand-in for it, put in place on every page (a nonce is URL-safe base64).
    kept = fragments.cached(key, lambda: _with_nonce(NONCE_PLACEHOLDER, _render_head, consent))
    return Markup(kept.replace(NONCE_PLACEHOLDER, nonce))  # noqa: S704  # nosec B704


#: Stands for the response's nonce in a kept head; never a real nonce (URL-safe base64,
#: which holds no dot).
NONCE_PLACEHOLDER = "privacy-nonce.8c1f0e4d5b"


def _with_nonce(nonce: str, render: t.Callable[..., str], *args: t.Any) -> str:
    """``render(*args)`` while :func:`csp_nonce` answers ``nonce``."""
    real = g.get("_privacy_csp_nonce")
    g._privacy_csp_nonce = nonce
    try:
        return render(*args)
    finally:
        g._privacy_csp_nonce = real


def _render_head(consent: choice.Consent) -> str:
    config = current_app.config
    settings = {
        "decided": consent.decided,
        "granted": consent.granted_list(),
        "endpoint": url_for("privacy_consent.decide"),
        "analyticsId": config["PRIVACY_ANALYTICS_ID"],
        "cookieExpires": int(config["PRIVACY_ANALYTICS_COOKIE_LIFETIME"].total_seconds()),
        "consentMode": {
            name: signals
            for name, signals in CONSENT_MODE.items()
            if name in catalogue.category_names()
        },
        "clear": {
            name: [
                {"name": c.cookie_name(), "pattern": c.pattern}
                for c in catalogue.client_cookies(name)
            ]
            for name in catalogue.optional_names()
        },
        "messages": {
            "saved": _("Your cookie choices are saved."),
            "failed": _("Your choice could not be saved. Please try again."),
        },
    }
    return render_template(
        "privacy/consent/head.html",
        consent_settings=settings,
        analytics_src=catalogue.analytics_script_url(),
    )


_NOTHING = Markup("")
#: Stands for the page's own address in the cached banner; replaced on every page.
_NEXT_PLACEHOLDER = "privacy-next-8c1f0e4d"


def banner() -> Markup:
    """The banner for a visitor who has not chosen yet; nothing once they have.

    A host that did not call :func:`head` gets its tags here, so this one line
    is all a base template needs. The banner carries no per-visitor token (the
    consent POST is checked by its ``Origin``, see :mod:`.origin`): its HTML is the
    same for every visitor of a page, rendered once per locale and consent revision.
    """
    if not has_request_context():
        return _NOTHING
    store = g._get_current_object()  # type: ignore[attr-defined]
    assets = _NOTHING if getattr(store, "_privacy_head_rendered", False) else head()
    consent = choice.current()
    page = request._get_current_object()  # type: ignore[attr-defined]
    if consent.decided or page.endpoint == "privacy_consent.cookie_settings":
        return assets
    before, after = fragments.cached(("banner", fragments.page_key()), _render_banner)
    if after is None:  # an overriding template without the "next" field
        return Markup(f"{assets}{before}")  # noqa: S704  # nosec B704
    here = page.full_path.rstrip("?") if page.method == "GET" else ""
    # An autoescaped template, and the page's address escaped for its attribute.
    return Markup(f"{assets}{before}{escape(here)}{after}")  # noqa: S704  # nosec B704


def _render_banner() -> tuple[str, str | None]:
    """The banner's HTML, split where the page's address goes."""
    html = render_template(
        "privacy/consent/banner.html",
        source="banner",
        next_url=_NEXT_PLACEHOLDER,
        categories=catalogue.categories(),
    )
    before, found, after = html.partition(_NEXT_PLACEHOLDER)
    return (before, after) if found else (html, None)


def script(
    category: str,
    src: str | None = None,
    inline: str | None = None,
    **attributes: t.Any,
) -> Markup:
    """A ``<script>`` that runs only with consent to ``category``.

    :param src: an external script; or pass the code as ``inline`` (the host's own
        code, never visitor input: it is not escaped, and code holding ``</script``
        or ``<!--`` is refused because it would end or change the inert element).
    :param attributes: more attributes; ``async_=True`` renders ``async``,
        ``data_x="1"`` renders ``data-x="1"``. A ``type`` such as ``module`` is kept in
        ``data-privacy-type`` while the script is inert and restored when it runs.
    """
    values = _caller_attributes(attributes, reserved=_SCRIPT_RESERVED)
    wanted_type = values.pop("type", None)
    if inline and _SCRIPT_BREAKOUT.search(inline):
        raise ValueError(
            "Inline code holding '</script' or '<!--' would end or change the gated "
            "<script> element; write '<\\/script' and '<\\!--' inside strings instead."
        )
    values["src"] = src
    # On the extension's own pages only: host pages carry no per-request value.
    values["nonce"] = csp_nonce() or None
    values["data-privacy-category"] = category
    # Set last, so nothing a caller passes can make an unconsented script live.
    if _allowed(category):
        values["type"] = wanted_type
    else:
        values["data-privacy-type"] = wanted_type
        values["type"] = "text/plain"
    # The host's own code from its template; documented as never holding visitor input.
    if not inline:
        inline = ""
    body = Markup(inline)  # noqa: S704  # nosec B704
    return Markup("<script{}>{}</script>").format(_attributes(values), body)


def iframe(category: str, src: str, title: str, **attributes: t.Any) -> Markup:
    """An ``<iframe>`` that loads ``src`` only with consent to ``category``.

    Without consent it shows a short note instead (``srcdoc``); ``consent.js``
    swaps in ``src`` when the visitor consents.
    """
    values = _caller_attributes(attributes, reserved=_IFRAME_RESERVED)
    handlers = sorted(name for name in values if name.startswith("on"))
    if handlers:
        # The inert frame still loads its note, so a handler would run before consent.
        raise ValueError(
            f"privacy_iframe() takes no event handler attributes ({', '.join(handlers)}): "
            "they run whether or not the visitor consented."
        )
    values["title"] = title
    values["data-privacy-category"] = category
    if _allowed(category):
        values["src"] = src
    else:
        values["data-privacy-src"] = src
        note = _(
            "This content is shown only if you allow %(category)s cookies in the cookie settings.",
            category=_category_label(category),
        )
        # A plain str, so the note's HTML is escaped once more as the attribute's value.
        values["srcdoc"] = str(
            Markup('<p style="font-family:sans-serif;color:#1f2933;padding:1rem">{}</p>').format(
                note
            )
        )
    return Markup("<iframe{}></iframe>").format(_attributes(values))


def _allowed(category: str) -> bool:
    if category not in catalogue.category_names():
        raise ValueError(
            f"Unknown consent category {category!r}; "
            f"PRIVACY_CONSENT_CATEGORIES has {', '.join(catalogue.category_names())}."
        )
    return choice.current().allows(category)


def _category_label(name: str) -> str:
    for category in catalogue.categories():
        if category.name == name:
            return str(category.label).lower()
    return name


def _attribute_name(key: str) -> str:
    """``async_`` -> ``async``, ``data_x`` -> ``data-x``; lower case, as HTML compares them."""
    name = key.rstrip("_").replace("_", "-").lower()
    if not _ATTRIBUTE_NAME.match(name):
        raise ValueError(f"{key!r} is not an HTML attribute name.")
    return name


def _caller_attributes(attributes: dict[str, t.Any], reserved: frozenset[str]) -> dict[str, t.Any]:
    """A caller's attributes by their HTML name, refusing the ones gating sets itself.

    Names are compared as HTML does (case-insensitively): a browser keeps the first
    of two equal names, so ``TYPE="module"`` must not slip in beside our ``type``.
    """
    values: dict[str, t.Any] = {}
    for key, value in attributes.items():
        name = _attribute_name(key)
        if name in reserved:
            raise ValueError(f"{name!r} is set by the consent gating; it cannot be passed.")
        if name in values:
            raise ValueError(f"The attribute {name!r} is given twice.")
        values[name] = value
    return values


def _attributes(values: dict[str, t.Any]) -> Markup:
    """Render attributes, escaping every value; ``None`` and ``False`` are left out."""
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(Markup(" {}").format(name))
        else:
            parts.append(Markup(' {}="{}"').format(name, value))
    return Markup("").join(parts)
