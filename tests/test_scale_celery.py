"""A real Celery worker (Redis broker) delivers the outbox, exactly once, beside send-mail.

The worker is a subprocess of the example site (``celery -A example_site.celery_worker
worker``, prefork pool) on the test's PostgreSQL schema, sending to the test's SMTP sink.
"""

from __future__ import annotations

import subprocess
import sys
import time
import typing as t
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy import outbox
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import OutboxMessage, User

from .helpers import CookieCheckingClient, SMTPSink, links_in
from .services import REDIS_URL, celery_worker, forget_redis_keys, need_services, site_env
from .stalls import StallingServer

pytestmark = pytest.mark.services

MESSAGES = 60


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A Celery queue of this test's own, so parallel tests never share tasks."""
    name = f"privacy-test-{uuid.uuid4().hex[:10]}"
    yield name
    forget_redis_keys(f"*{name}*")


@pytest.fixture
def extra_config(queue_name: str) -> dict[str, t.Any]:
    return {
        "CELERY": {"broker_url": REDIS_URL, "task_default_queue": queue_name},
        "PRIVACY_MAIL_DELIVERY": "celery",
    }


def _worker_env(database_uri: str, mail_port: int, queue_name: str, **more: str) -> dict[str, str]:
    return site_env(
        database_uri,
        mail_port,
        CELERY__broker_url=REDIS_URL,
        CELERY__task_default_queue=queue_name,
        PRIVACY_MAIL_DELIVERY="celery",
        **more,
    )


@pytest.fixture
def worker_env(app: Flask, smtp: SMTPSink, database_uri: str, queue_name: str) -> dict[str, str]:
    return _worker_env(database_uri, smtp.port, queue_name)


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Path]:
    need_services("celery")
    with celery_worker(worker_env, tmp_path, concurrency=2) as started:
        yield started.log_file


def _unsent(app: Flask) -> int:
    with app.app_context():
        return int(
            db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.sent_at.is_(None)))
            or 0
        )


def _wait_until_sent(app: Flask, log_file: Path, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while _unsent(app) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _unsent(app) == 0, (
        f"still unsent after {within} s; worker log:\n{log_file.read_text()[-3000:]}"
    )


def test_celery_workers_and_send_mail_together_send_each_message_once(
    app: Flask, smtp: SMTPSink, member: User, worker: Path, worker_env: dict[str, str]
) -> None:
    with app.test_request_context():
        user = db.session.get(User, member.id)
        for i in range(MESSAGES):
            outbox.queue("password_changed", f"r{i:02d}@example.test", user=user)
        db.session.commit()
    celery_app = app.extensions["celery"]
    for _ in range(4):
        celery_app.send_task("privacy.deliver_outbox")
    send_mail = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "example_site", "privacy", "send-mail"],
            env=worker_env,
            cwd=worker.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=90)[0].decode() for p in send_mail]
    assert all(p.returncode == 0 for p in send_mail), outputs
    _wait_until_sent(app, worker)
    per_recipient = Counter(m["X-Envelope-To"] for m in smtp.messages)
    assert per_recipient == Counter({f"r{i:02d}@example.test": 1 for i in range(MESSAGES)})
    with app.app_context():
        attempts = db.session.scalars(sa.select(OutboxMessage.attempts)).all()
    assert set(attempts) == {1}
    by_cli = sum(int(o.split()[1].rstrip(",")) for o in outputs)
    print(f"{MESSAGES} messages: {by_cli} by send-mail, {MESSAGES - by_cli} by Celery")


def test_a_request_hands_its_mail_to_the_celery_worker(
    client: CookieCheckingClient, smtp: SMTPSink, member: User, worker: Path
) -> None:
    """P4 in Celery mode: the web process only publishes; the worker sends the link."""
    assert client.submit("/account/reset-password", {"email": member.email}).status_code == 302
    message = smtp.wait_for(member.email, timeout=90)
    assert any("/account/set-password/" in link for link in links_in(message)), worker.read_text()
    assert len(smtp.to(member.email)) == 1


def test_a_worker_killed_mid_send_leaves_the_message_to_be_retried(
    app: Flask,
    smtp: SMTPSink,
    member: User,
    database_uri: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    """SIGKILL while the worker waits on SMTP: the claim lapses and the message goes once."""
    need_services("celery")
    stall = StallingServer()
    env = _worker_env(database_uri, stall.port, queue_name, PRIVACY_MAIL_TIMEOUT="20")
    with app.test_request_context():
        user = db.session.get(User, member.id)
        message_id = outbox.queue("password_changed", user.email, user=user).id
        db.session.commit()
    try:
        with celery_worker(env, tmp_path, concurrency=1) as started:
            app.extensions["celery"].send_task("privacy.deliver_outbox", args=[[message_id]])
            assert stall.accepted.wait(60), started.log_file.read_text()[-3000:]
            started.kill()
    finally:
        stall.close()
    with app.app_context():
        row = db.session.get(OutboxMessage, message_id)
        assert row is not None
        assert row.sent_at is None
        assert row.attempts == 1
        assert outbox.deliver_due().sent == [], "still claimed by the dead worker"
        later = utcnow() + app.config["PRIVACY_MAIL_CLAIM_FOR"] + timedelta(seconds=1)
        with time_machine.travel(later, tick=True):
            assert outbox.deliver_due().sent == [message_id]
        db.session.refresh(row)
        assert row.attempts == 2
    assert len(smtp.to(member.email)) == 1
