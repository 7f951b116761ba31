"""Delivery off the web request: an SMTP timeout, the delivery modes, claims that hold.

A slow mail server must never hold a visitor's request (nor, on a sync worker, the
next visitor's), and several deliverers at once must never send a message twice.
"""

from __future__ import annotations

import logging
import threading
import typing as t
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from example_site import db
from flask_allcot_privacy import ConfigurationError, background, outbox
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import OutboxMessage, User

from .conftest import make_host_app
from .helpers import CookieCheckingClient, SMTPSink, form_fields
from .stalls import StallingServer


@pytest.fixture
def stalling() -> Iterator[StallingServer]:
    server = StallingServer()
    yield server
    server.close()


def _rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _queue(app: Flask, member: User, count: int = 1) -> list[int]:
    with app.test_request_context():
        user = db.session.get(User, member.id)
        ids = [outbox.queue("password_changed", user.email, user=user).id for _ in range(count)]
        db.session.commit()
    return ids


@pytest.mark.parametrize("extra_config", [{"PRIVACY_MAIL_TIMEOUT": 0.5}])
def test_a_mail_server_that_never_answers_times_out(
    app: Flask, stalling: StallingServer, member: User
) -> None:
    """Flask-Mail waits forever by default; the outbox gives up after PRIVACY_MAIL_TIMEOUT."""
    app.extensions["mail"].port = stalling.port
    _queue(app, member)
    reports: list[outbox.DeliveryReport] = []

    def deliver() -> None:
        with app.app_context():
            reports.append(outbox.deliver_due())

    worker = threading.Thread(target=deliver, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "delivery still waiting for a server that never answers"
    [report] = reports
    assert report.failed
    assert not report.sent
    [row] = _rows(app)
    assert row.sent_at is None
    assert row.claimed_until is None, "a failed attempt frees the message for its retry"
    assert "timed out" in (row.last_error or "")


@pytest.mark.parametrize("extra_config", [{"PRIVACY_MAIL_TIMEOUT": 30}])
def test_a_stalled_mail_server_never_holds_the_request(
    app: Flask, stalling: StallingServer, member: User
) -> None:
    """The response is finished, and closed, while delivery still waits on SMTP."""
    app.extensions["mail"].port = stalling.port
    plain = FlaskClient(app, use_cookies=True)  # no waiting for the background thread
    page = plain.get("/account/reset-password")
    fields = {**form_fields(page), "email": member.email}
    answers: list[int] = []
    request = threading.Thread(
        target=lambda: answers.append(
            plain.post("/account/reset-password", data=fields, buffered=True).status_code
        ),
        daemon=True,
    )
    request.start()
    request.join(timeout=10)
    assert not request.is_alive(), "the request (or its close callback) waited for SMTP"
    assert answers == [302]
    assert stalling.accepted.wait(10), "delivery started on the background thread"
    [row] = _rows(app)
    assert row.sent_at is None
    assert row.claimed_until is not None, "claimed while it is being sent"
    stalling.release()
    assert background.wait_idle(30)
    [row] = _rows(app)
    assert row.last_error
    assert row.sent_at is None


@pytest.mark.parametrize("extra_config", [{"PRIVACY_MAIL_DELIVERY": "cli"}])
def test_cli_delivery_leaves_mail_to_send_mail(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    assert client.submit("/account/reset-password", {"email": member.email}).status_code == 302
    assert smtp.messages == [], "in 'cli' mode the web process sends nothing"
    result = app.test_cli_runner().invoke(args=["privacy", "send-mail"])
    assert "Delivered 1, failed 0" in result.output
    assert len(smtp.to(member.email)) == 1


def test_the_old_switch_still_works_and_says_what_replaces_it(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning, match="PRIVACY_MAIL_DELIVERY = 'cli'"):
        app = make_host_app(tmp_path, PRIVACY_MAIL_SEND_AFTER_REQUEST=False)
    assert app.config["PRIVACY_MAIL_DELIVERY"] == "cli"


def test_a_claim_shorter_than_one_send_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="at least 10 times PRIVACY_MAIL_TIMEOUT"):
        make_host_app(tmp_path, PRIVACY_MAIL_TIMEOUT=30, PRIVACY_MAIL_CLAIM_FOR=60)


def test_a_worker_killed_mid_send_leaves_the_message_for_a_retry(
    app: Flask, smtp: SMTPSink, member: User
) -> None:
    """The claim is committed before sending; if the worker dies, the claim lapses."""
    [message_id] = _queue(app, member)
    with app.app_context(), sa.orm.Session(db.engine, expire_on_commit=False) as session:
        claimed = outbox.claim_next(session)
        assert claimed is not None  # ... and the worker dies here, before sending
    with app.app_context():
        assert outbox.deliver_due().sent == [], "still claimed by the dead worker"
        later = utcnow() + app.config["PRIVACY_MAIL_CLAIM_FOR"] + timedelta(seconds=1)
        with time_machine.travel(later, tick=True):
            assert outbox.deliver_due().sent == [message_id]
            assert outbox.deliver_due().sent == []
    assert len(smtp.to(member.email)) == 1
    [row] = _rows(app)
    assert row.attempts == 2, "the lost attempt counts, so a message that kills workers stops"


def test_many_deliverers_at_once_send_each_message_once(
    app: Flask, smtp: SMTPSink, member: User
) -> None:
    """Web threads, Celery workers and cron may all deliver at once: one send per message."""
    ids = _queue(app, member, count=40)
    barrier = threading.Barrier(6)

    def deliver(_: int) -> list[int]:
        barrier.wait(timeout=30)
        with app.app_context():
            return outbox.deliver_due().sent

    with ThreadPoolExecutor(6) as pool:
        sent = [i for batch in pool.map(deliver, range(6)) for i in batch]
    assert sorted(sent) == ids
    assert len(smtp.to(member.email)) == 40
    assert all(row.attempts == 1 for row in _rows(app))


def test_memory_rate_limits_warn_outside_debug_and_testing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        make_host_app(tmp_path, TESTING=False)
    [warning] = [r.getMessage() for r in caplog.records if "rate limits" in r.getMessage()]
    assert "each worker process counts on its own" in warning
    assert "PRIVACY_RATELIMIT_STORAGE_URI" in warning
    assert "[redis]" in warning
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        make_host_app(tmp_path / "testing", TESTING=True)
        make_host_app(tmp_path / "off", TESTING=False, PRIVACY_RATELIMIT_ENABLED=False)
    assert not [r for r in caplog.records if "rate limits" in r.getMessage()]


def test_a_storage_without_its_client_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the redis package, limits' own message names no way to fix it."""
    import sys

    monkeypatch.setitem(sys.modules, "redis", t.cast(t.Any, None))
    from limits.errors import ConfigurationError as LimitsError

    with pytest.raises(LimitsError, match=r"pip install 'flask-allcot-privacy\[redis\]'"):
        make_host_app(tmp_path, PRIVACY_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/5")
