"""Seeding what the site holds about a person, for the export and erasure tests."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from example_site import db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import Comment, ConsentRecord, ContactMessage, OutboxMessage

from .conftest import PASSWORD
from .helpers import CookieCheckingClient

#: Visitor text that must never run in the export report.
SCRIPT = "<script>alert('pwned')</script>"
LOGIN_IP = "203.0.113.42"
LOGIN_AGENT = "AnnBrowser/1.0 (export test)"
COMMENT_IP = "198.51.100.77"
COMMENT_AGENT = "CommentBrowser/2.0"


def log_in_from(client: CookieCheckingClient, username: str) -> None:
    """Log in through the real form from a recognisable IP address and browser."""
    response = client.submit(
        "/account/login",
        {"username": username, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": LOGIN_IP},
        headers={"User-Agent": LOGIN_AGENT},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def add_comments(
    app: Flask, count: int, *, user_id: int | None = None, email: str = "", body: str = "hello"
) -> None:
    """``count`` comments by a member (``user_id``) or a visitor (``email``)."""
    with app.app_context():
        db.session.add_all(
            Comment(
                target="post:1",
                user_id=user_id,
                author_name="" if user_id else "Visiting Ann",
                author_email=email,
                author_url="https://ann.example.test/" if email else "",
                body=f"{body} {number}",
                ip_address=COMMENT_IP,
                user_agent=COMMENT_AGENT,
            )
            for number in range(count)
        )
        db.session.commit()


def add_correspondence(app: Flask, user_id: int | None, email: str) -> None:
    """A contact message, a consent record and an email sent to the address."""
    with app.app_context():
        db.session.add(
            ContactMessage(
                user_id=user_id,
                name="Ann",
                email=email,
                message=f"Please call me. {SCRIPT}",
                ip_address="192.0.2.5",
                user_agent="ContactBrowser/3.0",
            )
        )
        if user_id is not None:
            db.session.add(
                ConsentRecord(
                    consent_id="c0ffee00-0000-4000-8000-000000000001",
                    user_id=user_id,
                    granted=["necessary", "analytics"],
                    refused=["marketing"],
                    revision="r1",
                    ip_address="192.0.2.6",
                    user_agent="ConsentBrowser/4.0",
                    source="banner",
                    created_at=utcnow() - timedelta(days=1),
                )
            )
        db.session.add(
            OutboxMessage(
                template="privacy_request_received",
                recipients=[email],
                subject="We received your request",
                body_text=f"Hello {email}, we will answer within seven business days.",
            )
        )
        db.session.commit()
