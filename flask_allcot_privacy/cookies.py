"""The cookie registry: every cookie the extension sets, declared once.

Each :class:`CookieSpec` names a cookie, says why it exists, which consent
category it belongs to and how long it lives. The extension sets and deletes
its cookies only through :func:`set_cookie` and :func:`delete_cookie`, and the
policy page renders its cookie table from :func:`declared`. A test fails if any
response carries a cookie that is not declared here.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, Response, current_app, request
from flask_babel import lazy_gettext as _l

__all__ = [
    "ANALYTICS",
    "CONSENT_CATEGORIES",
    "MARKETING",
    "NECESSARY",
    "PREFERENCES",
    "CookieSpec",
    "declare",
    "declared",
    "delete_cookie",
    "secure_flag",
    "set_cookie",
    "spec",
]

#: The consent categories, in the order the banner shows them.
NECESSARY, PREFERENCES, ANALYTICS, MARKETING = (
    "necessary",
    "preferences",
    "analytics",
    "marketing",
)
#: The categories a site has unless ``PRIVACY_CONSENT_CATEGORIES`` says otherwise.
CONSENT_CATEGORIES = (NECESSARY, PREFERENCES, ANALYTICS, MARKETING)


@dataclass(frozen=True)
class CookieSpec:
    """A declared cookie.

    :param key: the registry key the code uses, stable whatever the name is.
    :param name: the cookie name before ``PRIVACY_COOKIE_PREFIX``; ``name_setting``
        takes the name from a config key instead (Flask's and Flask-Login's cookies).
    :param lifetime_setting: the config key holding the lifetime; ``None`` means the
        cookie ends with the browser session.
    :param set_by: ``extension`` when this package sets it, or the library/script that does.
    :param pattern: for cookies set by third-party scripts, a name prefix such as ``_ga``.
    """

    key: str
    name: str
    purpose: t.Any
    category: str
    lifetime_setting: str | None = None
    name_setting: str | None = None
    http_only: bool = True
    set_by: str = "extension"
    pattern: bool = False

    def cookie_name(self, app: Flask | None = None) -> str:
        """The name on the wire for this app."""
        config = (app or current_app).config
        if self.name_setting is not None:
            return str(config.get(self.name_setting, self.name))
        if self.set_by != "extension":
            return self.name
        return f"{config['PRIVACY_COOKIE_PREFIX']}{self.name}"

    def lifetime(self, app: Flask | None = None) -> timedelta | None:
        """How long the cookie lives, or ``None`` for a browser-session cookie."""
        if self.lifetime_setting is None:
            return None
        return t.cast(timedelta, (app or current_app).config[self.lifetime_setting])


_REGISTRY: dict[str, CookieSpec] = {}


def declare(spec: CookieSpec) -> CookieSpec:
    """Add a cookie to the registry; a key is declared once."""
    if spec.key in _REGISTRY and _REGISTRY[spec.key] != spec:
        raise ValueError(f"Cookie {spec.key!r} is already declared differently.")
    _REGISTRY[spec.key] = spec
    return spec


def declared() -> list[CookieSpec]:
    """Every declared cookie, in declaration order."""
    return list(_REGISTRY.values())


def spec(key: str) -> CookieSpec:
    """The declared cookie for ``key``; an undeclared key is a programming error."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise LookupError(
            f"Cookie {key!r} is not declared. Declare it in cookies.py with declare()."
        ) from None


def is_declared_name(name: str, app: Flask | None = None) -> bool:
    """True when a cookie called ``name`` on the wire is declared for this app."""
    for entry in _REGISTRY.values():
        wire = entry.cookie_name(app)
        if name == wire or (entry.pattern and name.startswith(wire)):
            return True
    return False


def secure_flag() -> bool:
    """Whether cookies set now get the Secure flag: the one place this is decided.

    ``PRIVACY_COOKIE_SECURE = "auto"`` means exactly when the request came over HTTPS
    (as the trusted proxies report it); ``True`` or ``False`` fix it.
    """
    setting = current_app.config["PRIVACY_COOKIE_SECURE"]
    if setting == "auto":
        return bool(request) and request.is_secure
    return bool(setting)


