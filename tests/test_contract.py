"""The public contract of docs/design.rst, driven the way an outside check drives the example site.

Demo mode (mail read from /outbox), and every POST carries only the contract's field
names plus the page's ``csrf_token`` (the consent form: the ``Origin`` a browser sends
instead): if a route or a field name drifts, this fails.
"""

from __future__ import annotations

import io
import typing as t
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from example_site import create_app, db

from .helpers import PASSWORD, CookieCheckingClient, app_settings, set_cookie, soup


@pytest.fixture
def demo(tmp_path: Path) -> t.Iterator[Flask]:
    app = create_app({**app_settings(tmp_path), "DEMO_MAIL": True})
    app.test_client_class = CookieCheckingClient
    with app.app_context():
        db.create_all()
    assert app.test_cli_runner().invoke(args=["init-db", "--demo"]).exit_code == 0
    yield app
    with app.app_context():
        db.engine.dispose()


def _csrf(client: CookieCheckingClient, url: str) -> str:
    page = soup(client.get(url))
    field = page.select_one("main input[name=csrf_token]")
    assert field is not None, f"no csrf_token in the main form of {url}"
    return str(field["value"])


def _post(client: CookieCheckingClient, page: str, target: str, **fields: t.Any) -> t.Any:
    """POST ``fields`` to ``target`` with the CSRF token of the form on ``page``."""
    return client.post(target, data={"csrf_token": _csrf(client, page), **fields})


def _outbox_link(client: CookieCheckingClient, to: str, contains: str) -> str:
    for message in soup(client.get("/outbox")).select(".outbox-message"):
        if to in message.select_one(".outbox-message__to").get_text():
            for link in message.select(".outbox-message__body a[href]"):
                if contains in link["href"]:
                    return str(link["href"])
    raise AssertionError(f"no {contains} link to {to} in /outbox")


