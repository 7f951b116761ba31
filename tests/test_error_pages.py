"""Error pages in the site's layout, JSON when asked, never a traceback, overridable."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, abort
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, DictLoader

from example_site import db
from flask_allcot_privacy import Privacy, User

from .helpers import FAST_HASHING, CookieCheckingClient, log_in, make_host_app, soup

WERKZEUG_404 = "The requested URL was not found on the server"


def _title(response: t.Any) -> str:
    heading = soup(response).select_one("main h1")
    assert heading is not None, response.get_data(as_text=True)[:300]
    return heading.get_text(strip=True)


def test_an_unknown_address_gets_the_sites_404_page(client: CookieCheckingClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = soup(response)
    assert page.select_one("header.site-header") is not None, "the example site's layout"
    assert _title(response) == "Page not found"
    assert WERKZEUG_404 not in response.get_data(as_text=True)


def test_a_client_asking_for_json_gets_json(client: CookieCheckingClient) -> None:
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.json == {
        "error": {"code": 404, "name": "Not Found", "message": response.json["error"]["message"]}
    }
    assert "nothing at this address" in response.json["error"]["message"]
    browser = client.get("/no/such/page", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.mimetype == "text/html"


def test_a_wrong_method_gets_405_with_allow(client: CookieCheckingClient) -> None:
    response = client.get("/account/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert _title(response) == "This page cannot be used this way"


@pytest.mark.parametrize(
    "url", ["/account/logout", "/account/sessions/end-others", "/staff/comments/1/approve"]
)
def test_a_form_without_its_token_gets_a_page_that_says_so(
    client: CookieCheckingClient, make_member: t.Callable[..., User], url: str
) -> None:
    make_member("officer", role="privacy_officer")
    log_in(client, "officer")
    response = client.post(url)
    assert response.status_code == 400
    assert _title(response) == "This request could not be used"
    assert "This form expired" in soup(response).select_one("main").get_text()
    assert client.get("/account/profile").status_code == 200, "still logged in"


def test_a_member_refused_by_the_staff_guard_gets_the_staff_403(
    client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("plain")
    log_in(client, "plain")
    response = client.get("/staff/", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert "Your role does not reach this page" in response.json["error"]["message"]


def test_an_unhandled_error_gets_the_500_page_without_a_traceback(
    app: Flask, client: CookieCheckingClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/boom")
    def boom() -> str:
        db.session.add(User(username="half", username_key="half", email="h@x", email_key="h@x"))
        db.session.flush()
        raise RuntimeError("secret internals: token=abc123")

    app.testing = False  # as in production: exceptions are not propagated to the client
    response = client.get("/boom")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "secret internals" not in text
    assert _title(response) == "Something went wrong on our side"
    assert any("secret internals" in r.getMessage() or r.exc_info for r in caplog.records)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "half")) is None


def test_a_rate_limited_client_asking_for_json_gets_json(
    app: Flask, client: CookieCheckingClient
) -> None:
    app.config["PRIVACY_LOGIN_LIMIT_PER_IP"] = "1 per hour"
    fields = {"username": "x", "password": "y"}
    assert client.submit("/account/login", fields).status_code == 400
    response = client.submit("/account/login", fields, headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.json["error"]["code"] == 429


def test_a_host_overrides_a_page_by_path(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader({"privacy/errors/404.html": "<main><h1>Our own {{ code }}</h1></main>"}),
            t.cast(t.Any, app.jinja_env.loader),
        ]
    )
    response = app.test_client().get("/missing")
    assert response.status_code == 404
    assert _title(response) == "Our own 404"


def test_a_host_can_opt_out(tmp_path: Path) -> None:
    app = make_host_app(tmp_path, PRIVACY_ERROR_PAGES=False)
    response = app.test_client().get("/missing")
    assert response.status_code == 404
    assert WERKZEUG_404 in response.get_data(as_text=True)


def test_a_hosts_own_handler_is_kept(tmp_path: Path) -> None:
    app = Flask("host")
    app.config.update(
        SECRET_KEY="k", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'h.sqlite'}", **FAST_HASHING
    )
    app.register_error_handler(404, lambda error: ("the host's own 404", 404))
    host_db, host_mail = SQLAlchemy(), Mail()
    host_db.init_app(app)
    host_mail.init_app(app)
    Privacy().init_app(app, db=host_db, mail=host_mail)

    @app.route("/forbidden")
    def forbidden() -> str:
        abort(403)

    client = app.test_client()
    assert client.get("/missing").get_data(as_text=True) == "the host's own 404"
    assert _title(client.get("/forbidden")) == "You cannot open this page", "others still ours"


def test_a_csrf_error_from_csrfprotect_gets_the_400_page(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    app.config["WTF_CSRF_ENABLED"] = True
    CSRFProtect(app)

    @app.route("/host-form", methods=["POST"])
    def host_form() -> str:
        return "saved"

    response = app.test_client().post("/host-form")
    assert response.status_code == 400
    assert "This form expired" in soup(response).select_one("main").get_text()
