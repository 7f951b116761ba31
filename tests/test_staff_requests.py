"""The officers' side: the queue, the staff home, reminders, the CLI and the sweeps (P32)."""

from __future__ import annotations

import typing as t
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import OutboxMessage, PrivacyRequest, User
from flask_allcot_privacy.rights.sweeps import delete_expired_exports, expire_unconfirmed_requests

from .conftest import log_in
from .helpers import CookieCheckingClient, SMTPSink, links_in, soup, text_body

TODAY = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def config(config: dict[str, t.Any], tmp_path: Path) -> dict[str, t.Any]:
    return {**config, "PRIVACY_EXPORT_DIR": str(tmp_path / "exports")}


def add_request(app: Flask, email: str, kind: str = "export", **fields: t.Any) -> int:
    """A request straight in the database (the flow itself is tested end to end elsewhere)."""
    fields.setdefault("state", "confirmed")
    with app.app_context():
        row = PrivacyRequest(email=email, email_key=email.lower(), request_type=kind, **fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def member_client(app: Flask, make_member: t.Callable[..., User], name: str, role: str | None):
    make_member(name, role=role)
    client = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(client, name).status_code == 302
    return client


def test_plain_staff_are_refused(app: Flask, make_member: t.Callable[..., User]) -> None:
    rid = add_request(app, "ann@example.test", deadline=TODAY)
    staff = member_client(app, make_member, "sam", "staff")
    assert staff.get("/staff/requests").status_code == 403
    assert staff.get(f"/staff/requests/{rid}").status_code == 403
    home = soup(staff.get("/staff/"))
    assert "Open privacy requests" not in home.get_text()


def test_queue_sorted_by_deadline_overdue_first(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    later = add_request(app, "a@example.test", deadline=TODAY + timedelta(days=5))
    overdue = add_request(app, "b@example.test", deadline=TODAY - timedelta(days=2))
    soon = add_request(app, "c@example.test", deadline=TODAY + timedelta(days=1))
    pending = add_request(app, "d@example.test", state="pending")
    done = add_request(app, "e@example.test", state="completed", deadline=TODAY)
    with time_machine.travel(NOW, tick=False):
        officer = member_client(app, make_member, "olivia", "privacy_officer")
        page = soup(officer.get("/staff/requests"))
        rows = page.select("tr[data-request-id]")
        assert [int(r["data-request-id"]) for r in rows] == [overdue, soon, later, pending]
        assert "privacy-staff-request--overdue" in rows[0]["class"]
        assert "overdue" not in rows[1].get_text()
        closed = soup(officer.get("/staff/requests?state=completed"))
        assert [int(r["data-request-id"]) for r in closed.select("tr[data-request-id]")] == [done]
        home = soup(officer.get("/staff/"))
    counts = home.select_one(".privacy-staff-counts").get_text(" ", strip=True)
    assert "3 Open privacy requests" in counts
    assert "nearest deadline: November 29, 2026" in counts


def test_unknown_request_and_unknown_action(app: Flask, make_member: t.Callable[..., User]) -> None:
    officer = member_client(app, make_member, "olivia", "privacy_officer")
    assert officer.get("/staff/requests/999").status_code == 404
    rid = add_request(app, "ann@example.test", deadline=TODAY)
    page = officer.get(f"/staff/requests/{rid}")
    token = soup(page).select_one("form[data-action=send_export] input[name=csrf_token]")["value"]
    response = officer.post(
        f"/staff/requests/{rid}", data={"csrf_token": token, "action": "explode"}
    )
    assert response.status_code == 400


# --- reminders ---


def test_reminders_and_overdue_warnings_are_sent_once(
    app: Flask, make_member: t.Callable[..., User], smtp: SMTPSink
) -> None:
    """P32: two business days ahead a reminder, after the deadline a warning; each once."""
    make_member("olivia", role="privacy_officer")
    make_member("sam", role="staff")
    # Tuesday 1 Dec: two business days ahead is Thursday 3 Dec.
    due_thursday = add_request(app, "a@example.test", deadline=date(2026, 12, 3))
    due_friday = add_request(app, "b@example.test", deadline=date(2026, 12, 4))
    overdue = add_request(app, "c@example.test", deadline=date(2026, 11, 30))
    runner = app.test_cli_runner()
    with time_machine.travel(NOW, tick=False):
        first = runner.invoke(args=["privacy", "requests", "remind"])
        second = runner.invoke(args=["privacy", "requests", "remind"])
    assert first.exit_code == 0, first.output
    assert "Reminded of 1, warned of 1" in first.output
    assert "Reminded of 0, warned of 0" in second.output
    mails = smtp.to("olivia@example.test")
    assert sorted(m["Subject"] for m in mails) == [
        "Privacy requests due in two business days",
        "Privacy requests past their deadline",
    ]
    reminder = next(m for m in mails if "due in" in m["Subject"])
    assert any(link.endswith(f"/staff/requests/{due_thursday}") for link in links_in(reminder))
    assert f"/staff/requests/{due_friday}" not in text_body(reminder)
    warning = next(m for m in mails if "past" in m["Subject"])
    assert any(link.endswith(f"/staff/requests/{overdue}") for link in links_in(warning))
    assert smtp.to("sam@example.test") == []
    # Friday's reminder goes on Wednesday.
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        third = runner.invoke(args=["privacy", "requests", "remind"])
    assert "Reminded of 1, warned of 0" in third.output


def test_remind_without_officers_fails_loudly(app: Flask) -> None:
    add_request(app, "a@example.test", deadline=TODAY)
    result = app.test_cli_runner().invoke(args=["privacy", "requests", "remind"])
    assert result.exit_code != 0
    assert "privacy_officer" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(PrivacyRequest.reminder_sent_at)) is None


# --- the command line ---


def test_requests_list_and_process(
    app: Flask, make_member: t.Callable[..., User], smtp: SMTPSink
) -> None:
    runner = app.test_cli_runner()
    rid = add_request(app, "ann@example.test", "correct", deadline=TODAY, details="Fix my name")
    export = add_request(app, "bob@example.test", "export", deadline=TODAY + timedelta(days=3))
    listed = runner.invoke(args=["privacy", "requests", "list"])
    assert listed.exit_code == 0
    lines = [line.split("\t") for line in listed.stdout.strip().splitlines()]
    assert [int(line[0]) for line in lines] == [rid, export]

    missing_note = runner.invoke(args=["privacy", "requests", "process", str(rid)])
    assert missing_note.exit_code != 0
    assert "--note" in missing_note.output
    done = runner.invoke(args=["privacy", "requests", "process", str(rid), "--note", "Renamed."])
    assert done.exit_code == 0, done.output
    assert "Renamed." in text_body(smtp.last_to("ann@example.test"))
    again = runner.invoke(args=["privacy", "requests", "process", str(rid), "--note", "x"])
    assert again.exit_code != 0
    assert "completed" in again.output

    exported = runner.invoke(args=["privacy", "requests", "process", str(export)])
    assert exported.exit_code == 0, exported.output
    assert smtp.last_to("bob@example.test")["Subject"] == "Your data is ready to download"
    assert runner.invoke(args=["privacy", "requests", "process", "999"]).exit_code != 0
    assert runner.invoke(args=["privacy", "requests", "process", "abc"]).exit_code != 0


# --- the sweeps the purge command runs ---


def test_unconfirmed_requests_expire(app: Flask) -> None:
    with time_machine.travel(NOW, tick=False):
        old = add_request(app, "a@example.test", state="pending", confirm_sent_at=utcnow())
    with time_machine.travel(NOW + timedelta(hours=20), tick=False):
        fresh = add_request(app, "b@example.test", state="pending", confirm_sent_at=utcnow())
    confirmed = add_request(app, "c@example.test", confirm_sent_at=NOW - timedelta(days=9))
    later = NOW + timedelta(hours=24, minutes=1)
    with app.app_context():
        assert expire_unconfirmed_requests(later, dry_run=True) == 1
        assert db.session.get(PrivacyRequest, old).state == "pending"
        assert expire_unconfirmed_requests(later, dry_run=False) == 1
        db.session.expire_all()
        states = {row.id: row.state for row in db.session.scalars(sa.select(PrivacyRequest))}
    assert states == {old: "expired", fresh: "pending", confirmed: "confirmed"}


def test_expired_export_files_are_deleted(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "old.zip").write_bytes(b"old")
    (folder / "new.zip").write_bytes(b"new")
    old = add_request(
        app,
        "a@example.test",
        state="completed",
        export_file="old.zip",
        export_token_hash="x",
        export_expires_at=NOW - timedelta(minutes=1),
    )
    add_request(
        app,
        "b@example.test",
        state="completed",
        export_file="new.zip",
        export_token_hash="y",
        export_expires_at=NOW + timedelta(days=1),
    )
    with app.app_context():
        assert delete_expired_exports(NOW, dry_run=True) == 1
        assert (folder / "old.zip").exists()
        assert delete_expired_exports(NOW, dry_run=False) == 1
        row = db.session.get(PrivacyRequest, old)
        assert (row.export_file, row.export_token_hash) == (None, None)
    assert not (folder / "old.zip").exists()
    assert (folder / "new.zip").exists()


def test_outbox_holds_one_message_per_reminder(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """Reminders go through the outbox (so a failed delivery is retried)."""
    make_member("olivia", role="privacy_officer")
    add_request(app, "a@example.test", deadline=date(2026, 11, 1))
    with time_machine.travel(NOW, tick=False):
        app.test_cli_runner().invoke(args=["privacy", "requests", "remind"])
    with app.app_context():
        templates = list(db.session.scalars(sa.select(OutboxMessage.template)))
    assert templates == ["privacy_request_overdue"]


def test_build_exports_picks_up_what_was_left_behind(app: Flask, smtp: SMTPSink) -> None:
    """An export asked for but never built (a crashed worker) is built by the cron job."""
    marked = add_request(app, "ann@example.test", deadline=TODAY, export_requested_at=utcnow())
    add_request(app, "bob@example.test", deadline=TODAY)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["privacy", "requests", "build-exports"])
    assert result.exit_code == 0, result.output
    assert "Built 1 export(s)." in result.output
    assert smtp.last_to("ann@example.test")["Subject"] == "Your data is ready to download"
    assert smtp.to("bob@example.test") == []
    with app.app_context():
        assert db.session.get(PrivacyRequest, marked).state == "completed"
    again = runner.invoke(args=["privacy", "requests", "build-exports"])
    assert "Built 0 export(s)." in again.output


def test_the_purge_runs_both_sweeps(app: Flask) -> None:
    """``flask privacy purge`` expires unconfirmed requests (not lazily) and old exports."""
    with time_machine.travel(NOW - timedelta(days=2), tick=False):
        stale = add_request(app, "a@example.test", state="pending", confirm_sent_at=utcnow())
    result = app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "unconfirmed-requests" in result.output
    assert "expired-exports" in result.output
    with app.app_context():
        assert db.session.get(PrivacyRequest, stale).state == "expired"
