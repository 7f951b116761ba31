"""What every page costs, guarded without timing it (the timings are in benchmarks/).

SQL statements are counted with SQLAlchemy's ``before_cursor_execute`` event; cookies
and bytes are read off the responses. A logged-in page issues at most one statement,
a page for a visitor who has already chosen issues none, an anonymous page view sets
no cookie and is the same for every visitor, so a shared cache may hold it.
"""

from __future__ import annotations

import contextlib
import typing as t
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask, render_template_string, request
from flask_babel import Babel
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy

from example_site import db
from flask_allcot_privacy import Privacy
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import LoginSession, User

from .helpers import FAST_HASHING, HOST, CookieCheckingClient, log_in, soup
from .test_consent import BANNER_FORM, decide

#: A host page: the example site's layout, the member's email, no query of the host's.
HOST_PAGE = """{% extends "base.html" %}{% block title %}Page{% endblock %}
{% block content %}<p id="who">{{ current_user.email if current_user.is_authenticated
else "nobody" }}</p>{% endblock %}"""


@pytest.fixture
def page(app: Flask) -> str:
    @app.route("/host-page")
    def host_page() -> str:
        return render_template_string(HOST_PAGE)

    return "/host-page"


@contextlib.contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    seen: list[str] = []

    def record(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def set_cookies(response: t.Any) -> list[str]:
    return [h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")]


# -- Anonymous visitors: no cookie, the same bytes, no query ------------------------------


def test_an_anonymous_page_view_sets_no_cookie(client: CookieCheckingClient, page: str) -> None:
    """Not the banner's CSRF token, not Flask-Login's ``_fresh``: nothing, view after view."""
    for path in (page, "/", "/privacy/policy", "/privacy/cookies", page, "/"):
        response = client.get(path)
        assert response.status_code == 200
        assert set_cookies(response) == [], f"{path} set {set_cookies(response)}"
    assert soup(client.get(page)).select_one(BANNER_FORM) is not None, "the banner is shown"


def test_two_anonymous_visitors_get_identical_bytes(app: Flask, page: str) -> None:
    """The banner holds nothing of the visitor's, so a shared cache may hold the page."""
    first = app.test_client(use_cookies=False)
    second = app.test_client(use_cookies=False)
    one = first.get(page, headers={"User-Agent": "Browser/1"})
    two = second.get(
        page, headers={"User-Agent": "Other/2"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert one.get_data() == two.get_data()
    assert soup(one).select_one(BANNER_FORM) is not None
    assert first.get(page).get_data() == one.get_data(), "and the same again later"


def test_an_anonymous_page_may_be_cached_and_says_what_it_varies_on(
    client: CookieCheckingClient, page: str
) -> None:
    response = client.get(page)
    assert "private" not in response.headers.get("Cache-Control", "")
    vary = {v.strip() for v in response.headers["Vary"].split(",")}
    # The banner and gated scripts follow the consent cookie; GPC hides the banner.
    assert {"Cookie", "Sec-GPC"} <= vary
    gpc = client.get(page, headers={"Sec-GPC": "1"})
    assert soup(gpc).select_one(BANNER_FORM) is None
    assert "private" in gpc.headers["Cache-Control"], "it sets the GPC decision's cookie"


def test_the_banner_keeps_the_page_address_for_browsers_without_javascript(
    client: CookieCheckingClient, page: str
) -> None:
    form = soup(client.get(f"{page}?a=1&b=<2>")).select_one(BANNER_FORM)
    assert form.select_one("input[name=next]")["value"] == f"{page}?a=1&b=<2>"
    other = soup(client.get("/privacy/policy")).select_one(BANNER_FORM)
    assert other.select_one("input[name=next]")["value"] == "/privacy/policy"


def test_anonymous_pages_issue_no_sql(app: Flask, client: CookieCheckingClient, page: str) -> None:
    """Neither before the visitor chose nor after (the choice lives in the signed cookie)."""
    client.get(page)
    with statements(app) as seen:
        client.get(page)
    assert seen == []
    decide(client, "reject_all", page=page)
    client.get(page)  # shows the "saved" message, which the session carried
    with statements(app) as seen:
        chosen = client.get(page)
    assert soup(chosen).select_one(BANNER_FORM) is None
    assert set_cookies(chosen) == []
    assert seen == [], "a visitor who has chosen costs no query"


# -- Members: one query, no write, private pages --------------------------------------------


def test_a_member_page_issues_one_query_and_is_private(
    app: Flask, page: str, logged_in: CookieCheckingClient
) -> None:
    """P12: the login is checked on the server on every request, with one indexed query."""
    logged_in.get(page)
    with statements(app) as seen:
        response = logged_in.get(page)
    assert soup(response).select_one("#who").get_text() == "reader@example.test"
    assert len(seen) == 1, seen
    assert "privacy_login_session" in seen[0]
    assert "privacy_user" in seen[0]
    assert set_cookies(response) == []
    assert "private" in response.headers["Cache-Control"]


def test_last_seen_is_written_once_per_interval_not_per_request(
    app: Flask, page: str, logged_in: CookieCheckingClient
) -> None:
    with time_machine.travel(utcnow(), tick=False) as traveller:
        for _ in range(3):
            with statements(app) as seen:
                logged_in.get(page)
            assert len(seen) == 1, "no write within the interval"
        traveller.shift(timedelta(minutes=6))
        with statements(app) as seen:
            logged_in.get(page)
        assert [s.split()[0] for s in seen] == ["SELECT", "UPDATE"]
        with statements(app) as seen:
            logged_in.get(page)
        assert len(seen) == 1


def test_revoking_a_login_on_the_server_takes_effect_at_once(
    app: Flask, page: str, logged_in: CookieCheckingClient
) -> None:
    """P15: nothing about the login is kept in process memory between requests."""
    assert soup(logged_in.get(page)).select_one("#who").get_text() == "reader@example.test"
    with app.app_context():
        db.session.execute(sa.update(LoginSession).values(revoked_at=utcnow()))
        db.session.commit()
    assert soup(logged_in.get(page)).select_one("#who").get_text() == "nobody"


def test_an_erased_member_is_logged_out_at_once(
    app: Flask, page: str, logged_in: CookieCheckingClient
) -> None:
    with app.app_context():
        db.session.execute(sa.update(User).values(erased_at=utcnow()))
        db.session.commit()
    assert soup(logged_in.get(page)).select_one("#who").get_text() == "nobody"


def test_the_login_page_is_private_and_carries_its_token(client: CookieCheckingClient) -> None:
    response = client.get("/account/login")
    assert "privacy_test_cookie" in set_cookies(response)
    assert "private" in response.headers["Cache-Control"]
    token = soup(response).select_one("form[method=post] input[name=csrf_token]")["value"]
    assert token, "the login form keeps its CSRF token"
    again = soup(client.get("/account/login")).select_one("input[name=csrf_token]")["value"]
    # The same session token, signed again (the signature carries the time).
    assert again.split(".")[0] == token.split(".")[0]


def test_a_member_can_still_log_in_and_errors_are_shown(
    client: CookieCheckingClient, member: User
) -> None:
    wrong = client.submit("/account/login", {"username": member.username, "password": "no"})
    assert wrong.status_code == 400
    assert soup(wrong).select_one("#username")["value"] == member.username
    assert log_in(client, member.username).status_code == 302


# -- Translations still apply, per locale ---------------------------------------------------


def _german(folder: Path) -> None:
    catalog = Catalog(locale="de")
    catalog.add("Reject all", "Alle ablehnen")
    catalog.add("Username or email address", "Benutzername oder E-Mail-Adresse")
    target = folder / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as out:
        write_mo(out, catalog)


def test_the_banner_and_login_page_are_rendered_once_per_locale(tmp_path: Path) -> None:
    """A host's translations reach the cached banner and login fields, each in its locale."""
    _german(tmp_path / "translations")
    app = Flask("host")
    app.config.update(
        SECRET_KEY="host-secret",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite'}",
        BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"),
        SERVER_NAME=HOST,
        **FAST_HASHING,
    )
    host_db, host_mail = SQLAlchemy(), Mail()
    host_db.init_app(app)
    host_mail.init_app(app)
    Babel(app, locale_selector=lambda: request.args.get("lang", "en"))
    Privacy().init_app(app, db=host_db, mail=host_mail)

    @app.route("/")
    def home() -> str:
        return render_template_string(
            "<html><body><main id='main'></main>{{ privacy_consent_banner() }}</body></html>"
        )

    client = app.test_client()

    def reject_label(path: str) -> str:
        found = soup(client.get(path)).select_one(f"{BANNER_FORM} button[value=reject_all]")
        return str(found.get_text())

    for _ in range(2):
        assert reject_label("/?lang=de") == "Alle ablehnen"
        assert reject_label("/") == "Reject all"
    german_login = soup(client.get("/account/login?lang=de")).select_one("label[for=username]")
    assert german_login.get_text() == "Benutzername oder E-Mail-Adresse"
    assert soup(client.get("/account/login")).select_one("label[for=username]").get_text() == (
        "Username or email address"
    )
