"""Tokens (tampered, expired, reused, other purpose) for every purpose in ``tokens.py``,
and sessions: revoked at logout, password change and role change; the Flask session is
cleared at login (no fixation)."""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from werkzeug.routing import Rule

from flask_allcot_privacy import tokens
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import User

from ..helpers import PASSWORD, CookieCheckingClient, SMTPSink, links_in, log_in, path_of, soup
from .surface import rules, snapshot, url_for_rule

PURPOSES = [value for value in vars(tokens).values() if isinstance(value, tokens.TokenPurpose)]
NEW_PASSWORD = "a-brand-new-passphrase-42"


def _tampered(token: str) -> list[str]:
    """The token with its payload, timestamp or signature changed, cut, or extended."""
    payload, _, rest = token.partition(".")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    return [
        flipped,
        token[:-5],
        token + "x",
        "x" + token,
        f"{payload}e30.{rest}",
        "",
        "..",
        "a.b.c",
    ]


def test_every_purpose_is_found() -> None:
    assert {p.name for p in PURPOSES} >= {"set-password", "change-email", "consent", "held-comment"}


@pytest.mark.parametrize("purpose", PURPOSES, ids=lambda p: p.name)
def test_a_tampered_token_is_refused_for_every_purpose(
    app: Flask, purpose: tokens.TokenPurpose
) -> None:
    with app.app_context():
        good = tokens.make(purpose, {"uid": 1, "stamp": "s"})
        assert tokens.read(purpose, good)["uid"] == 1
        for bad in _tampered(good):
            with pytest.raises(tokens.TokenInvalid):
                tokens.read(purpose, bad)


@pytest.mark.parametrize("purpose", PURPOSES, ids=lambda p: p.name)
def test_a_token_for_another_purpose_is_refused(app: Flask, purpose: tokens.TokenPurpose) -> None:
    with app.app_context():
        for other in PURPOSES:
            if other is not purpose:
                with pytest.raises(tokens.TokenInvalid):
                    tokens.read(purpose, tokens.make(other, {"uid": 1}))


@pytest.mark.parametrize("purpose", PURPOSES, ids=lambda p: p.name)
def test_an_expired_token_is_refused_for_every_purpose(
    app: Flask, purpose: tokens.TokenPurpose
) -> None:
    with app.app_context():
        good = tokens.make(purpose, {"uid": 1})
        later = utcnow() + app.config[purpose.max_age_setting] + timedelta(seconds=5)
        with time_machine.travel(later, tick=False), pytest.raises(tokens.TokenExpired):
            tokens.read(purpose, good)


def _token_rules(app: Flask) -> list[Rule]:
    return [r for r in rules(app) if "token" in r.arguments]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_token_route_refuses_tampered_and_foreign_tokens_without_a_change(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], method: str
) -> None:
    client = client_as("member")
    found = _token_rules(app)
    assert len(found) >= 2
    with app.app_context():
        # Every id key a link reads, so each route gets as far as checking the purpose.
        payload = {"uid": 1, "sid": 1, "cid": 1, "stamp": "x"}
        foreign = [tokens.make(p, payload) for p in PURPOSES]
    csrf = str(soup(client.get("/privacy/contact")).select_one("input[name=csrf_token]")["value"])
    for rule in found:
        if method not in (rule.methods or set()):
            continue
        tampered = [b for t in foreign for b in _tampered(t) if b]
        for bad in [*tampered, *foreign]:
            url = url_for_rule(app, rule, token=bad)
            before = snapshot(app)
            response = client.open(url, method=method, data={"csrf_token": csrf})
            assert response.status_code < 500, url
            if bad in tampered:
                # A tracking pixel answers with its image whatever the token: nothing else may.
                pixel = response.status_code == 200 and response.mimetype.startswith("image/")
                assert pixel or response.status_code in (400, 404, 410), (url, response.status_code)
            assert snapshot(app) == before, url


def _set_password_link(smtp: SMTPSink, address: str) -> str:
    links = [u for m in smtp.to(address) for u in links_in(m) if "/set-password/" in u]
    return path_of(links[-1])


def test_a_set_password_link_works_once_and_not_after_it_expires(
    app: Flask,
    client_as: t.Callable[[str], CookieCheckingClient],
    seeded: dict[str, User],
    smtp: SMTPSink,
) -> None:
    client = client_as("anonymous")
    client.submit("/account/reset-password", {"email": seeded["member"].email})
    link = _set_password_link(smtp, seeded["member"].email)
    fields = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert client.submit(link, fields).status_code == 302
    assert client.get(link).status_code == 410  # reused
    client.submit("/account/reset-password", {"email": seeded["member"].email})
    fresh = _set_password_link(smtp, seeded["member"].email)
    later = utcnow() + app.config["PRIVACY_SET_PASSWORD_WITHIN"] + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert client.get(fresh).status_code == 410  # expired


def _is_logged_in(client: CookieCheckingClient) -> bool:
    return client.get("/account/profile").status_code == 200


def _copy(app: Flask, client: CookieCheckingClient) -> CookieCheckingClient:
    """A second browser holding copies of ``client``'s cookies."""
    thief = t.cast(CookieCheckingClient, app.test_client())
    for cookie in client._cookies.values():
        thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return thief


def test_a_copied_login_stops_working_at_logout(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient]
) -> None:
    owner = client_as("member")
    thief = _copy(app, owner)
    assert _is_logged_in(thief)
    owner.submit("/account/profile", {}, form_selector="form[action$='/account/logout']")
    assert not _is_logged_in(thief)


def test_a_copied_login_stops_working_when_the_password_changes(
    app: Flask,
    client_as: t.Callable[[str], CookieCheckingClient],
    seeded: dict[str, User],
    smtp: SMTPSink,
) -> None:
    owner = client_as("member")
    thief = _copy(app, owner)
    elsewhere = client_as("anonymous")
    elsewhere.submit("/account/reset-password", {"email": seeded["member"].email})
    link = _set_password_link(smtp, seeded["member"].email)
    response = elsewhere.submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert not _is_logged_in(thief)
    assert not _is_logged_in(owner)


def test_a_copied_login_stops_working_when_the_role_changes(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    staff = client_as("staff")
    thief = _copy(app, staff)
    assert thief.get("/staff/").status_code == 200
    result = app.test_cli_runner().invoke(
        args=["privacy", "set-role", seeded["staff"].username, "none"]
    )
    assert result.exit_code == 0, result.output
    assert thief.get("/staff/").status_code != 200
    assert not _is_logged_in(thief)


def test_the_session_is_renewed_at_login(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    """Fixation: what an attacker planted in the session before login is gone after it,
    and the session cookie from before login is not the one after."""
    client = client_as("anonymous")
    client.get("/account/login")
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "yes"
    before = client.get_cookie("session", domain=app.config["SERVER_NAME"])
    assert log_in(client, seeded["member"].username, PASSWORD).status_code == 302
    after = client.get_cookie("session", domain=app.config["SERVER_NAME"])
    with client.session_transaction() as current:
        assert "planted_by_attacker" not in current
    assert before is not None
    assert after is not None
    assert before.value != after.value
    # The pre-login session cookie gives no login.
    replay = t.cast(CookieCheckingClient, app.test_client())
    replay.set_cookie("session", before.value, domain=app.config["SERVER_NAME"])
    assert not _is_logged_in(replay)
