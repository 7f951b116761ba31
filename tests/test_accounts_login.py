"""Logins and their cookies (P11 to P15): lifetimes, flags, server-side revocation."""

from __future__ import annotations

import hashlib
import typing as t
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import LoginSession, User

from .helpers import (
    HOST,
    PASSWORD,
    CookieCheckingClient,
    field_error,
    form_error,
    log_in,
    set_cookie,
    soup,
)


def _near(moment: datetime | None, expected: datetime, slack: int = 5) -> bool:
    return moment is not None and abs((moment - expected).total_seconds()) <= slack


def _sessions(app: Flask) -> list[LoginSession]:
    with app.app_context():
        return list(db.session.scalars(sa.select(LoginSession).order_by(LoginSession.id)))


def _copy_cookies(app: Flask, source: CookieCheckingClient) -> CookieCheckingClient:
    """A second browser holding copies of the first one's cookies."""
    thief = t.cast(CookieCheckingClient, app.test_client())
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name, domain=HOST)
        if cookie is not None:
            thief.set_cookie(name, cookie.value, domain=HOST)
    return thief


def test_login_page_sets_the_test_cookie(client: CookieCheckingClient) -> None:
    """P11: a browser-session cookie with no personal data."""
    cookie = set_cookie(client.get("/account/login"), "privacy_test_cookie")
    assert cookie is not None
    assert cookie["expires"] is None
    assert cookie["max_age"] is None, "discarded when the browser closes"
    assert cookie["value"] == "1"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_login_without_the_test_cookie_says_cookies_are_needed(
    client: CookieCheckingClient, member: User
) -> None:
    page = client.get("/account/login")
    client.delete_cookie("privacy_test_cookie", domain=HOST)
    fields = {f["name"]: f.get("value", "") for f in soup(page).select("input[name]")}
    response = client.post(
        "/account/login", data={**fields, "username": member.username, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "must accept cookies" in form_error(response)
    assert _sessions(client.application) == []


def test_login_lasts_two_days_without_remember_me(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    """P12: the login cookie expires two days after login, HttpOnly, SameSite=Lax."""
    response = log_in(client, member.username)
    assert response.status_code == 302
    session = set_cookie(response, "session")
    assert _near(session["expires"], utcnow() + timedelta(days=2))
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert set_cookie(response, "remember_token") is None
    [row] = _sessions(app)
    assert _near(row.expires_at, utcnow() + timedelta(days=2))
    assert row.remember is False


def test_remember_me_lasts_two_weeks(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    """P14: "Remember Me" keeps the login for two weeks."""
    response = log_in(client, member.username, remember=True)
    remember = set_cookie(response, "remember_token")
    assert remember is not None
    assert _near(remember["expires"], utcnow() + timedelta(days=14))
    assert remember["httponly"]
    assert remember["samesite"] == "Lax"
    [row] = _sessions(app)
    assert _near(row.expires_at, utcnow() + timedelta(days=14))


def test_cookies_are_secure_over_https(client: CookieCheckingClient, member: User) -> None:
    client.get("/account/login", base_url="https://blog.test")
    page = client.get("/account/login", base_url="https://blog.test")
    fields = {f["name"]: f.get("value", "") for f in soup(page).select("input[name]")}
    response = client.post(
        "/account/login",
        base_url="https://blog.test",
        data={**fields, "username": member.username, "password": PASSWORD, "remember": "y"},
    )
    assert response.status_code == 302
    assert set_cookie(response, "session")["secure"]
    assert set_cookie(response, "remember_token")["secure"]


def test_the_server_stores_only_a_hash_of_the_login_token(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    log_in(client, member.username, remember=True)
    token = client.get_cookie("remember_token", domain=HOST).value.split("|", 1)[0]
    [row] = _sessions(app)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.user_agent.startswith("Werkzeug")
    assert row.ip_address == "127.0.0.1"
    with app.app_context():
        dump = "\n".join(
            str(r) for r in db.session.execute(sa.text("select * from privacy_login_session"))
        )
    assert token not in dump


def test_login_expires_on_the_server_after_two_days(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    log_in(client, member.username)
    thief = _copy_cookies(app, client)
    with time_machine.travel(utcnow() + timedelta(days=1, hours=23)):
        assert thief.get("/account/profile").status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=2, minutes=1)):
        assert thief.get("/account/profile").status_code == 302
        assert client.get("/account/profile").status_code == 302


def test_remembered_login_ends_after_two_weeks(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    log_in(client, member.username, remember=True)
    remember_only = t.cast(CookieCheckingClient, app.test_client())
    remember = client.get_cookie("remember_token", domain=HOST)
    remember_only.set_cookie("remember_token", remember.value, domain=HOST)
    with time_machine.travel(utcnow() + timedelta(days=13)):
        assert remember_only.get("/account/profile").status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=14, minutes=1)):
        assert remember_only.get("/account/profile").status_code == 302


def test_logout_removes_the_login_cookies_and_revokes_the_session(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    """P15: logging out removes the login cookies; a copy of them stops working."""
    log_in(client, member.username, remember=True)
    thief = _copy_cookies(app, client)
    assert thief.get("/account/profile").status_code == 200
    profile = client.get("/account/profile")
    logout_form = soup(profile).select_one("form[action$='/account/logout']")
    token = logout_form.select_one("input[name=csrf_token]")["value"]
    response = client.post("/account/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert set_cookie(response, "session")["deleted"]
    assert set_cookie(response, "remember_token")["deleted"]
    [row] = _sessions(app)
    assert row.revoked_at is not None
    assert thief.get("/account/profile").status_code == 302
    assert "logged out" in soup(client.get(response.location)).get_text()


def test_logout_needs_post_and_csrf(app: Flask, logged_in: CookieCheckingClient) -> None:
    assert logged_in.get("/account/logout").status_code == 405
    assert logged_in.post("/account/logout").status_code == 400
    assert logged_in.get("/account/profile").status_code == 200
    assert _sessions(app)[0].revoked_at is None


def test_failed_logins_get_one_generic_message(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    wrong_password = log_in(client, member.username, "not-the-password")
    unknown_user = log_in(client, "nobody", "not-the-password")
    assert wrong_password.status_code == unknown_user.status_code == 400
    assert form_error(wrong_password) == form_error(unknown_user)
    assert "username or password is not right" in form_error(wrong_password)
    assert soup(wrong_password).select_one("input[name=password]").get("value") in (None, "")
    assert _sessions(app) == []


def test_a_member_without_a_password_cannot_log_in(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    """P1: until the emailed link sets a password, no password opens the account.

    A real, non-empty password is posted, so the form lets it through to the account
    check (an empty one is refused by the form before any account is looked up).
    """
    make_member("pending", password=None)
    for guess in (PASSWORD, "decoy password for unknown accounts", "x"):
        response = log_in(client, "pending", guess)
        assert response.status_code == 400, guess
        assert "username or password is not right" in form_error(response)
    assert _sessions(app) == []
    assert client.get("/account/profile").status_code == 302


def test_login_attempts_are_limited_per_account(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    app.config["PRIVACY_LOGIN_LIMIT_PER_ACCOUNT"] = "3 per 15 minutes"
    for _ in range(3):
        assert log_in(client, member.username, "wrong-wrong-wrong").status_code == 400
    limited = log_in(client, member.username, PASSWORD)
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    # Another account from the same browser is not blocked by this one's limit.
    assert log_in(client, "someone-else", "wrong-wrong-wrong").status_code == 400


def test_login_attempts_are_limited_per_ip(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    app.config["PRIVACY_LOGIN_LIMIT_PER_IP"] = "3 per 15 minutes"
    for name in ("a1", "a2", "a3"):
        assert log_in(client, name, "wrong-wrong-wrong").status_code == 400
    assert log_in(client, member.username, PASSWORD).status_code == 429


SAFE_NEXT = ["/account/profile", "/posts/cookies-explained?x=1#c"]
UNSAFE_NEXT = [
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "%5C%5Cevil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "///evil.example",
    "/\t/evil.example",
    " //evil.example",
    "https:/\\evil.example",
]


def _log_in_with_next(client: CookieCheckingClient, member: User, target: str) -> t.Any:
    """Log in from a login link whose ``next`` carries ``target``, fully URL-encoded."""
    return client.submit(
        f"/account/login?next={quote(target, safe='')}",
        {"username": member.username, "password": PASSWORD},
    )


@pytest.mark.parametrize("target", SAFE_NEXT)
def test_next_is_followed_on_the_same_host(
    client: CookieCheckingClient, member: User, target: str
) -> None:
    assert _log_in_with_next(client, member, target).location == target


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_next_to_another_host_is_refused(
    client: CookieCheckingClient, member: User, target: str
) -> None:
    """CVE-2021-32618 and CVE-2023-49438 style open redirects."""
    response = _log_in_with_next(client, member, target)
    assert response.status_code == 302
    assert response.location == "/account/profile"


def test_account_pages_are_not_cached(
    client: CookieCheckingClient, logged_in: CookieCheckingClient
) -> None:
    for url in (
        "/account/login",
        "/account/register",
        "/account/reset-password",
        "/account/profile",
    ):
        assert logged_in.get(url).headers["Cache-Control"] == "private, no-store", url


def test_last_seen_is_recorded_at_most_every_five_minutes(
    app: Flask, logged_in: CookieCheckingClient
) -> None:
    [row] = _sessions(app)
    start = row.last_seen_at
    logged_in.get("/account/profile")
    assert _sessions(app)[0].last_seen_at == start
    later = utcnow() + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        logged_in.get("/account/profile")
    assert _near(_sessions(app)[0].last_seen_at, later.astimezone(UTC))


@pytest.mark.parametrize(("username", "password"), [("", PASSWORD), ("reader", ""), ("", "")])
def test_empty_login_fields_are_answered_beside_them(
    app: Flask, client: CookieCheckingClient, member: User, username: str, password: str
) -> None:
    response = log_in(client, username, password)
    assert response.status_code == 400
    for field, value in (("username", username), ("password", password)):
        assert bool(field_error(response, field)) == (value == "")
    assert _sessions(app) == []


def test_login_signals(app: Flask, client: CookieCheckingClient, member: User) -> None:
    """Hosts hear of logins, failures (never with the password) and logouts."""
    from flask_allcot_privacy import signals

    heard: list[tuple[str, t.Any]] = []

    def on(name: str) -> t.Callable[..., None]:
        def receiver(sender: Flask, **extra: t.Any) -> None:
            # Keep ids: the member object is only usable during the request.
            heard.append((name, {k: getattr(v, "id", v) for k, v in extra.items()}))

        return receiver

    receivers = {
        signals.login_failed: on("failed"),
        signals.user_logged_in: on("in"),
        signals.user_logged_out: on("out"),
    }
    for signal, receiver in receivers.items():
        signal.connect(receiver, app)
    try:
        log_in(client, member.username, "wrong-password-here")
        log_in(client, member.username, remember=True)
        client.submit("/account/profile", {}, form_selector="form[action$='/account/logout']")
    finally:
        for signal, receiver in receivers.items():
            signal.disconnect(receiver, app)
    assert [name for name, _ in heard] == ["failed", "in", "out"]
    assert heard[0][1] == {"username": member.username}
    assert heard[1][1]["remember"] is True
    assert heard[1][1]["user"] == heard[2][1]["user"] == member.id


def test_username_and_email_share_one_allowance(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    app.config["PRIVACY_LOGIN_LIMIT_PER_ACCOUNT"] = "4 per 15 minutes"
    for typed in (member.username, member.email, member.username.upper(), member.email):
        assert log_in(client, typed, "wrong-wrong-wrong").status_code == 400
    assert log_in(client, member.email.upper(), PASSWORD).status_code == 429


def test_an_ipv6_client_is_limited_by_its_64_bit_network(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    """Stepping through addresses of one /64 does not escape the per-IP limit."""
    app.config["PRIVACY_LOGIN_LIMIT_PER_IP"] = "3 per 15 minutes"
    statuses = [
        client.submit(
            "/account/login",
            {"username": f"guess{n}", "password": "wrong-wrong-wrong"},
            environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{n + 1:x}"},
        ).status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    other_network = client.submit(
        "/account/login",
        {"username": member.username, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"},
    )
    assert other_network.status_code == 302


def test_login_starts_a_fresh_flask_session(client: CookieCheckingClient, member: User) -> None:
    """Session fixation: nothing planted in the session before login survives it."""
    client.get("/account/login")
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "fixated"
        planted["_id"] = "attacker-chosen-identifier"
        planted["_user_id"] = "attacker-chosen-login-token"
    assert log_in(client, member.username).status_code == 302
    with client.session_transaction() as after:
        assert "planted_by_attacker" not in after
        assert after.get("_id") != "attacker-chosen-identifier"
        assert after.get("_user_id") not in (None, "attacker-chosen-login-token")
    assert client.get("/account/profile").status_code == 200
