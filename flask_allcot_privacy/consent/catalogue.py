"""What a visitor is asked to consent to: the categories, their services and their cookies.

Everything here is derived from configuration and the cookie registry, never
kept between requests. :func:`revision` digests all of it, so declaring a new
cookie or listing a new processor changes the revision and every visitor is
asked again: a new tracker can never ride on an old consent.
"""

from __future__ import annotations

import hashlib
import json
import operator
import typing as t
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app, g
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from .. import cookies
from ..cookies import ANALYTICS, MARKETING, NECESSARY, PREFERENCES, CookieSpec
from ..state import state_for

#: Google Analytics' own cookies. GA sets them in the browser, so the extension
#: declares them to list them in the policy and to clear them on withdrawal.
GA_COOKIES = (
    cookies.declare(
        CookieSpec(
            key="ga",
            name="_ga",
            purpose=_l("Google Analytics: tells visits apart to count visitors, in aggregate."),
            category=ANALYTICS,
            lifetime_setting="PRIVACY_ANALYTICS_COOKIE_LIFETIME",
            http_only=False,
            set_by="Google Analytics",
        )
    ),
    cookies.declare(
        CookieSpec(
            key="ga_session",
            name="_ga_",
            purpose=_l("Google Analytics: keeps the state of one visit (one cookie per site id)."),
            category=ANALYTICS,
            lifetime_setting="PRIVACY_ANALYTICS_COOKIE_LIFETIME",
            http_only=False,
            set_by="Google Analytics",
            pattern=True,
        )
    ),
)

GA_SCRIPT_URL = "https://www.googletagmanager.com/gtag/js?id={id}"

_LABELS: dict[str, tuple[t.Any, t.Any]] = {
    NECESSARY: (
        _l("Strictly necessary"),
        _l(
            "Needed for the site to work: logging in, protecting forms, remembering "
            "your cookie choices. Always on, and never used to track you."
        ),
    ),
    PREFERENCES: (
        _l("Preferences"),
        _l("Remember choices you make, such as your name on the comment form or screen options."),
    ),
    ANALYTICS: (
        _l("Analytics"),
        _l("Count visits and see, in aggregate, which pages are read, so we can improve them."),
    ),
    MARKETING: (
        _l("Marketing"),
        _l("Advertising and social media pixels that measure campaigns and show you ads."),
    ),
}


@dataclass(frozen=True)
class Category:
    """A consent category with the services and cookies that belong to it."""

    name: str
    label: t.Any
    description: t.Any
    services: list[dict[str, str]] = field(default_factory=list)
    cookies: list[CookieSpec] = field(default_factory=list)

    @property
    def always_on(self) -> bool:
        """Strictly necessary cookies need no consent; the category is not a toggle."""
        return self.name == NECESSARY


def category_names() -> list[str]:
    """The configured categories, in the order the banner shows them."""
    return list(current_app.config["PRIVACY_CONSENT_CATEGORIES"])


def optional_names() -> list[str]:
    """The categories a visitor may grant or refuse."""
    return [name for name in category_names() if name != NECESSARY]


def categories() -> list[Category]:
    """Every configured category with its services (processors) and declared cookies."""
    processors = current_app.config["PRIVACY_PROCESSORS"]
    result = []
    for name in category_names():
        label, description = _LABELS.get(
            name, (name.replace("_", " ").capitalize(), _l("Cookies and services of this kind."))
        )
        result.append(
            Category(
                name=name,
                label=label,
                description=description,
                services=[p for p in processors if p["category"] == name],
                cookies=[c for c in cookies.declared() if c.category == name],
            )
        )
    return result


def client_cookies(category: str) -> list[CookieSpec]:
    """Cookies of ``category`` that scripts set in the browser, which only the browser can clear."""
    return [c for c in cookies.declared() if c.category == category and not c.http_only]


def revision(app: Flask | None = None, store: t.Any = None) -> str:
    """A digest of everything consent is given to; it changes when any of it changes.

    That is every category, every declared cookie with its purpose and lifetime, and
    every field of every processor: a cookie that lives longer, or a service used for
    something new, is asked for again. The digest is computed once per process and
    again whenever a setting it depends on is given a new value or a cookie is
    declared (checked on every request; see :func:`_revision_inputs`). ``app`` and
    ``store`` are the current app and ``g``, for a caller that has them already.
    """
    store = g._get_current_object() if store is None else store  # type: ignore[attr-defined]
    found: str | None = getattr(store, "_privacy_revision", None)
    if found is not None:
        return found
    app = current_app._get_current_object() if app is None else app  # type: ignore[attr-defined]
    derived = state_for(app).derived
    inputs = _revision_inputs(app.config, derived)
    cached = derived.get("revision")
    if cached is not None and cached[0] == inputs:
        digest: str = cached[1]
    else:
        digest = _digest(app.config)
        derived["revision"] = (inputs, digest)
    store._privacy_revision = digest
    return digest


