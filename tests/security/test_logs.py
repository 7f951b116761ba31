"""Logs never hold passwords, tokens, session ids or full IP addresses, and visitor text
in them is encoded (issue #14, ASVS V16)."""

from __future__ import annotations

import logging
import typing as t

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import Flask

from example_site import db
from flask_allcot_privacy import background
from flask_allcot_privacy.logsafe import RedactingFilter, redact, visitor_text
from flask_allcot_privacy.models import User

from ..helpers import CookieCheckingClient, SMTPSink, links_in, path_of

VISITOR_IP = "203.0.113.77"
NEW_PASSWORD = "a-brand-new-passphrase-42"


#: The test's own SMTP sink (aiosmtpd) logs what it receives: it is the mail server, not the site.
_NOT_THE_SITE = ("mail.log", "asyncio")


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith(_NOT_THE_SITE)
    )


def test_no_secret_reaches_a_log_line_through_the_account_flows(
    app: Flask,
    client_as: t.Callable[[str], CookieCheckingClient],
    seeded: dict[str, User],
    smtp: SMTPSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_as("anonymous")
    env = {"REMOTE_ADDR": VISITOR_IP}
    client.submit(
        "/account/register",
        {"username": "logged", "email": "logged@example.test"},
        environ_base=env,
    )
    [link] = [u for u in links_in(smtp.wait_for("logged@example.test")) if "set-password" in u]
    token = link.rsplit("/", 1)[1]
    client.submit(
        path_of(link),
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        environ_base=env,
    )
    client.submit(
        "/account/login", {"username": "logged", "password": "wrong-password-1"}, environ_base=env
    )
    client.submit(
        "/account/login", {"username": "logged", "password": NEW_PASSWORD}, environ_base=env
    )
    session_cookie = client.get_cookie("session", domain=app.config["SERVER_NAME"])
    client.submit("/account/reset-password", {"email": "logged@example.test"}, environ_base=env)
    client.get("/staff/", environ_base=env)  # refused, and logged
    logged = _everything_logged(caplog)
    assert "staff route" in logged, "nothing was logged: the test would prove nothing"
    for secret in (NEW_PASSWORD, "wrong-password-1", token, VISITOR_IP):
        assert secret not in logged, secret
    if session_cookie is not None:
        assert session_cookie.value not in logged


def test_a_request_log_line_holds_no_token_and_no_full_ip(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """Werkzeug's request log (the development server's) goes through the same filter."""
    caplog.set_level(logging.INFO)
    token = "eyJ1aWQiOjEsInN0YW1wIjoiMTIzIn0.aW5KUA.x2XhVuJ1cQ6JqN5o0kQpYqJ7m3c"
    logging.getLogger("werkzeug").info(
        '%s - - "GET /account/set-password/%s HTTP/1.1" 200 -', VISITOR_IP, token
    )
    logging.getLogger("werkzeug").info('2001:db8:1:2:3:4:5:6 - - "GET / HTTP/1.1" 200 -')
    logged = _everything_logged(caplog)
    assert token not in logged
    assert VISITOR_IP not in logged
    assert "[token]" in logged
    assert "203.0.113.0/24" in logged
    assert "2001:db8:1:2:3:4:5:6" not in logged
    assert "2001:db8:1::/48" in logged


@background.job("tests.failing_insert")
def _failing_insert(ip: str, password_hash: str, token: str) -> None:
    """A job whose SQL fails: SQLAlchemy's error quotes the statement's parameters."""
    db.session.execute(
        sa.text("INSERT INTO no_such_table VALUES (:ip, :hash, :token)"),
        {"ip": ip, "hash": password_hash, "token": token},
    )


#: The example site hides SQL parameters; a host that does not gets the filter alone.
@pytest.mark.parametrize("extra_config", [{"SQLALCHEMY_ENGINE_OPTIONS": {}}])
def test_a_failed_jobs_traceback_holds_no_secret(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """A background job's traceback is logged: the SQL parameters it quotes are redacted."""
    caplog.set_level(logging.INFO)
    password_hash = PasswordHasher().hash(NEW_PASSWORD)
    token = "eyJ1aWQiOjEsInN0YW1wIjoiMTIzIn0.aW5KUA.x2XhVuJ1cQ6JqN5o0kQpYqJ7m3c"
    with app.app_context():
        background.submit("tests.failing_insert", VISITOR_IP, password_hash, token, on="thread")
        assert background.wait_idle(30)
    [failure] = [r for r in caplog.records if r.name == "flask_allcot_privacy.background"]
    assert failure.exc_text, "the traceback is logged (redacted, as text)"
    logged = caplog.text  # as the log handler formats it, traceback included
    assert "no_such_table" in logged
    assert "Traceback" in logged
    salt, digest = password_hash.rsplit("$", 2)[-2:]
    for secret in (VISITOR_IP, password_hash, token, salt, digest):
        assert secret not in logged
    assert "[password hash]" in logged
    assert "[token]" in logged
    assert "203.0.113.0/24" in logged, "the parameters were quoted, and redacted"


def test_the_example_sites_sql_errors_quote_no_values(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with app.app_context():
        background.submit("tests.failing_insert", VISITOR_IP, "hash", "token", on="thread")
        assert background.wait_idle(30)
    assert "no_such_table" in caplog.text
    assert "SQL parameters hidden" in caplog.text


@pytest.mark.parametrize(
    "typed",
    ["a\nforged: line", "a\r\nb", "a\u2028b", "a\u2029b", "a\x85b", "a\x00b", "a\x1b[31mred"],
)
def test_visitor_text_is_one_printable_line(typed: str) -> None:
    encoded = visitor_text(typed)
    assert encoded.isprintable()
    assert len(encoded.splitlines()) == 1


def test_redacting_twice_changes_nothing_more() -> None:
    """A host may add the filter to a handler too: a record then passes it twice."""
    once = redact(f"from {VISITOR_IP} and 2001:db8:1:2:3:4:5:6")
    assert once == "from 203.0.113.0/24 and 2001:db8:1::/48"
    assert redact(once) == once


def test_a_traceback_with_nothing_to_hide_is_left_to_the_handlers_formatter() -> None:
    """A host's formatter (one-line or JSON logs) still formats a clean exception."""
    logger = logging.getLogger("tests.logsafe.clean")
    logger.addFilter(RedactingFilter())
    logger.propagate = False  # the test's capture handler would format the record too
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logger.addHandler(keep)
    try:
        raise ValueError("nothing secret here")
    except ValueError:
        logger.exception("clean")
    try:
        raise ValueError(f"from {VISITOR_IP}")
    except ValueError:
        logger.exception("dirty")
    logger.removeHandler(keep)
    clean, dirty = seen
    assert clean.exc_info is not None
    assert clean.exc_text is None
    assert dirty.exc_info is None, "no handler can format the secret again"
    assert dirty.exc_text is not None
    assert VISITOR_IP not in dirty.exc_text
    assert "203.0.113.0/24" in dirty.exc_text


def test_redaction_leaves_ordinary_text_alone() -> None:
    assert redact("audit directory.search by 3 on 7") == "audit directory.search by 3 on 7"


def test_the_servers_own_loopback_address_is_not_redacted() -> None:
    """The development server's "Running on" line stays a working address."""
    from flask_allcot_privacy.logsafe import redact

    assert redact("Running on http://127.0.0.1:5000") == "Running on http://127.0.0.1:5000"
    assert redact("Running on http://0.0.0.0:5000") == "Running on http://0.0.0.0:5000"
    assert redact("from 203.0.113.9") == "from 203.0.113.0/24"
