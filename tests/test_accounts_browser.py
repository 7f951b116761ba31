"""The account cookies as a real browser holds them (P11, P12, P14, P15)."""

from __future__ import annotations

import time
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy.models import OutboxMessage

from .browser import Visit
from .helpers import PASSWORD, SMTPSink, links_in

pytestmark = pytest.mark.browser
DAY = 24 * 3600


@pytest.fixture
def config(config: dict[str, t.Any]) -> dict[str, t.Any]:
    return {**config, "SERVER_NAME": None}


def _cookies(visit: Visit) -> dict[str, dict[str, t.Any]]:
    return {c["name"]: dict(c) for c in visit.context.cookies()}


def test_register_log_in_remembered_and_log_out_in_chromium(
    app: Flask, visit: t.Callable[..., Visit], smtp: SMTPSink
) -> None:
    browser = visit()
    page = browser.open("/account/register")
    page.click("[data-privacy-consent-banner] button[value=reject_all]")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=email]", "ann@example.test")
    page.click("main button[type=submit]")
    page.wait_for_url("**/account/check-email")

    try:
        message = smtp.wait_for("ann@example.test")
    except AssertionError:
        with app.app_context():
            rows = [
                (m.id, m.attempts, m.sent_at, m.last_error, m.next_attempt_at, m.claimed_until)
                for m in db.session.scalars(sa.select(OutboxMessage))
            ]
        raise AssertionError(f"outbox: {rows}") from None
    [link] = [u for u in links_in(message) if "set-password" in u]
    page.goto(link)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/account/login")

    test_cookie = _cookies(browser)["privacy_test_cookie"]
    assert test_cookie["expires"] == -1, "P11: gone when the browser closes"
    assert test_cookie["value"] == "1"

    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", PASSWORD)
    page.check("input[name=remember]")
    logged_in_at = time.time()
    page.click("main button[type=submit]")
    page.wait_for_url("**/account/profile")

    jar = _cookies(browser)
    session, remember = jar["session"], jar["remember_token"]
    assert abs(session["expires"] - (logged_in_at + 2 * DAY)) < 60, "P12: two days"
    assert abs(remember["expires"] - (logged_in_at + 14 * DAY)) < 60, "P14: two weeks"
    for cookie in (session, remember, test_cookie):
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("remember_token") == -1, "HttpOnly"

    page.click("nav[aria-label=Account] button[type=submit]")
    page.wait_for_url("**/account/login?logged_out=1")
    left = _cookies(browser)
    assert "remember_token" not in left, "P15: logout removes the login cookies"
    assert "_user_id" not in (left.get("session", {}).get("value") or "")
    page.goto(browser.site + "/account/profile")
    assert "/account/login" in page.url
