"""Access control: every route for 5 kinds of visitor, IDOR on every route with an id,
and mass assignment (``role``, ``username``, ``is_staff``... ignored on every form)."""

from __future__ import annotations

import itertools
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import IntegerConverter

from example_site import db
from flask_allcot_privacy.models import ROLES, User
from flask_allcot_privacy.staff.guard import require_role

from ..helpers import CookieCheckingClient
from .conftest import WHO
from .surface import forms_on_pages, page_urls, rules, url_for_rule

STAFF_PREFIXES = ("privacy_staff.",)


def _needed_role(app: Flask, endpoint: str) -> str | None:
    view = app.view_functions[endpoint]
    return t.cast(str | None, getattr(view, "required_role", None) or _guard_role(view))


def _guard_role(view: t.Any) -> str | None:
    for cell in getattr(view, "__closure__", None) or ():
        value = cell.cell_contents
        if isinstance(value, str) and value in ROLES:
            return value
    return None


def _reaches(who: str, role: str) -> bool:
    return who in ROLES and ROLES.index(who) >= ROLES.index(role)


def test_the_staff_matrix_for_five_kinds_of_visitor(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient]
) -> None:
    """Each GET staff route answers 200 to exactly the roles that reach it."""
    staff_rules = [r for r in rules(app) if r.endpoint.startswith(STAFF_PREFIXES)]
    assert staff_rules
    for who in WHO:
        client = client_as(who)
        for rule in staff_rules:
            if "GET" not in (rule.methods or set()):
                continue
            role = _needed_role(app, rule.endpoint)
            assert role is not None, f"{rule.endpoint} has no role guard"
            response = client.get(url_for_rule(app, rule))
            if _reaches(who, role):
                assert response.status_code in (200, 400, 404), (
                    who,
                    rule.rule,
                    response.status_code,
                )
            else:
                assert response.status_code in (302, 403), (who, rule.rule, response.status_code)
                assert response.status_code == (302 if who == "anonymous" else 403)


def _id_rules(app: Flask) -> list[t.Any]:
    return [
        r
        for r in rules(app)
        if any(isinstance(c, IntegerConverter) for c in r._converters.values())
        or any(name.endswith("id") for name in r.arguments)
    ]


def test_every_route_with_an_id_answers_alike_for_every_id_to_those_it_refuses(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    """IDOR: a visitor refused a route is refused the same way whether the id exists."""
    found = _id_rules(app)
    assert found, "no route with an id"
    ids = [seeded["member"].id, seeded["admin"].id, 1, 987654]
    for who, rule in itertools.product(("anonymous", "member", "staff"), found):
        client = client_as(who)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answers = set()
            for value in ids:
                name = next(iter(rule.arguments))
                response = client.open(url_for_rule(app, rule, **{name: value}), method=method)
                answers.add(response.status_code)
                assert response.status_code != 200 or method == "GET", (who, rule.rule)
            role = _needed_role(app, rule.endpoint)
            if role is not None and not _reaches(who, role):
                assert len(answers) == 1, (who, rule.rule, answers)
                assert answers <= {302, 403}, (who, rule.rule, answers)


def test_a_private_profile_looks_like_no_profile(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    for who in ("anonymous", "staff"):
        client = client_as(who)
        private = client.get(f"/account/u/{seeded['member'].username}")
        missing = client.get("/account/u/nobody-at-all")
        assert private.status_code == missing.status_code == 404


MASS = {
    "role": "admin",
    "username": "renamed",
    "is_staff": "y",
    "is_admin": "y",
    "id": "1",
    "user_id": "1",
    "credential_version": "0",
    "password_hash": "x",
    "erased_at": "2020-01-01",
    "status": "approved",
    "email_key": "admin@example.test",
}


@pytest.mark.parametrize("extra_config", [{"PRIVACY_RATELIMIT_ENABLED": False}])
def test_extra_fields_are_ignored_on_every_form(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    with app.app_context():
        roles_before = dict(db.session.execute(sa.select(User.username, User.role)).all())
    for who in ("anonymous", "member", "staff"):
        client = client_as(who)
        for form in forms_on_pages(client, page_urls(app)):
            if form.action.endswith("/account/logout"):
                continue
            data = {**form.values, **{k: v for k, v in MASS.items() if k not in form.values}}
            if "email" in form.values and not form.values["email"]:
                data["email"] = f"mass-{who}@example.test"
            if "username" in form.text_fields and form.action.endswith("/register"):
                data["username"] = f"mass-{who}"
            response = client.post(form.action, data=data)
            assert response.status_code < 500, form.action
    with app.app_context():
        now = dict(db.session.execute(sa.select(User.username, User.role)).all())
    assert "renamed" not in now
    for username, role in now.items():
        assert role == roles_before.get(username), (username, role)
    assert all(now[name] is None for name in now if name.startswith("mass-"))


def test_the_guard_is_what_the_matrix_reads(app: Flask) -> None:
    """The matrix above finds each route's role from its guard: prove it can."""

    @require_role("admin")
    def probe() -> str:
        return "x"

    assert _guard_role(probe) == "admin"
