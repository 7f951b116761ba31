"""Enumeration: register, login, reset (and privacy requests, once they exist) answer alike
for known and unknown accounts: status, body, headers, cookies, and the work done."""

from __future__ import annotations

import re
import threading
import typing as t
from collections import Counter

import argon2
import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy import outbox, tokens
from flask_allcot_privacy.models import OutboxMessage, User

from ..helpers import PASSWORD, CookieCheckingClient, log_in, main_text, soup

#: What differs by nature between two answers: CSRF tokens, session cookies, dates.
_VOLATILE = re.compile(r"(session|csrf_token|Expires|Max-Age|Date)", re.IGNORECASE)


def _shape(response: t.Any) -> tuple[t.Any, ...]:
    """What an observer compares: status, redirect, header names, cookie names, main text."""
    cookie_names = sorted(h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie"))
    header_names = sorted(
        name for name, _ in response.headers if name not in ("Content-Length", "Set-Cookie")
    )
    text = main_text(response) if response.status_code < 300 or response.status_code >= 400 else ""
    return response.status_code, response.location, header_names, cookie_names, text


def _pair(
    client_as: t.Callable[[str], CookieCheckingClient], url: str, known: dict, unknown: dict
) -> tuple[tuple[t.Any, ...], tuple[t.Any, ...]]:
    first = client_as("anonymous").submit(url, known)
    second = client_as("anonymous").submit(url, unknown)
    return _shape(first), _shape(second)


def test_register_answers_alike_for_a_taken_and_a_free_address(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    taken, free = _pair(
        client_as,
        "/account/register",
        {"username": "newcomer1", "email": seeded["member"].email},
        {"username": "newcomer2", "email": "free@example.test"},
    )
    assert taken == free


def test_reset_answers_alike_for_a_known_and_an_unknown_address(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    known, unknown = _pair(
        client_as,
        "/account/reset-password",
        {"email": seeded["member"].email},
        {"email": "nobody@example.test"},
    )
    assert known == unknown


def test_login_answers_alike_for_a_wrong_password_and_an_unknown_name(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    known, unknown = _pair(
        client_as,
        "/account/login",
        {"username": seeded["member"].username, "password": "wrong-wrong-wrong"},
        {"username": "nobody-here", "password": "wrong-wrong-wrong"},
    )
    assert known == unknown


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts of the costly steps a request takes (on its own thread): hashes, tokens, emails."""
    counts: Counter[str] = Counter()
    here = threading.get_ident()

    def counting(name: str, original: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if threading.get_ident() == here:  # the request's thread, not the background
                counts[name] += 1
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        argon2.PasswordHasher, "verify", counting("argon2", argon2.PasswordHasher.verify)
    )
    monkeypatch.setattr(
        argon2.PasswordHasher, "hash", counting("argon2", argon2.PasswordHasher.hash)
    )
    monkeypatch.setattr(tokens, "make", counting("token", tokens.make))
    monkeypatch.setattr(outbox, "render", counting("render", outbox.render))
    return counts


@pytest.fixture
def request_sql(app: Flask) -> t.Iterator[list[tuple[bool, str]]]:
    """Each SQL statement run, and whether on the test's own thread (the request)."""
    seen: list[tuple[bool, str]] = []
    here = threading.get_ident()

    def record(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        seen.append((threading.get_ident() == here, statement))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_reset_answers_before_any_per_account_work(
    app: Flask,
    client_as: t.Callable[[str], CookieCheckingClient],
    seeded: dict[str, User],
    work: Counter[str],
    request_sql: list[tuple[bool, str]],
) -> None:
    """Finding 1 of issue #14: a member's answer took longer (first the decoy hash, then the
    stored email). Now the answer is sent before the address is even looked up: the
    request runs the same SQL for both, none of it on accounts, and makes no link."""
    client = client_as("anonymous")
    page = client.get("/account/reset-password")
    token = str(soup(page).select_one("input[name=csrf_token]")["value"])
    seen = []
    for address in (seeded["member"].email, "nobody@example.test"):
        work.clear()
        request_sql.clear()
        response = client.post(
            "/account/reset-password", data={"csrf_token": token, "email": address}
        )
        assert response.status_code == 302
        in_request = [sql for on_request, sql in request_sql if on_request]
        afterwards = [sql for on_request, sql in request_sql if not on_request]
        assert any("FROM privacy_user" in sql for sql in afterwards), "looked up afterwards"
        seen.append((in_request, work["token"], work["argon2"]))
    assert seen[0] == seen[1]
    assert not [sql for sql in seen[0][0] if "privacy_user" in sql]
    assert seen[0][1:] == (0, 0), "no link is made, no password hashed, before the answer"
    # The work was done after the answer: the member has their link, the stranger nothing.
    with app.app_context():
        sent = db.session.scalars(sa.select(OutboxMessage.recipients)).all()
    assert sent == [[seeded["member"].email]]


def test_login_does_one_hash_check_for_known_and_unknown_names(
    client_as: t.Callable[[str], CookieCheckingClient],
    seeded: dict[str, User],
    work: Counter[str],
) -> None:
    client = client_as("anonymous")
    counts = []
    for name in (seeded["member"].username, "nobody-here", seeded["member"].email):
        work.clear()
        assert log_in(client, name, "wrong-wrong-wrong").status_code == 400
        counts.append(work["argon2"])
    assert counts == [1, 1, 1]


def test_the_login_limit_does_not_link_a_username_to_its_email(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    """Finding 2 of issue #14: after the limit for a username, its email answered 429 while
    other emails answered 400. Now every identifier gets the same answer."""
    app.config["PRIVACY_LOGIN_LIMIT_PER_ACCOUNT"] = "3 per 15 minutes"
    member = seeded["member"]
    client = client_as("anonymous")
    for _ in range(4):
        log_in(client, member.username, "wrong-wrong-wrong")
    own_email = log_in(client, member.email, "wrong-wrong-wrong")
    other_email = log_in(client, "someone@example.test", "wrong-wrong-wrong")
    assert _shape(own_email) == _shape(other_email)
    assert own_email.status_code == 400


def test_nobody_can_lock_a_member_out_from_elsewhere(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    app.config["PRIVACY_LOGIN_LIMIT_PER_ACCOUNT"] = "3 per 15 minutes"
    member = seeded["member"]
    attacker = client_as("anonymous")
    for _ in range(10):
        attacker.submit(
            "/account/login",
            {"username": member.username, "password": "wrong-wrong-wrong"},
            environ_base={"REMOTE_ADDR": "203.0.113.66"},
        )
    owner = client_as("anonymous")
    assert log_in(owner, member.username, PASSWORD).status_code == 302


def test_privacy_request_forms_answer_alike_when_they_exist(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    """Every form with only an ``email`` to fill (reset, requests, subscribe) is found
    from the pages and answers alike for a member's address and an unknown one."""
    from .surface import forms_on_pages, page_urls

    client = client_as("anonymous")
    found = [
        form
        for form in forms_on_pages(client, page_urls(app))
        if "email" in form.text_fields
        and "password" not in form.values
        and "username" not in form.text_fields
        and "message" not in form.text_fields
    ]
    assert any(f.action.endswith("/reset-password") for f in found)
    for form in found:
        extra = {n: v for n, v in form.values.items() if not n.endswith("csrf_token")}
        if "details" in form.text_fields:
            extra["details"] = "Please."
        known = client_as("anonymous").submit(form.page, {**extra, "email": seeded["member"].email})
        unknown = client_as("anonymous").submit(
            form.page, {**extra, "email": "nobody@example.test"}
        )
        assert _shape(known) == _shape(unknown), form.action