def _revision_inputs(config: t.Any, derived: dict[t.Any, t.Any]) -> tuple[t.Any, ...]:
    """What the revision is computed from, cheap to read and compare on every request.

    The declared cookies and the values of the settings they and the revision read,
    compared with ``==`` (which looks at identity first). Giving a setting a new value
    (``app.config["PRIVACY_PROCESSORS"] = [...]``), adding a key, adding or removing a
    processor or declaring a cookie is noticed on the next request. Like any Flask
    setting these are meant to be set before the app serves; a processor edited in
    place afterwards would not reach the other worker processes either.
    """
    specs = cookies.declared_specs()
    known = derived.get("revision-keys")
    if known is None or known[0] != specs:
        names = {"PRIVACY_COOKIE_PREFIX", "PRIVACY_CONSENT_CATEGORIES", "PRIVACY_PROCESSORS"}
        names |= {"PRIVACY_ANALYTICS_ID"}
        for spec in specs:
            names |= {key for key in (spec.lifetime_setting, spec.name_setting) if key}
        present = sorted(name for name in names if name in config)
        known = derived["revision-keys"] = (specs, operator.itemgetter(*present))
    return (
        specs,
        known[1](config),
        len(config),
        len(config["PRIVACY_PROCESSORS"]),
        len(config["PRIVACY_CONSENT_CATEGORIES"]),
    )


def _digest(config: t.Any) -> str:
    material = {
        "categories": category_names(),
        "cookies": sorted(
            (
                c.key,
                c.cookie_name(),
                c.category,
                c.set_by,
                c.pattern,
                c.http_only,
                _untranslated(c.purpose),
                _seconds(c.lifetime()),
            )
            for c in cookies.declared()
        ),
        "processors": sorted(
            sorted((str(k), _untranslated(v)) for k, v in p.items())
            for p in config["PRIVACY_PROCESSORS"]
        ),
        "analytics": bool(config["PRIVACY_ANALYTICS_ID"]),
    }
    encoded = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def _untranslated(text: t.Any) -> str:
    """The source text of a lazy translation, so the revision is the same in every language."""
    if isinstance(text, LazyString) and text._args and isinstance(text._args[0], str):
        return json.dumps([text._args[0], text._kwargs], sort_keys=True, default=str)
    return str(text)


def _seconds(lifetime: timedelta | None) -> float | None:
    return None if lifetime is None else lifetime.total_seconds()


def analytics_script_url() -> str | None:
    """The GA4 loader for ``PRIVACY_ANALYTICS_ID``, or ``None`` when analytics is off."""
    measurement_id = current_app.config["PRIVACY_ANALYTICS_ID"]
    if not measurement_id:
        return None
    from urllib.parse import quote

    return GA_SCRIPT_URL.format(id=quote(measurement_id, safe=""))


def lifetime_text(spec: CookieSpec) -> str:
    """How long a cookie lives, in words: "2 days", "6 months", "until you close the browser"."""
    from flask_babel import ngettext

    lifetime = spec.lifetime()
    if lifetime is None:
        return str(_l("Until you close the browser"))
    days = lifetime.total_seconds() / 86400
    if days < 1:
        hours = max(1, round(days * 24))
        return str(ngettext("%(num)d hour", "%(num)d hours", hours))
    if days % 365 == 0:
        return str(ngettext("%(num)d year", "%(num)d years", int(days // 365)))
    if days >= 60:
        return str(ngettext("%(num)d month", "%(num)d months", round(days / 30.44)))
    if days % 7 == 0:
        return str(ngettext("%(num)d week", "%(num)d weeks", int(days // 7)))
    return str(ngettext("%(num)d day", "%(num)d days", round(days)))


#: Libraries the site itself runs: their cookies are first-party, set by this site.
_FIRST_PARTY = ("extension", "Flask", "Flask-Login")


def owner_text(spec: CookieSpec) -> str:
    """Who sets a cookie: this site, or the named third party's script."""
    if spec.set_by in _FIRST_PARTY:
        return str(_l("This site"))
    return str(_l("%(owner)s (in your browser)", owner=spec.set_by))


def template_helpers() -> dict[str, t.Any]:
    """What the consent pages' templates use to describe categories and cookies."""
    return {
        "cookie_lifetime": lifetime_text,
        "cookie_owner": owner_text,
        "category_labels": {c.name: c.label for c in categories()},
    }
