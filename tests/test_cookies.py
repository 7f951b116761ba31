"""The cookie registry: every cookie declared once, with purpose, category and lifetime."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from flask_allcot_privacy import cookies

from .helpers import CookieCheckingClient, make_host_app


def test_every_declared_cookie_says_what_why_and_how_long(app: Flask) -> None:
    with app.app_context():
        for entry in cookies.declared():
            assert entry.category in app.config["PRIVACY_CONSENT_CATEGORIES"]
            assert str(entry.purpose).strip()
            assert entry.cookie_name()


def test_policy_lifetimes(app: Flask) -> None:
    with app.app_context():
        lifetimes = {e.key: e.lifetime() for e in cookies.declared()}
    assert lifetimes["session"] == timedelta(days=2)
    assert lifetimes["remember"] == timedelta(days=14)
    assert lifetimes["test_cookie"] is None, "the test cookie ends with the browser session"
    assert lifetimes["screen_options"] == timedelta(days=365)
    assert lifetimes["consent"] == timedelta(days=182)
    assert lifetimes["comment_author"] == timedelta(days=365)


def test_prefix_applies_to_the_extensions_own_cookies(tmp_path: Path) -> None:
    app = make_host_app(tmp_path, PRIVACY_COOKIE_PREFIX="acme_")
    with app.app_context():
        assert cookies.spec("test_cookie").cookie_name() == "acme_privacy_test_cookie"
        assert cookies.spec("session").cookie_name() == "session"
    page = app.test_client().get("/account/login")
    assert any(
        h.startswith("acme_privacy_test_cookie=") for h in page.headers.getlist("Set-Cookie")
    )


def test_an_undeclared_cookie_fails_the_checking_client(app: Flask) -> None:
    @app.route("/sneaky")
    def sneaky() -> object:
        response = app.make_response("hi")
        response.set_cookie("tracker", "1")
        return response

    client = app.test_client()
    assert isinstance(client, CookieCheckingClient)
    with pytest.raises(AssertionError, match="'tracker' is set but not declared"):
        client.get("/sneaky")


def test_undeclared_key_is_a_clear_error(app: Flask) -> None:
    with app.app_context(), pytest.raises(LookupError, match=r"Declare it in cookies\.py"):
        cookies.spec("nope")


def test_secure_flag_is_added_on_https(app: Flask) -> None:
    page = app.test_client().get("/account/login", base_url="https://blog.test")
    for header in page.headers.getlist("Set-Cookie"):
        assert "Secure" in header, header
    plain = app.test_client().get("/account/login")
    assert all("Secure" not in h for h in plain.headers.getlist("Set-Cookie"))
