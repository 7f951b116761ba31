"""Security headers on the extension's own pages (account, consent, contact, staff...).

Each of those pages gets a Content-Security-Policy with a fresh nonce: the scripts
the extension renders on them (``consent.js``, scripts gated by consent) carry it,
and ``'strict-dynamic'`` lets the scripts they load run too. Host pages are left as
the host sends them, and nothing rendered into a host page (the head tags, the
banner) carries a nonce, so an anonymous host page stays byte-identical for caches;
a host's own policy covers ``consent.js`` with ``'self'`` (see ``docs/security.rst``).

Hosts extend the policy with ``PRIVACY_CONTENT_SECURITY_POLICY`` (extra sources per
directive) or turn every header off with ``PRIVACY_SECURITY_HEADERS = False``.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_login import current_user

from .state import state_for

#: The blueprints whose pages are the extension's own.
OWN_BLUEPRINTS = frozenset(
    {
        "privacy_accounts",
        "privacy_comments",
        "privacy_consent",
        "privacy_contact",
        "privacy_requests",
        "privacy_staff",
    }
)
#: Query parameters whose value is a secret token (a held comment's link).
TOKEN_PARAMS = frozenset({"privacy_comment", "token"})

#: The extension's pages need nothing from elsewhere but what the host adds.
BASE_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'strict-dynamic'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "frame-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
#: What the gated Google Analytics loader needs once the visitor allows it.
ANALYTICS_SOURCES = {
    "script-src": ["https://www.googletagmanager.com"],
    "connect-src": [
        "https://*.google-analytics.com",
        "https://*.analytics.google.com",
        "https://*.googletagmanager.com",
    ],
    "img-src": ["https://*.google-analytics.com", "https://*.googletagmanager.com"],
}


def is_own_page() -> bool:
    """True while answering a request for one of the extension's own pages.

    Every blueprint of the extension is named ``privacy_...``, so a part added later
    (privacy requests, marketing) gets the headers without being listed.
    """
    if not has_request_context():
        return False
    endpoint = request.endpoint or ""  # Flask's request.blueprint splits it the same way
    blueprint = endpoint.rpartition(".")[0]
    return blueprint in OWN_BLUEPRINTS or blueprint.startswith("privacy_")


def csp_nonce() -> str:
    """This response's script nonce on the extension's pages; an empty string elsewhere.

    Host templates extending the base template may put ``nonce="{{ privacy_csp_nonce() }}"``
    on their own inline scripts so that they run on the extension's pages.
    """
    if not is_own_page() or not current_app.config["PRIVACY_SECURITY_HEADERS"]:
        return ""
    nonce: str | None = g.get("_privacy_csp_nonce")
    if nonce is None:
        nonce = g._privacy_csp_nonce = secrets.token_urlsafe(18)
    return nonce


def policy(nonce: str) -> str:
    """The Content-Security-Policy header value for an extension page.

    Built once per process from the settings it reads (again when one of them is given
    a new value), with a slot for each response's nonce.
    """
    config = current_app.config
    extra = config["PRIVACY_CONTENT_SECURITY_POLICY"]
    # repr: a dict edited in place is a new key too (the dict is small).
    inputs = (config["PRIVACY_ANALYTICS_ID"], repr(extra))
    derived = state_for(current_app).derived
    kept = derived.get("csp")
    if kept is None or kept[0] != inputs:
        kept = derived["csp"] = (
            inputs,
            _policy_around_nonce(config["PRIVACY_ANALYTICS_ID"], extra),
        )
    before, after = kept[1]
    return f"{before}{nonce}{after}"


def _policy_around_nonce(analytics_id: str | None, extra: dict[str, list[str]]) -> tuple[str, str]:
    """The policy as the text before and after the nonce's place."""
    slot = "\x00nonce\x00"  # cannot be in a source: header values hold no NUL
    directives = {name: list(sources) for name, sources in BASE_POLICY.items()}
    directives["script-src"].append(f"'nonce-{slot}'")
    extras = [extra]
    if analytics_id:
        extras.insert(0, ANALYTICS_SOURCES)
    for each in extras:
        for name, sources in each.items():
            for source in sources:
                if source not in directives.setdefault(name, []):
                    directives[name].append(source)
    text = "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in directives.items())
    before, _, after = text.partition(slot)
    return before, after


def holds_token() -> bool:
    """True when this page's address carries a secret (an emailed link's token)."""
    return bool((request.view_args or {}).get("token")) or any(
        name in TOKEN_PARAMS for name in request.args
    )


def add_security_headers(response: Response) -> Response:
    """Set the headers on the extension's pages; leave the host's own pages alone."""
    if not current_app.config["PRIVACY_SECURITY_HEADERS"] or not is_own_page():
        return response
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if holds_token():
        # The token must not travel to another site, or to this one's logs, in Referer.
        headers["Referrer-Policy"] = "no-referrer"
    else:
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.mimetype == "text/html":
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Content-Security-Policy", policy(csp_nonce()))
        # A member's page shows their name or email (the contact form, prefilled); a form
        # sent back with its errors shows what the visitor typed.
        if "Cache-Control" not in headers and (
            request.method != "GET" or current_user.is_authenticated
        ):
            keep_private(response)
    return response


def keep_private(response: Response) -> Response:
    """A response showing someone's personal data: no shared cache may keep it."""
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.add("Cookie")
    return response


def init_app(app: Flask) -> None:
    """Add the headers after every request and offer the nonce to templates."""
    app.after_request(add_security_headers)
    app.add_template_global(csp_nonce, "privacy_csp_nonce")
