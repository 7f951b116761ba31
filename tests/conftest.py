"""Fixtures only: the example site on a fresh database per test, a real SMTP sink, members.

Helpers that are not fixtures live in ``tests/helpers.py``.
"""

from __future__ import annotations

import os
import threading
import typing as t
import uuid
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import make_server

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import create_app, db
from flask_allcot_privacy import create_member
from flask_allcot_privacy.models import User

from .browser import CHROMIUM, CHROMIUM_ARGS, Visit, need_browser

# Names tests imported from conftest before the helpers moved stay importable from here.
from .helpers import (  # noqa: F401
    FAST_HASHING,
    HOST,
    PASSWORD,
    CookieCheckingClient,
    QuietHandler,
    SMTPSink,
    ThreadingWSGIServer,
    app_settings,
    log_in,
    make_host_app,
)

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    sink.start()
    yield sink
    sink.stop()


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
    """Create a member through the accounts service (with a password, and optionally a
    role); other columns given are written straight after."""

    def make(username: str = "reader", email: str | None = None, **fields: t.Any) -> User:
        password = fields.pop("password", PASSWORD)
        role = fields.pop("role", None)
        with app.app_context():
            user = create_member(
                username, email or f"{username}@example.test", password=password, role=role
            )
            for name, value in fields.items():
                setattr(user, name, value)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def member(make_member: t.Callable[..., User]) -> User:
    return make_member()


@pytest.fixture
def logged_in(client: CookieCheckingClient, member: User) -> CookieCheckingClient:
    response = log_in(client, member.username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


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
