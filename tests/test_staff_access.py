"""Least privilege in the staff area: every staff route, every kind of visitor (P33).

The routes are read from ``app.url_map``, so a screen added to the staff area later is
checked too, and a staff route without the role guard fails here.
"""

from __future__ import annotations

import typing as t
import uuid
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter, Rule, UUIDConverter

from example_site import db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import (
    ROLES,
    BreachIncident,
    Comment,
    PolicyVersion,
    PrivacyRequest,
    User,
)
from flask_allcot_privacy.staff.guard import require_role

from .helpers import CookieCheckingClient, log_in, soup

#: Who asks: nobody logged in, a member without a role, then each role.
VISITORS = ("anonymous", "member", *ROLES)


def staff_rules(app: Flask) -> list[Rule]:
    """Every route under the staff prefix or on the staff blueprint."""
    prefix = app.config["PRIVACY_STAFF_URL_PREFIX"]
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("privacy_staff.")
        or rule.rule == prefix
        or rule.rule.startswith(prefix + "/")
    ]


def _sample(converter: t.Any) -> t.Any:
    """A value the converter accepts, so the request reaches the view (and its guard)."""
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, FloatConverter):
        return 1.0
    if isinstance(converter, UUIDConverter):
        return uuid.uuid4()
    if isinstance(converter, AnyConverter):
        return next(iter(converter.items))
    return "x"


