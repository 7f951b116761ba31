"""Retention rules and ``flask privacy purge``: each rule on both sides of its cutoff (P38, P25)."""

from __future__ import annotations

import typing as t
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy import retention
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import (
    Comment,
    ContactMessage,
    LoginSession,
    OutboxMessage,
    User,
    UTCDateTime,
)

from .conftest import make_host_app

DAY = timedelta(days=1)


def purge(app: Flask, *options: str) -> list[str]:
    result = app.test_cli_runner().invoke(args=["privacy", "purge", *options])
    assert result.exit_code == 0, result.output
    return t.cast(list[str], result.output.splitlines())


def line_for(lines: list[str], name: str) -> str:
    [line] = [line for line in lines if line.startswith(f"{name}:")]
    return line


def add(app: Flask, *rows: t.Any) -> None:
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()


def comment(age: timedelta, ip: str = "203.0.113.9") -> Comment:
    return Comment(
        target="post:1",
        author_name="Ann",
        author_email="ann@example.test",
        body="Hello",
        ip_address=ip,
        user_agent="Browser/1",
        created_at=utcnow() - age,
    )


def test_purge_prints_one_line_per_rule_and_keeps_what_the_policy_keeps(app: Flask) -> None:
    """P38: comment metadata and contact messages are kept by default, as the policy says."""
    add(
        app,
        comment(3650 * DAY),
        ContactMessage(
            name="Ann", email="ann@example.test", message="Hi", created_at=utcnow() - 3650 * DAY
        ),
    )
    lines = purge(app)
    assert [line.split(":")[0] for line in lines] == [
        "comment-meta",
        "login-sessions",
        "delivered-mail",
        "contact-messages",
        "unconfirmed-requests",
        "expired-exports",
        "orders",
    ]
    assert line_for(lines, "comment-meta") == (
        "comment-meta: skipped, off (PRIVACY_RETAIN_COMMENT_META is None): this data is kept"
    )
    assert "{" not in line_for(lines, "contact-messages"), "no unformatted placeholder"
    assert "changed 0 row(s)" in line_for(lines, "login-sessions")
    assert "30 days" in line_for(lines, "login-sessions")
    with app.app_context():
        kept = db.session.scalars(sa.select(Comment)).one()
        assert kept.ip_address == "203.0.113.9"
        assert db.session.scalar(sa.select(sa.func.count(ContactMessage.id))) == 1


@pytest.mark.parametrize("extra_config", [{"PRIVACY_RETAIN_COMMENT_META": timedelta(days=365)}])
def test_comment_ip_and_user_agent_are_blanked_after_the_setting(app: Flask) -> None:
    """P38: set-based, both sides of the cutoff, idempotent, dry run changes nothing."""
    add(app, comment(366 * DAY, "198.51.100.1"), comment(364 * DAY, "198.51.100.2"))
    dry = purge(app, "--dry-run")
    assert "would change 1 row(s)" in line_for(dry, "comment-meta")
    with app.app_context():
        assert set(db.session.scalars(sa.select(Comment.ip_address))) == {
            "198.51.100.1",
            "198.51.100.2",
        }
    assert "changed 1 row(s)" in line_for(purge(app), "comment-meta")
    assert "changed 0 row(s)" in line_for(purge(app), "comment-meta"), "a second run does nothing"
    with app.app_context():
        rows = {c.body + c.ip_address: c for c in db.session.scalars(sa.select(Comment))}
        old = rows["Hello"]
        assert (old.ip_address, old.user_agent) == ("", "")
        assert old.author_email == "ann@example.test", "only the metadata goes"
        assert rows["Hello198.51.100.2"].user_agent == "Browser/1"


