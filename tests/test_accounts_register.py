"""Registration and password links (P1 to P4), clicked from real email."""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from argon2 import PasswordHasher
from flask import Flask

from example_site import db
from flask_allcot_privacy import signals
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import User

from .helpers import (
    PASSWORD,
    CookieCheckingClient,
    SMTPSink,
    field_error,
    links_in,
    log_in,
    main_text,
    path_of,
    soup,
    text_body,
)


def _users(app: Flask) -> list[User]:
    with app.app_context():
        return list(db.session.scalars(sa.select(User)))


def _password_link(smtp: SMTPSink, address: str) -> str:
    [link] = [u for u in links_in(smtp.last_to(address)) if "/account/set-password/" in u]
    return path_of(link)


def register(client: CookieCheckingClient, username: str, email: str, **extra: t.Any) -> t.Any:
    return client.submit("/account/register", {"username": username, "email": email, **extra})


def test_form_asks_username_email_and_an_unticked_opt_in(client: CookieCheckingClient) -> None:
    """P1, P2: a username and an email; advice not to use one's real name."""
    page = soup(client.get("/account/register"))
    form = page.select_one("form[method=post]")
    names = {f["name"] for f in form.select("input[name]")}
    assert {"username", "email", "marketing_opt_in", "csrf_token"} <= names
    assert not form.select_one("input[name=marketing_opt_in]").has_attr("checked")
    hint = page.select_one("#username-hint").get_text()
    assert "not to use or include your real name" in hint
    assert "cannot be changed" in hint