def test_a_visitor_and_a_member_through_the_contract(demo: Flask) -> None:
    client = t.cast(CookieCheckingClient, demo.test_client())

    # Register; the set-password link arrives in /outbox.
    response = _post(
        client, "/account/register", "/account/register", username="ann", email="ann@example.test"
    )
    assert response.status_code in (302, 303)
    link = _outbox_link(client, "ann@example.test", "/account/set-password/")
    response = _post(client, link, link, password=PASSWORD, password_confirm=PASSWORD)
    assert response.status_code in (302, 303)

    # Log in with Remember Me: the test cookie first, then the two login cookies.
    response = _post(
        client, "/account/login", "/account/login", username="ann", password=PASSWORD, remember="y"
    )
    assert response.status_code == 302
    assert set_cookie(response, "remember_token") is not None

    # The profile takes the contract's fields; the username stays.
    response = _post(
        client,
        "/account/profile",
        "/account/profile",
        first_name="Ann",
        last_name="Lee",
        website="https://ann.example",
        bio="Hello",
        display_name="first_last",
        email="ann@example.test",
        public_profile="y",
    )
    assert response.status_code == 302
    assert "Ann Lee" in soup(client.get("/")).get_text()

    # A member's comment on a post shows the display name, never the email.
    post_url = str(soup(client.get("/")).select_one(".site-post-card h2 a")["href"])
    form = soup(client.get(post_url)).select_one("form[action^='/comments/']")
    assert form is not None
    response = _post(client, post_url, str(form["action"]), body="A member's comment")
    assert response.status_code in (302, 303)
    page = soup(client.get(post_url))
    assert "A member's comment" in page.get_text()
    assert "ann@example.test" not in str(page)

    # Log out (POST): the login cookies go.
    response = client.post(
        "/account/logout",
        data={
            "csrf_token": soup(client.get("/")).select_one(
                "form[action='/account/logout'] input[name=csrf_token]"
            )["value"]
        },
    )
    assert response.status_code == 302
    assert set_cookie(response, "remember_token")["deleted"]

    # A visitor comments with the contract's visitor fields.
    visitor = t.cast(CookieCheckingClient, demo.test_client())
    response = _post(
        visitor,
        post_url,
        str(form["action"]),
        body="A visitor's comment",
        author_name="Bob",
        author_email="bob@example.test",
        author_url="https://bob.example",
    )
    assert response.status_code in (302, 303)
    page = soup(visitor.get(post_url))
    assert "A visitor's comment" in page.get_text()
    assert "bob@example.test" not in str(page)

    # Contact form, consent decisions, the cookie settings and policy pages.
    response = _post(
        visitor,
        "/privacy/contact",
        "/privacy/contact",
        name="Bob",
        email="bob@example.test",
        message="Please send me a copy of my data.",
    )
    assert response.status_code in (302, 303)
    same_origin = {"Origin": "http://blog.test"}
    assert visitor.get("/privacy/cookies").status_code == 200
    for action in ("accept_all", "reject_all"):
        response = visitor.post("/privacy/consent", data={"action": action}, headers=same_origin)
        assert response.status_code in (302, 303)
        assert set_cookie(response, "privacy_consent") is not None
    response = visitor.post(
        "/privacy/consent",
        data={"action": "save", "categories": ["analytics"]},
        headers=same_origin,
    )
    assert response.status_code in (302, 303)
    policy = soup(visitor.get("/privacy/policy")).get_text()
    for processor in ("Google Analytics", "MailChimp", "Stripe", "Digital Ocean"):
        assert processor in policy
    for cookie in ("privacy_test_cookie", "remember_token", "privacy_screen_options"):
        assert cookie in policy

    # A forgotten password: the same page, a link in /outbox.
    response = _post(
        visitor, "/account/reset-password", "/account/reset-password", email="ann@example.test"
    )
    assert response.status_code in (302, 303)
    assert _outbox_link(visitor, "ann@example.test", "/account/set-password/")

    # A privacy request: the contract's fields, confirmed from the link in /outbox
    # (a GET only shows the button), answered by the demo privacy officer on the staff
    # screens, the ZIP downloaded from the link in /outbox.
    response = _post(
        visitor,
        "/privacy/request",
        "/privacy/request",
        email="bob@example.test",
        request_type="export",
        details="Everything, please.",
    )
    assert response.status_code in (302, 303)
    link = _outbox_link(visitor, "bob@example.test", "/privacy/request/confirm/")
    assert visitor.get(link).status_code == 200
    response = _post(visitor, link, link)
    assert response.status_code in (302, 303)

    officer = t.cast(CookieCheckingClient, demo.test_client())
    link = _outbox_link(officer, "demo-officer@example.test", "/account/set-password/")
    _post(officer, link, link, password=PASSWORD, password_confirm=PASSWORD)
    response = _post(
        officer, "/account/login", "/account/login", username="demo-officer", password=PASSWORD
    )
    assert response.status_code == 302
    queue = soup(officer.get("/staff/requests"))
    request_page = str(queue.select_one("tr[data-request-id] a")["href"])
    assert "Everything, please." in soup(officer.get(request_page)).get_text()
    response = _post(officer, request_page, request_page, action="send_export")
    assert response.status_code in (302, 303)
    download = visitor.get(_outbox_link(visitor, "bob@example.test", "/privacy/export/"))
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/zip"
    assert {"index.html", "export.json"} <= set(
        zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    )

    # Copies of correspondence, answered from the command line.
    response = _post(
        visitor,
        "/privacy/request",
        "/privacy/request",
        email="bob@example.test",
        request_type="correspondence",
        details="",
    )
    link = _outbox_link(visitor, "bob@example.test", "/privacy/request/confirm/")
    _post(visitor, link, link)
    runner = demo.test_cli_runner()
    listed = runner.invoke(args=["privacy", "requests", "list"]).stdout.splitlines()
    (request_id,) = [line.split("\t")[0] for line in listed if "\tcorrespondence\t" in line]
    result = runner.invoke(args=["privacy", "requests", "process", request_id])
    assert result.exit_code == 0, result.output
