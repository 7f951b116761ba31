"""Fixtures: the example site on a fresh database per test, a real SMTP sink, members."""

from __future__ import annotations

import os
import threading
import typing as t
import uuid
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy

from example_site import create_app, db
from flask_allcot_privacy import Privacy
from flask_allcot_privacy.accounts.passwords import hash_password
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import User

from .browser import CHROMIUM, CHROMIUM_ARGS, Visit, need_browser
from .helpers import CookieCheckingClient, SMTPSink

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser

#: Cheap argon2id parameters: tests stay fast; every other setting uses OWASP's.
FAST_HASHING = {
    "PRIVACY_ARGON2_TIME_COST": 1,
    "PRIVACY_ARGON2_MEMORY_COST": 8,
    "PRIVACY_ARGON2_PARALLELISM": 1,
}
PASSWORD = "correct-horse-battery-staple"
#: The test apps' SERVER_NAME: the test client files cookies under this domain.
HOST = "blog.test"


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    sink.start()
    yield sink
    sink.stop()


def app_settings(tmp_path: Path, smtp: SMTPSink | None = None) -> dict[str, t.Any]:
    """Settings for a test app: its own SQLite file, real SMTP to the sink."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite'}",
        "DEMO_MAIL": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port if smtp else 1,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_DEFAULT_SENDER": "site@allcot.test",
        "SERVER_NAME": HOST,
        "PRIVACY_EMAIL_ALLOW_TEST_DOMAINS": True,
        # Export files in the test's own folder, never the repository's instance folder.
        "PRIVACY_EXPORT_DIR": str(tmp_path / "privacy-exports"),
        **FAST_HASHING,
    }


@pytest.fixture
def extra_config() -> dict[str, t.Any]:
    """Parametrize ``extra_config`` in a test to change the app's settings."""
    return {}


#: A PostgreSQL server to run the suite against instead of SQLite (CI sets it), e.g.
#: ``postgresql+psycopg://privacy:privacy@127.0.0.1/privacy_test``.
SERVER_DATABASE = os.environ.get("PRIVACY_TEST_DATABASE_URL")


@pytest.fixture
def database_uri(tmp_path: Path) -> Iterator[str]:
    """One database per test: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if not SERVER_DATABASE:
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(SERVER_DATABASE)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{SERVER_DATABASE}?options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def config(
    tmp_path: Path, smtp: SMTPSink, database_uri: str, extra_config: dict[str, t.Any]
) -> dict[str, t.Any]:
    """The app's settings; override in a module, or parametrize ``extra_config``."""
    return {
        **app_settings(tmp_path, smtp),
        "SQLALCHEMY_DATABASE_URI": database_uri,
        **extra_config,
    }


@pytest.fixture
def app(config: dict[str, t.Any]) -> Iterator[Flask]:
    app = create_app(config)
    app.test_client_class = CookieCheckingClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> CookieCheckingClient:
    return t.cast(CookieCheckingClient, app.test_client())


@pytest.fixture
def make_member(app: Flask) -> t.Callable[..., User]:
    """Create a member with a password (and optionally a role) straight in the database."""

    def make(username: str = "reader", email: str | None = None, **fields: t.Any) -> User:
        password = fields.pop("password", PASSWORD)
        with app.app_context():
            user = User(
                username=username,
                username_key=username.lower(),
                email=email or f"{username}@example.test",
                email_key=(email or f"{username}@example.test").lower(),
                password_hash=hash_password(password) if password else None,
                password_set_at=utcnow() if password else None,
                **fields,
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


def log_in(
    client: CookieCheckingClient, username: str, password: str = PASSWORD, remember: bool = False
) -> t.Any:
    """Log in through the real login form (test cookie, CSRF and all)."""
    return client.submit(
        "/account/login", {"username": username, "password": password, "remember": remember}
    )


@pytest.fixture
def member(make_member: t.Callable[..., User]) -> User:
    return make_member()


@pytest.fixture
def logged_in(client: CookieCheckingClient, member: User) -> CookieCheckingClient:
    response = log_in(client, member.username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def make_host_app(tmp_path: Path, **config: t.Any) -> Flask:
    """A bare host app (not the example site) with its own db and mail objects."""
    app = Flask("host")
    app.config.update(
        SECRET_KEY="host-secret",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite'}",
        TESTING=True,
        **FAST_HASHING,
    )
    app.config.update(config)
    host_db, host_mail = SQLAlchemy(), Mail()
    host_db.init_app(app)
    host_mail.init_app(app)
    Privacy().init_app(app, db=host_db, mail=host_mail)
    return app


@pytest.fixture(autouse=True)
def _no_leaked_app_context() -> Iterator[None]:
    """Like Flask's own suite: a test must not leave an app context pushed."""
    from flask.globals import _cv_app

    yield
    leaked = _cv_app.get(None)
    assert leaked is None, "an app context was left pushed"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, one per test module."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """The standard library's WSGI server, a thread per request.

    Like gunicorn, it closes each response as soon as it is written, which is when the
    outbox delivers. Werkzeug's development server first drains the socket with a
    blocking read, so a browser that keeps its connection open delays the close.
    """

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: t.Any) -> None:
        """No access log on stderr."""


@pytest.fixture
def site(app: Flask) -> Iterator[str]:
    """The example site, with its demo posts, served on a free 127.0.0.1 port.

    Browser test modules set ``SERVER_NAME`` to None in their ``config`` fixture: the
    browser reaches the site at 127.0.0.1:<port>, not at the test client's host name.
    """
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, ThreadingWSGIServer, QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def visit(browser: Browser, site: str) -> Iterator[t.Callable[..., Visit]]:
    """Open fresh browser profiles on the live site; each is closed after the test."""
    opened: list[Visit] = []

    def make(**options: t.Any) -> Visit:
        opened.append(Visit(browser, site, **options))
        return opened[-1]

    yield make
    for each in opened:
        each.close()