def test_register_set_password_and_log_in(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P1, P3, P4: the account is stored and the email's link sets the password."""
    received: list[str] = []

    def on_registered(sender: Flask, user: User) -> None:
        received.append(user.username)

    with signals.user_registered.connected_to(on_registered, app):
        response = register(client, "ann", "Ann@Example.test")
    assert response.status_code == 302
    assert response.location.endswith("/account/check-email")
    [user] = _users(app)
    assert (user.username, user.email, user.password_hash) == ("ann", "Ann@example.test", None)
    assert received == ["ann"]

    message = smtp.last_to("Ann@example.test")
    assert message["Subject"] == "Set your password for ALLCOT Blog"
    assert "24 hours" in text_body(message)
    form_page = client.get(_password_link(smtp, "Ann@example.test"))
    assert soup(form_page).select_one("input[name=password_confirm]") is not None
    done = client.submit(
        _password_link(smtp, "Ann@example.test"),
        {"password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert done.status_code == 302
    [user] = _users(app)
    assert user.password_hash.startswith("$argon2id$")
    assert log_in(client, "ann").status_code == 302
    other_browser = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(other_browser, "ann@example.test").status_code == 302, "email logs in too"


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Choose a username."),
        ("ab", "Use 3 to 60 characters."),
        ("x" * 61, "Use 3 to 60 characters."),
        ("ann lee", "Use only letters, digits"),
        ("<script>", "Use only letters, digits"),
    ],
)
def test_bad_username_is_answered_beside_the_field(
    app: Flask, client: CookieCheckingClient, username: str, message: str
) -> None:
    response = register(client, username, "ann@example.test")
    assert response.status_code == 400
    assert message in field_error(response, "username")
    assert soup(response).select_one("input[name=email]")["value"] == "ann@example.test"
    assert _users(app) == []


def test_usernames_are_unique_regardless_of_case(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("Ann", "first@example.test")
    response = register(client, "aNN", "second@example.test")
    assert response.status_code == 400
    assert "taken" in field_error(response, "username")
    assert len(_users(app)) == 1


@pytest.mark.parametrize("email", ["", "not-an-email", "ann@", "a@b@c.test", "ann@localhost"])
def test_bad_email_is_answered_beside_the_field(
    app: Flask, client: CookieCheckingClient, email: str
) -> None:
    response = register(client, "ann", email)
    assert response.status_code == 400
    assert field_error(response, "email")
    assert soup(response).select_one("input[name=username]")["value"] == "ann"
    assert _users(app) == []


def test_reserved_test_domain_is_refused_by_default(tmp_path: t.Any) -> None:
    from .helpers import make_host_app

    app = make_host_app(tmp_path, PRIVACY_EMAIL_ALLOW_TEST_DOMAINS=False)
    app.test_client_class = CookieCheckingClient
    response = app.test_client().submit(
        "/account/register", {"username": "ann", "email": "ann@example.test"}
    )
    assert response.status_code == 400


def test_known_email_gets_the_same_answer_and_a_notice(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    """Registration never reveals whether an address has an account."""
    make_member("owner", "owner@example.test")
    fresh = register(client, "newcomer", "fresh@example.test")
    known = register(client, "intruder", "OWNER@example.test")
    assert (known.status_code, known.location) == (fresh.status_code, fresh.location)
    page_fresh, page_known = client.get(fresh.location), client.get(known.location)
    assert main_text(page_fresh) == main_text(page_known)
    assert {u.username for u in _users(app)} == {"owner", "newcomer"}
    notice = smtp.last_to("owner@example.test")
    assert "already has an account" in text_body(notice)
    assert not any("/set-password/" in link for link in links_in(notice))


def test_marketing_opt_in_is_recorded_with_its_time(
    app: Flask, client: CookieCheckingClient
) -> None:
    register(client, "ann", "ann@example.test", marketing_opt_in=True)
    register(client, "bob", "bob@example.test")
    users = {u.username: u for u in _users(app)}
    assert users["ann"].marketing_opt_in is True
    assert users["ann"].marketing_opt_in_at is not None
    assert users["bob"].marketing_opt_in is False
    assert users["bob"].marketing_opt_in_at is None


def test_posted_fields_the_form_does_not_offer_are_ignored(
    app: Flask, client: CookieCheckingClient
) -> None:
    register(client, "ann", "ann@example.test", role="admin", password_hash="x")
    [user] = _users(app)
    assert user.role is None
    assert user.password_hash is None


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short-Pw1!", "short-Pw1!", "at least 12 characters"),
        ("password1234", "password1234", "too common"),
        (PASSWORD, PASSWORD + "x", "The two passwords differ."),
        ("x" * 1025, "x" * 1025, "at most 1024"),
    ],
)
def test_password_rules(
    app: Flask,
    client: CookieCheckingClient,
    smtp: SMTPSink,
    password: str,
    confirm: str,
    message: str,
) -> None:
    register(client, "ann", "ann@example.test")
    response = client.submit(
        _password_link(smtp, "ann@example.test"),
        {"password": password, "password_confirm": confirm},
    )
    assert response.status_code == 400
    errors = field_error(response, "password") + field_error(response, "password_confirm")
    assert message in errors
    assert _users(app)[0].password_hash is None


def test_set_password_link_is_single_use(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    register(client, "ann", "ann@example.test")
    link = _password_link(smtp, "ann@example.test")
    client.submit(link, {"password": PASSWORD, "password_confirm": PASSWORD})
    again = client.get(link)
    assert again.status_code == 410
    page = soup(again)
    assert "already used" in page.get_text()
    assert page.select_one("a[href$='/account/reset-password']") is not None
    replay = client.post(
        link, data={"password": "another-long-passphrase-9", "password_confirm": "x"}
    )
    assert replay.status_code == 410


def test_set_password_link_expires_after_a_day(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    register(client, "ann", "ann@example.test")
    link = _password_link(smtp, "ann@example.test")
    with time_machine.travel(utcnow() + timedelta(hours=24, minutes=1)):
        expired = client.get(link)
    assert expired.status_code == 410
    assert "expired" in soup(expired).get_text()


def test_tampered_link_is_refused(client: CookieCheckingClient, smtp: SMTPSink) -> None:
    register(client, "ann", "ann@example.test")
    link = _password_link(smtp, "ann@example.test")
    response = client.get(link[:-3] + "abc")
    assert response.status_code == 400
    assert "not valid" in soup(response).get_text()


def test_password_is_rehashed_when_parameters_change(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    app.config["PRIVACY_ARGON2_TIME_COST"] = 2
    assert log_in(client, member.username).status_code == 302
    with app.app_context():
        stored = db.session.get(User, member.id).password_hash
    assert (
        PasswordHasher(time_cost=2, memory_cost=8, parallelism=1).check_needs_rehash(stored)
        is False
    )
