"""Helpers shared by the marketing tests: subscribers made through the real flows."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy.models import OutboxMessage, Subscription, User

from .helpers import CookieCheckingClient, SMTPSink, links_in, path_of

#: Marketing links must be https (RFC 8058); production sets this with SERVER_NAME.
HTTPS = {"PREFERRED_URL_SCHEME": "https"}


def subscribe_visitor(
    client: CookieCheckingClient, smtp: SMTPSink, address: str, *, tracking: bool = False
) -> None:
    """Double opt-in end to end: the form, the emailed link, its page's button."""
    response = client.submit("/privacy/subscribe", {"email": address})
    assert response.status_code == 302, response.get_data(as_text=True)
    [link] = [link for link in links_in(smtp.last_to(address)) if "/subscribe/confirm/" in link]
    confirmed = client.submit(path_of(link), {"tracking": tracking})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)


def subscription(app: Flask, address: str) -> Subscription | None:
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription).where(Subscription.email == address))
        if row is not None:
            db.session.expunge(row)
        return row


def member(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def send_newsletter(app: Flask) -> t.Any:
    """``flask privacy send-marketing newsletter`` then ``send-mail``, as cron would."""
    runner = app.test_cli_runner()
    queued = runner.invoke(args=["privacy", "send-marketing", "newsletter"])
    if queued.exception and not isinstance(queued.exception, SystemExit):
        raise queued.exception
    assert queued.exit_code == 0, queued.output
    delivered = runner.invoke(args=["privacy", "send-mail", "--limit", "1000"])
    assert delivered.exit_code == 0, delivered.output
    return queued


def outbox_rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