def requests_for(app: Flask, values: dict[str, t.Any] | None = None) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) for every method of every staff route.

    ``values`` gives URL arguments by name (ids of rows that exist); any other argument
    gets a value its converter accepts.
    """
    found = []
    for rule in staff_rules(app):
        with app.test_request_context():
            arguments = {
                name: (values or {}).get(name, _sample(conv))
                for name, conv in rule._converters.items()
            }
            url = app.url_for(rule.endpoint, **arguments)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def existing_rows(app: Flask, make_member: t.Callable[..., User]) -> dict[str, t.Any]:
    """A row behind every id a staff URL takes, by argument name.

    A staff route with an argument not named here fails the matrix with a message
    saying so: add a row for it here, so the route is checked reaching a real page.
    """
    target = make_member("matrix-target")
    with app.app_context():
        held = Comment(target="post:1", body="Held.", author_email="a@example.test", status="held")
        db.session.add(held)
        # A confirmed privacy request, which the matrix's POST rejects with a reason.
        privacy_request = PrivacyRequest(
            email="asker@example.test",
            email_key="asker@example.test",
            request_type="export",
            state="confirmed",
            deadline=date.today(),
        )
        db.session.add(privacy_request)
        incident = BreachIncident(discovered_at=utcnow(), summary="A laptop was lost.")
        db.session.add(incident)
        db.session.add(
            PolicyVersion(number=1, summary="First.", text="", digest="d", cookie_digest="c")
        )
        db.session.commit()
        return {
            "user_id": target.id,
            "comment_id": held.id,
            "request_id": privacy_request.id,
            "incident_id": incident.id,
            "number": 1,
        }


#: What a POST to a staff route sends besides the CSRF token: every staff form's fields,
#: each with a valid value (forms ignore the fields they do not have).
POST_FIELDS = {
    "per_page": "25",
    "role": "staff",
    "summary": "What happened, or what changed.",
    "discovered_at": "2026-01-01T09:00",
    "notified_at": "2026-01-02T09:00",
    "how": "The authority's online form.",
    # The privacy request's page: reject it, with a reason.
    "action": "reject",
    "reason": "Test.",
}


def required_role(app: Flask, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "privacy_required_role", None)


def unguarded(app: Flask) -> list[str]:
    """Staff endpoints whose view does not declare the role it needs."""
    endpoints = {rule.endpoint for rule in staff_rules(app)}
    return [e for e in sorted(endpoints) if required_role(app, e) not in ROLES]


def test_every_staff_route_is_guarded_with_a_role(app: Flask) -> None:
    """P33: one mechanism guards every staff route; a route without it fails here."""
    endpoints = {rule.endpoint for rule in staff_rules(app)}
    assert {
        "privacy_staff.home",
        "privacy_staff.roles",
        "privacy_staff.member_role",
        "privacy_staff.audit",
    } <= endpoints
    assert unguarded(app) == [], "staff routes without @require_role"


def test_a_route_added_without_the_guard_is_caught(app: Flask) -> None:
    """The check is not vacuous: a bare view under the staff prefix is reported."""

    def bare() -> str:
        return "no guard"

    app.add_url_rule(app.config["PRIVACY_STAFF_URL_PREFIX"] + "/bare", "bare", bare)
    assert unguarded(app) == ["bare"]


def test_a_route_registered_before_its_guard_is_caught(app: Flask) -> None:
    """Decorators in the wrong order register the bare view: it must not pass as guarded."""

    @require_role("admin")
    @app.route(app.config["PRIVACY_STAFF_URL_PREFIX"] + "/backwards", endpoint="backwards")
    def backwards() -> str:
        return "no guard"

    assert unguarded(app) == ["backwards"]
    assert app.test_client().get("/staff/backwards").status_code == 200, "really unguarded"


@pytest.fixture
def visitor_client(
    request: pytest.FixtureRequest, app: Flask, make_member: t.Callable[..., User]
) -> tuple[str, CookieCheckingClient]:
    who = request.param
    client = t.cast(CookieCheckingClient, app.test_client())
    if who != "anonymous":
        make_member(f"who-{who}".replace("_", "-"), role=None if who == "member" else who)
        response = log_in(client, f"who-{who}".replace("_", "-"))
        assert response.status_code == 302
    return who, client


def _is_login_redirect(response: t.Any, url: str) -> bool:
    if response.status_code != 302:
        return False
    target = urlsplit(response.headers["Location"])
    return target.path == "/account/login" and parse_qs(target.query).get("next") == [url]


@pytest.mark.parametrize("visitor_client", VISITORS, indirect=True)
def test_each_route_lets_in_exactly_the_roles_that_reach_it(
    app: Flask,
    visitor_client: tuple[str, CookieCheckingClient],
    make_member: t.Callable[..., User],
) -> None:
    """P33: anonymous visitors log in, members get 403, each role reaches only its routes.

    A role that may enter gets the page itself: 200 for a GET of a real row, and for a
    valid POST (CSRF token and fields) the redirect that follows success. Every answer,
    refusals included, is private and unindexed.
    """
    who, client = visitor_client
    rows = existing_rows(app, make_member)
    page = client.get("/account/profile" if who != "anonymous" else "/account/login")
    token = soup(page).select_one("input[name=csrf_token]")["value"]
    problems: list[str] = []
    for rule in staff_rules(app):
        missing = set(rule.arguments) - set(rows)
        if missing:
            problems.append(f"{rule.rule}: add a row for {sorted(missing)} to existing_rows")
    for endpoint, method, url in requests_for(app, rows):
        needed = required_role(app, endpoint)
        assert needed is not None
        data = {"csrf_token": token, **POST_FIELDS} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        status = response.status_code
        where = f"{who} {method} {url} (needs {needed}) answered {status}"
        if "no-store" not in response.headers.get("Cache-Control", "") or "private" not in (
            response.headers.get("Cache-Control", "")
        ):
            problems.append(f"{where}: Cache-Control is {response.headers.get('Cache-Control')}")
        if response.headers.get("X-Robots-Tag") != "noindex":
            problems.append(f"{where}: no X-Robots-Tag: noindex")
        if who == "anonymous":
            if not _is_login_redirect(response, url):
                problems.append(f"{where}: expected a redirect to log in")
        elif who == "member" or ROLES.index(who) < ROLES.index(needed):
            if status != 403:
                problems.append(f"{where}: expected 403")
        elif method == "GET" and status != 200:
            problems.append(f"{where}: expected the page (200)")
        elif method == "POST" and (status not in (302, 303) or _is_login_redirect(response, url)):
            problems.append(f"{where}: expected the redirect after a valid POST")
    assert problems == [], "\n".join(problems)


def test_refusal_page_says_why_without_revealing_the_screen(
    client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("plain")
    log_in(client, "plain")
    response = client.get("/staff/audit")
    assert response.status_code == 403
    page = soup(response)
    assert page.select_one("main h1").get_text(strip=True) == "You cannot open this page"
    assert page.select_one("table") is None


def test_refusals_are_logged(
    client: CookieCheckingClient,
    make_member: t.Callable[..., User],
    caplog: pytest.LogCaptureFixture,
) -> None:
    member = make_member("curious")
    client.get("/staff/")
    log_in(client, "curious")
    client.get("/staff/roles")
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert any("/staff/" in m and "not logged in" in m for m in refusals)
    assert any(f"member {member.id}" in m and "needs admin" in m for m in refusals)


def test_demotion_takes_effect_on_the_members_next_request(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P33: an admin removes a role; the member's very next request is refused."""
    make_member("boss", role="admin")
    worker = make_member("worker", role="staff")
    admin_client = t.cast(CookieCheckingClient, app.test_client())
    staff_client = t.cast(CookieCheckingClient, app.test_client())
    log_in(admin_client, "boss")
    log_in(staff_client, "worker")
    assert staff_client.get("/staff/").status_code == 200

    response = admin_client.submit(
        f"/staff/members/{worker.id}/role",
        {"role": "none"},
        form_selector="form[action$='/role']",
    )
    assert response.status_code == 302

    # The old login was ended on the server: the copied cookie no longer logs in.
    after = staff_client.get("/staff/")
    assert _is_login_redirect(after, "/staff/")
    log_in(staff_client, "worker")
    assert staff_client.get("/staff/").status_code == 403


def test_promotion_from_the_command_line_takes_effect_at_once(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("rising")
    log_in(client, "rising")
    assert client.get("/staff/").status_code == 403

    result = app.test_cli_runner().invoke(args=["privacy", "set-role", "rising", "privacy_officer"])
    assert result.exit_code == 0, result.output

    assert _is_login_redirect(client.get("/staff/"), "/staff/")
    log_in(client, "rising")
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/roles").status_code == 403
