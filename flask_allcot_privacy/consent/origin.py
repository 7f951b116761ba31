"""Forgery protection for the consent POST without a per-visitor token.

The banner is the same HTML for every visitor, so it cannot carry a token bound to
a session (and issuing one would set a cookie on every page). Its POST is checked
instead with the headers a browser adds and a page cannot forge (OWASP's "verifying
origin with standard headers"). A decision is accepted when

1. ``Sec-Fetch-Site`` is ``same-origin`` (sent by every current browser); without it,
2. ``Origin`` is this site (sent by browsers on every POST); without a usable one,
3. ``Referer`` is a page of this site; or, none of these being sent,
4. the form carries a valid Flask-WTF ``csrf_token`` (a client holding a session).

Evidence of another origin (``Sec-Fetch-Site`` ``cross-site``, ``same-site`` or ``none``,
an ``Origin`` or ``Referer`` of another host) is refused whatever else is sent, and
so is a POST that proves nothing. ``WTF_CSRF_ENABLED = False`` turns the check off,
as it does for every other form.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

#: Why a POST was refused: another site sent it, or it says nothing of where it is from.
CROSS_SITE, UNPROVEN = "cross-site", "unproven"


def _same_host(url: str) -> bool | None:
    """True when ``url`` is on this host, False when on another, None when it tells nothing."""
    if not url or url == "null":
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return parts.netloc.lower() == request.host.lower()


def refusal() -> str | None:
    """Why this POST may not change the visitor's consent, or None when it may."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site == "same-origin" else CROSS_SITE
    for header in ("Origin", "Referer"):
        same = _same_host(request.headers.get(header, ""))
        if same is not None:
            return None if same else CROSS_SITE
    token = request.form.get("csrf_token")
    if token:
        try:
            validate_csrf(token)
        except ValidationError:
            return UNPROVEN
        return None
    return UNPROVEN