def test_ended_login_sessions_go_30_days_after_they_ended(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P38: expired and revoked logins on both sides of 30 days; live ones stay."""
    member = make_member("ann")
    now = utcnow()

    def session(token: str, expires: datetime, revoked: datetime | None = None) -> LoginSession:
        return LoginSession(
            user_id=member.id,
            token_hash=token * 64,
            created_at=expires - 2 * DAY,
            expires_at=expires,
            revoked_at=revoked,
        )

    add(
        app,
        session("a", now - 31 * DAY),
        session("b", now - 29 * DAY),
        session("c", now + DAY, revoked=now - 31 * DAY),
        session("d", now + DAY, revoked=now - 29 * DAY),
        session("e", now + DAY),
    )
    assert "would change 2 row(s)" in line_for(purge(app, "--dry-run"), "login-sessions")
    assert "changed 2 row(s)" in line_for(purge(app), "login-sessions")
    assert "changed 0 row(s)" in line_for(purge(app), "login-sessions")
    with app.app_context():
        left = set(db.session.scalars(sa.select(LoginSession.token_hash)))
    assert {token[0] for token in left} == {"b", "d", "e"}


def test_delivered_mail_goes_90_days_after_delivery(app: Flask) -> None:
    """P38: delivered mail on both sides of 90 days; mail not yet sent stays."""
    now = utcnow()

    def message(subject: str, sent: datetime | None) -> OutboxMessage:
        return OutboxMessage(
            template="t",
            recipients=["ann@example.test"],
            subject=subject,
            body_text="x",
            created_at=now - 200 * DAY,
            next_attempt_at=now - 200 * DAY,
            sent_at=sent,
        )

    add(
        app,
        message("old", now - 91 * DAY),
        message("recent", now - 89 * DAY),
        message("unsent", None),
    )
    assert "would change 1 row(s)" in line_for(purge(app, "--dry-run"), "delivered-mail")
    assert "changed 1 row(s)" in line_for(purge(app), "delivered-mail")
    assert "changed 0 row(s)" in line_for(purge(app), "delivered-mail")
    with app.app_context():
        assert set(db.session.scalars(sa.select(OutboxMessage.subject))) == {"recent", "unsent"}


@pytest.mark.parametrize("extra_config", [{"PRIVACY_RETAIN_CONTACT_MESSAGES": 730 * 86400}])
def test_contact_messages_go_when_configured(app: Flask) -> None:
    """P38: when a host sets a limit (in seconds, as from the environment) old ones go."""
    now = utcnow()
    add(
        app,
        ContactMessage(name="Old", email="a@example.test", message="x", created_at=now - 731 * DAY),
        ContactMessage(name="New", email="b@example.test", message="x", created_at=now - 729 * DAY),
    )
    assert "would change 1 row(s)" in line_for(purge(app, "--dry-run"), "contact-messages")
    assert "changed 1 row(s)" in line_for(purge(app), "contact-messages")
    assert "changed 0 row(s)" in line_for(purge(app), "contact-messages")
    with app.app_context():
        assert list(db.session.scalars(sa.select(ContactMessage.name))) == ["New"]


def test_a_host_keeps_financial_records_ten_years_and_adds_its_own_rules(tmp_path: Path) -> None:
    """P25: financial records the host registers are kept 10 years, then deleted."""
    app = make_host_app(tmp_path)
    state = app.extensions["allcot_privacy"]
    orders = sa.Table(
        "host_order",
        state.db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", UTCDateTime()),
    )
    privacy = state.privacy
    privacy.financial_records("orders", orders.c.created_at)
    calls: list[tuple[datetime, bool]] = []

    @privacy.retention_rule("host-cache", "The host's cache emptied")
    def empty_cache(now: datetime, dry_run: bool) -> int:
        calls.append((now, dry_run))
        return 7

    now = utcnow()
    with app.app_context():
        state.db.create_all()
        state.db.session.execute(
            sa.insert(orders),
            [
                {"id": 1, "created_at": now - 3654 * DAY},
                {"id": 2, "created_at": now - 3652 * DAY},
            ],
        )
        state.db.session.commit()
    dry = purge(app, "--dry-run")
    expected = "orders: would change 1 row(s); Orders (financial records) deleted after 3653 days"
    assert expected in dry
    assert "host-cache: would change 7 row(s); The host's cache emptied" in dry
    assert calls[-1][1] is True
    assert "changed 1 row(s)" in line_for(purge(app), "orders")
    assert "changed 0 row(s)" in line_for(purge(app), "orders")
    with app.app_context():
        assert list(state.db.session.scalars(sa.select(orders.c.id))) == [2]
        state.db.session.remove()
        state.db.engine.dispose()


def test_the_extensions_packages_add_built_in_rules(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How the rights package registers expire_unconfirmed_requests and delete_expired_exports."""
    monkeypatch.setattr(retention, "_BUILTIN", {})

    @retention.builtin_rule("unconfirmed-requests", "Unconfirmed requests expired after 24 hours")
    def expire_unconfirmed_requests(now: datetime, dry_run: bool) -> int:
        return 0 if dry_run else 3

    lines = purge(app)
    # Built-in rules run first, then the host's (the example site's orders).
    names = [line.split(":")[0] for line in lines]
    assert names[-2:] == ["unconfirmed-requests", "orders"]
    assert "changed 3 row(s)" in line_for(lines, "unconfirmed-requests")
    assert "would change 0 row(s)" in line_for(purge(app, "--dry-run"), "unconfirmed-requests")


def test_a_dry_run_changes_nothing_even_when_a_rule_writes(
    app: Flask, monkeypatch: pytest.MonkeyPatch, make_member: t.Callable[..., User]
) -> None:
    """A rule that writes in a dry run by mistake is rolled back by purge."""
    monkeypatch.setattr(retention, "_BUILTIN", {})

    @retention.builtin_rule("careless", "Writes even in a dry run")
    def careless(now: datetime, dry_run: bool) -> int:
        return int(
            db.session.execute(sa.delete(User)).rowcount  # type: ignore[attr-defined]
        )

    make_member("ann")
    purge(app, "--dry-run")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_deleting_delivered_mail_keeps_when_each_breach_notice_was_delivered(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P35 with P38: the outbox row goes after 90 days, the notice keeps its delivery time."""
    import time_machine

    from flask_allcot_privacy.models import BreachNotice

    make_member("ann")
    runner = app.test_cli_runner()
    opened = runner.invoke(args=["privacy", "breach", "open", "--summary", "Lost", "--all-members"])
    assert opened.exit_code == 0, opened.output
    with app.test_request_context():
        from flask_allcot_privacy import breaches

        breaches.queue_notices(1)
    assert runner.invoke(args=["privacy", "send-mail"]).exit_code == 0
    with time_machine.travel(utcnow() + 91 * DAY, tick=False):
        assert "changed 1 row(s)" in line_for(purge(app), "delivered-mail")
    with app.app_context():
        notice = db.session.scalars(sa.select(BreachNotice)).one()
        assert notice.notified_at is not None
        assert notice.message_id is None


def test_the_example_sites_orders_are_financial_records_kept_ten_years_P25(app: Flask) -> None:
    """P25: the blog's orders (invoices) are deleted by purge only after ten years."""
    from decimal import Decimal

    from example_site.orders import Order

    def order(age: timedelta, invoice: str) -> Order:
        return Order(
            email="ann@example.test",
            item="Mug",
            amount=Decimal("12.00"),
            invoice_number=invoice,
            created_at=utcnow() - age,
        )

    add(app, order(3660 * DAY, "INV-OLD"), order(3640 * DAY, "INV-YOUNG"))
    assert "would change 1 row(s)" in line_for(purge(app, "--dry-run"), "orders")
    assert "changed 1 row(s)" in line_for(purge(app), "orders")
    assert "changed 0 row(s)" in line_for(purge(app), "orders"), "idempotent"
    with app.app_context():
        kept = db.session.scalars(sa.select(Order.invoice_number)).all()
    assert kept == ["INV-YOUNG"]
