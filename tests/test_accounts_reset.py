"""Forgotten passwords (P4, P21): same answer for every address, newest link wins."""

from __future__ import annotations

import typing as t

import argon2
import pytest
from flask import Flask, Response, g

from flask_allcot_privacy.models import User

from .helpers import (
    PASSWORD,
    CookieCheckingClient,
    SMTPSink,
    links_in,
    log_in,
    main_text,
    path_of,
    soup,
    text_body,
)

NEW_PASSWORD = "a-brand-new-passphrase-42"


def _reset(client: CookieCheckingClient, email: str) -> t.Any:
    return client.submit("/account/reset-password", {"email": email})


def _link(smtp: SMTPSink, address: str, index: int = -1) -> str:
    links = [u for m in smtp.to(address) for u in links_in(m) if "/account/set-password/" in u]
    return path_of(links[index])


def test_same_answer_whether_or_not_an_account_exists(
    client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    known = _reset(client, member.email)
    unknown = _reset(client, "nobody@example.test")
    assert (
        (known.status_code, known.location)
        == (unknown.status_code, unknown.location)
        == (
            302,
            "/account/check-email",
        )
    )
    assert main_text(client.get(known.location)) == main_text(client.get(unknown.location))
    assert smtp.to("nobody@example.test") == []
    assert "reset the password" in text_body(smtp.last_to(member.email))


def test_unknown_address_costs_the_same_hashing_work(
    client: CookieCheckingClient, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed login does one argon2 verification whether or not the account exists."""
    calls: list[str] = []
    original = argon2.PasswordHasher.verify

    def counting(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(password)
        return original(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting)
    log_in(client, member.username, "wrong-password-123")
    known = len(calls)
    log_in(client, "no-such-user", "wrong-password-123")
    assert known == 1
    assert len(calls) - known == 1


def test_reset_link_sets_a_new_password_and_notifies(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    """P4, P21: the reset link is emailed; system emails go out whatever the marketing choice."""
    from flask_allcot_privacy import signals

    set_for: list[int] = []

    def on_password_set(sender: Flask, user: User) -> None:
        set_for.append(user.id)

    _reset(client, member.email)
    with signals.password_set.connected_to(on_password_set, app):
        response = client.submit(
            _link(smtp, member.email),
            {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        )
    assert set_for == [member.id]
    assert response.status_code == 302
    notice = smtp.last_to(member.email)
    assert notice["Subject"] == "Your password was changed"
    assert log_in(client, member.username, PASSWORD).status_code == 400
    assert log_in(client, member.username, NEW_PASSWORD).status_code == 302


def test_a_newer_link_voids_the_older_ones(
    client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    _reset(client, member.email)
    _reset(client, member.email)
    older, newer = _link(smtp, member.email, -2), _link(smtp, member.email, -1)
    assert client.get(older).status_code == 410
    assert client.get(newer).status_code == 200


def test_new_password_revokes_every_other_login(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    """A copied session cookie stops working once the password is reset."""
    other = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(other, member.username, remember=True).status_code == 302
    assert other.get("/account/profile").status_code == 200
    _reset(client, member.email)
    client.submit(
        _link(smtp, member.email), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    refused = other.get("/account/profile")
    assert refused.status_code == 302
    assert "/account/login" in refused.location


def test_expired_link_page_offers_a_new_link(
    client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    _reset(client, member.email)
    link = _link(smtp, member.email)
    client.submit(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    page = soup(client.get(link))
    offer = page.select_one("a[href$='/account/reset-password']")
    assert offer is not None
    assert "new link" in offer.get_text().lower()


def test_bad_email_on_the_reset_form(client: CookieCheckingClient, smtp: SMTPSink) -> None:
    response = _reset(client, "not an email")
    assert response.status_code == 400
    assert soup(response).select_one("#email-error") is not None
    assert smtp.messages == []


def test_email_forms_are_rate_limited_per_ip(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    app.config["PRIVACY_EMAIL_LIMIT_PER_IP"] = "2 per hour"
    assert _reset(client, member.email).status_code == 302
    assert _reset(client, member.email).status_code == 302
    limited = _reset(client, member.email)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many attempts" in soup(limited).get_text()


def test_the_answer_does_not_wait_for_mail(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    """The response is complete before SMTP is touched, so timing reveals no account."""
    page = client.get("/account/reset-password")
    fields = {f["name"]: f.get("value", "") for f in soup(page).select("main input[name]")}
    response = client.post(
        "/account/reset-password", data={**fields, "email": member.email}, buffered=False
    )
    assert response.status_code == 302
    assert smtp.messages == [], "nothing is sent while the visitor waits"
    response.close()  # what a server does once the response is sent
    assert "reset the password" in text_body(smtp.wait_for(member.email))


def test_resets_for_one_address_are_limited_whoever_asks(
    app: Flask, client: CookieCheckingClient, member: User
) -> None:
    """Nobody can keep voiding a member's reset links; unknown addresses behave the same."""
    app.config["PRIVACY_EMAIL_LIMIT_PER_ADDRESS"] = "2 per hour"
    for address in (member.email, "nobody@example.test"):
        other_ips = [f"198.51.100.{n}" for n in range(3)]
        answers = [
            client.submit(
                "/account/reset-password",
                {"email": address.upper()},
                environ_base={"REMOTE_ADDR": ip},
            ).status_code
            for ip in other_ips
        ]
        assert answers == [302, 302, 429], address


def test_the_link_is_sent_when_a_host_hook_replaces_the_response(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    """The lookup runs after the answer the visitor gets, not after the view's response:
    a host's after-request hook (a minifier, say) may hand Flask a new response object."""

    @app.after_request
    def rewrap(response: Response) -> Response:
        return app.response_class(
            response.get_data(), status=response.status_code, headers=dict(response.headers)
        )

    assert _reset(client, member.email).status_code == 302
    assert "reset the password" in text_body(smtp.last_to(member.email))


def test_a_reset_that_cannot_be_made_is_logged_as_lost(
    app: Flask,
    client: CookieCheckingClient,
    smtp: SMTPSink,
    member: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Email templates render outside the request here: a host context processor that
    relies on its before_request hook fails, and the log says what was lost and why."""

    @app.before_request
    def brand() -> None:
        g.brand = "Shop"

    @app.context_processor
    def branding() -> dict[str, t.Any]:
        return {"brand": g.brand}

    assert _reset(client, member.email).status_code == 302
    assert smtp.to(member.email) == []
    [lost] = [r for r in caplog.records if r.name == "flask_allcot_privacy.accounts.resets"]
    assert "could not be made" in lost.getMessage()
    assert "before_request" in lost.getMessage()