def set_cookie(response: Response, key: str, value: str) -> None:
    """Set a declared cookie with its declared lifetime and the extension's flags."""
    entry = spec(key)
    lifetime = entry.lifetime()
    response.set_cookie(
        entry.cookie_name(),
        value,
        max_age=lifetime,
        httponly=entry.http_only,
        secure=secure_flag(),
        samesite="Lax",
        path=current_app.config.get("SESSION_COOKIE_PATH") or "/",
    )


def delete_cookie(response: Response, key: str, name: str | None = None) -> None:
    """Delete a declared cookie (expire it now).

    :param name: for a ``pattern`` cookie, the name on the wire (``_ga_ABC123``); it
        must start with the declared name.
    """
    entry = spec(key)
    wire = entry.cookie_name()
    if name is not None and name != wire and not (entry.pattern and name.startswith(wire)):
        raise ValueError(f"Cookie {name!r} is not covered by the declaration {key!r}.")
    response.delete_cookie(
        name or wire,
        path=current_app.config.get("SESSION_COOKIE_PATH") or "/",
        secure=secure_flag(),
        httponly=entry.http_only,
        samesite="Lax",
    )


def add_secure_flag(response: Response) -> Response:
    """Mark every cookie of the response Secure when :func:`secure_flag` says so.

    Flask-Login reads a fixed ``REMEMBER_COOKIE_SECURE``; this covers ``"auto"`` on HTTPS.
    """
    if not secure_flag():
        return response
    headers = response.headers.getlist("Set-Cookie")
    if not headers:
        return response
    response.headers.remove("Set-Cookie")
    for header in headers:
        flags = {part.strip().lower() for part in header.split(";")[1:]}
        response.headers.add("Set-Cookie", header if "secure" in flags else f"{header}; Secure")
    return response


# -- The extension's own cookies ------------------------------------------------------

declare(
    CookieSpec(
        key="session",
        name="session",
        name_setting="SESSION_COOKIE_NAME",
        purpose=_l(
            "Keeps you logged in and protects forms against forgery. "
            "Holds only a login session id, which the server can revoke."
        ),
        category=NECESSARY,
        lifetime_setting="PRIVACY_SESSION_LIFETIME",
        set_by="Flask",
    )
)
declare(
    CookieSpec(
        key="remember",
        name="remember_token",
        name_setting="REMEMBER_COOKIE_NAME",
        purpose=_l('Keeps you logged in for two weeks when you tick "Remember Me".'),
        category=NECESSARY,
        lifetime_setting="PRIVACY_REMEMBER_LIFETIME",
        set_by="Flask-Login",
    )
)
declare(
    CookieSpec(
        key="test_cookie",
        name="privacy_test_cookie",
        purpose=_l(
            "Checks that your browser accepts cookies before you log in. "
            "Holds no personal data and is discarded when you close the browser."
        ),
        category=NECESSARY,
    )
)
declare(
    CookieSpec(
        key="screen_options",
        name="privacy_screen_options",
        purpose=_l("Remembers screen options on staff pages, such as how many rows to show."),
        category=PREFERENCES,
        lifetime_setting="PRIVACY_SCREEN_OPTIONS_LIFETIME",
    )
)
declare(
    CookieSpec(
        key="consent",
        name="privacy_consent",
        purpose=_l("Remembers which cookie categories you allowed, so we do not ask again."),
        category=NECESSARY,
        lifetime_setting="PRIVACY_CONSENT_LIFETIME",
    )
)
for _key, _what in (
    ("comment_author", _l("your name")),
    ("comment_author_email", _l("your email address")),
    ("comment_author_url", _l("your website")),
):
    declare(
        CookieSpec(
            key=_key,
            name=_key,
            purpose=_l(
                'Fills in %(what)s on the comment form, only if you tick "Remember me".',
                what=_what,
            ),
            category=PREFERENCES,
            lifetime_setting="PRIVACY_COMMENT_AUTHOR_LIFETIME",
        )
    )
