"""The outbox: mail is written with the change that causes it and delivered over real SMTP."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy import outbox
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import OutboxMessage, User

from .helpers import CookieCheckingClient, SMTPSink, html_body, links_in, text_body


def _messages(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_queued_mail_is_delivered_with_text_and_html(
    app: Flask, smtp: SMTPSink, member: User
) -> None:
    with app.test_request_context():
        user = db.session.get(User, member.id)
        outbox.queue("password_changed", user.email, user=user, reply_to="help@allcot.test")
        db.session.commit()
        report = outbox.deliver_due()
    assert len(report.sent) == 1
    [message] = smtp.to(member.email)
    assert message["Subject"] == "Your password was changed"
    assert message["Reply-To"] == "help@allcot.test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert "every other login was ended" in text_body(message)
    assert "<p>" in html_body(message)
    [row] = _messages(app)
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.category == "system"


def test_mail_of_a_rolled_back_change_is_never_sent(
    app: Flask, smtp: SMTPSink, member: User
) -> None:
    with app.test_request_context():
        user = db.session.get(User, member.id)
        outbox.queue("password_changed", user.email, user=user)
        db.session.rollback()
        report = outbox.deliver_due()
    assert report.sent == []
    assert smtp.messages == []
    assert _messages(app) == []


def test_request_delivers_its_mail_after_commit(
    client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    response = client.submit("/account/reset-password", {"email": member.email})
    assert response.status_code == 302
    message = smtp.last_to(member.email)
    assert any("/account/set-password/" in link for link in links_in(message))


def test_smtp_outage_keeps_the_message_and_delivers_it_once(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    smtp.stop()
    response = client.submit("/account/reset-password", {"email": member.email})
    assert response.status_code == 302, "an SMTP outage must not break the page"
    [row] = _messages(app)
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.last_error
    assert row.next_attempt_at > utcnow()

    smtp.start()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["privacy", "send-mail"])
    assert "Delivered 0" in result.output, "not due yet: the retry waits for its backoff"
    assert smtp.messages == []

    with time_machine.travel(utcnow() + timedelta(minutes=2), tick=True):
        result = runner.invoke(args=["privacy", "send-mail"])
        assert "Delivered 1, failed 0" in result.output
        again = runner.invoke(args=["privacy", "send-mail"])
        assert "Delivered 0" in again.output
    assert len(smtp.to(member.email)) == 1
    [row] = _messages(app)
    assert row.sent_at is not None
    assert row.attempts == 2


def test_retries_back_off_and_stop_after_max_attempts(
    app: Flask, smtp: SMTPSink, member: User
) -> None:
    smtp.stop()
    app.config["PRIVACY_MAIL_MAX_ATTEMPTS"] = 3
    with app.test_request_context():
        user = db.session.get(User, member.id)
        outbox.queue("password_changed", user.email, user=user)
        db.session.commit()
    waits = []
    moment = utcnow()
    for _ in range(4):
        with time_machine.travel(moment, tick=False), app.test_request_context():
            outbox.deliver_due()
        [row] = _messages(app)
        waits.append(row.next_attempt_at - moment)
        moment = row.next_attempt_at + timedelta(seconds=1)
    [row] = _messages(app)
    assert row.attempts == 3, "no attempt beyond PRIVACY_MAIL_MAX_ATTEMPTS"
    assert waits[0] == timedelta(minutes=1)
    assert waits[1] == timedelta(minutes=2)
    assert waits[2] == timedelta(minutes=4)


def test_a_claimed_message_is_not_sent_twice(app: Flask, smtp: SMTPSink, member: User) -> None:
    with app.test_request_context():
        user = db.session.get(User, member.id)
        message = outbox.queue("password_changed", user.email, user=user)
        db.session.commit()
        message_id = message.id
        # Another worker claimed it a moment ago.
        db.session.execute(
            sa.update(OutboxMessage).values(claimed_until=utcnow() + timedelta(minutes=5))
        )
        db.session.commit()
        assert outbox.deliver_due().sent == []
        with time_machine.travel(utcnow() + timedelta(minutes=6), tick=True):
            assert outbox.deliver_due().sent == [message_id]
    assert len(smtp.messages) == 1


def test_unknown_category_is_refused(app: Flask) -> None:
    import pytest

    with app.test_request_context(), pytest.raises(ValueError, match="category"):
        outbox.queue("password_changed", "a@b.test", category="newsletter")
