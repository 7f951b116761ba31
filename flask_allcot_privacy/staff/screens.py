"""The staff screens that exist in this app, and which role reaches each.

Read from the app's URL map, so a screen another part adds to the staff blueprint
shows up in the staff navigation and on the home page as soon as it exists, under
the role its guard requires; nothing links to a screen that is not there.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..models import ROLES

#: How each role is named on screen.
ROLE_LABELS: dict[str, t.Any] = {
    "staff": _l("Staff"),
    "privacy_officer": _l("Privacy officer"),
    "admin": _l("Admin"),
}

#: Titles and summaries of the staff screens, in the order they are listed. A part adds
#: its own with :func:`describe`; a screen not described is listed by its endpoint name.
KNOWN_SCREENS: dict[str, tuple[t.Any, t.Any]] = {
    "privacy_staff.home": (
        _l("Directory"),
        _l("Find members by username or email: username, first name, last name, email."),
    ),
    "privacy_staff.consent_records": (
        _l("Consent records"),
        _l("Look up the proof of what a visitor consented to."),
    ),
    "privacy_staff.moderation": (
        _l("Held comments"),
        _l("Approve or delete comments awaiting moderation."),
    ),
    "privacy_staff.roles": (
        _l("Roles"),
        _l("See who holds a staff role, and assign or remove roles."),
    ),
    "privacy_staff.audit": (
        _l("Audit trail"),
        _l("Who viewed whose data and who did what, filtered by staff member and date."),
    ),
}


def describe(endpoint: str, title: t.Any, summary: t.Any, *, before: str | None = None) -> None:
    """Give a staff screen its title and summary on the staff home and in the navigation.

    :param before: list it before this endpoint (by default, after those described).
    """
    entries = [(key, value) for key, value in KNOWN_SCREENS.items() if key != endpoint]
    at = next((i for i, (key, _) in enumerate(entries) if key == before), len(entries))
    entries.insert(at, (endpoint, (title, summary)))
    KNOWN_SCREENS.clear()
    KNOWN_SCREENS.update(entries)


@dataclass(frozen=True)
class Screen:
    """A staff screen a link can point to (a GET route without URL arguments)."""

    endpoint: str
    role: str
    title: t.Any
    summary: t.Any


def _order(screen: Screen) -> tuple[int, int, str]:
    known = list(KNOWN_SCREENS)
    position = known.index(screen.endpoint) if screen.endpoint in known else len(known)
    return (ROLES.index(screen.role), position, screen.endpoint)


def all_screens(app: Flask | None = None) -> list[Screen]:
    """Every linkable staff screen of ``app``, least privileged first."""
    app = app or current_app
    screens: dict[str, Screen] = {}
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if not endpoint.startswith("privacy_staff.") or rule.arguments:
            continue
        if "GET" not in (rule.methods or ()):
            continue
        view = app.view_functions[endpoint]
        role = getattr(view, "privacy_required_role", None)
        if role is None or not getattr(view, "privacy_screen", True):
            continue
        name = endpoint.split(".", 1)[1].replace("_", " ").capitalize()
        title, summary = KNOWN_SCREENS.get(endpoint, (name, ""))
        screens[endpoint] = Screen(endpoint, role, title, summary)
    return sorted(screens.values(), key=_order)


def reachable() -> list[Screen]:
    """The screens the logged-in member's role reaches."""
    if not current_user.is_authenticated:
        return []
    return [screen for screen in all_screens() if current_user.has_role(screen.role)]


def nav() -> list[dict[str, t.Any]]:
    """Links for the staff navigation: title, URL and whether it is the current page."""
    return [
        {
            "title": screen.title,
            "url": url_for(screen.endpoint),
            "current": request.endpoint == screen.endpoint,
        }
        for screen in reachable()
    ]


def by_role() -> list[tuple[str, t.Any, list[Screen]]]:
    """For each role: its key, its label and the screens it adds to the roles below it."""
    screens = all_screens()
    return [(role, ROLE_LABELS[role], [s for s in screens if s.role == role]) for role in ROLES]
