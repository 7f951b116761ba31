"""The audit trail: what is recorded, and how admins read it at /staff/audit (P33)."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy import audit
from flask_allcot_privacy.models import AuditEvent, User

from .helpers import CookieCheckingClient, field_error, log_in, soup


def _events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
        for event in events:
            db.session.expunge(event)
        return list(events)


def _rows(response: t.Any) -> list[dict[str, str]]:
    table = soup(response).select_one("table.privacy-staff-audit")
    assert table is not None
    keys = [th.get_text(strip=True) for th in table.select("thead th")]
    return [
        dict(zip(keys, (td.get_text(" ", strip=True) for td in tr.select("td")), strict=True))
        for tr in table.select("tbody tr")
    ]


def test_record_names_the_logged_in_staff_member_and_their_address(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    staff = make_member("clerk", role="staff")
    client.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    log_in(client, "clerk")
    client.get("/staff/?q=clerk")
    [event] = _events(app)
    assert (event.actor_id, event.action, event.subject_id) == (
        staff.id,
        "directory.search",
        staff.id,
    )
    assert event.ip_address == "192.0.2.44"
    assert event.created_at.tzinfo is UTC


def test_record_stores_the_address_normalised(app: Flask) -> None:
    """The audit trail writes a client's address as every other table does (ipaddr)."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:192.0.2.45"}):
        audit.record("test.mapped")
        db.session.commit()
    [event] = _events(app)
    assert event.ip_address == "192.0.2.45"


def test_record_leaves_the_commit_to_its_caller(app: Flask) -> None:
    """An action that rolls back leaves no audit event behind."""
    with app.test_request_context():
        audit.record("test.rolled_back", subject_id=1, detail="x")
        db.session.rollback()
        audit.record_cli("test.kept", detail="y" * 600)
        db.session.commit()
    [event] = _events(app)
    assert event.action == "test.kept"
    assert event.actor_id is None
    assert event.detail.startswith("cli: yyy")
    assert len(event.detail) == 500  # long details are cut, never refused


def test_record_works_outside_a_request(app: Flask) -> None:
    with app.app_context():
        audit.record("job.ran")
        audit.record_cli("job.cli")
        db.session.commit()
    first, second = _events(app)
    assert (first.actor_id, first.ip_address, first.detail) == (None, "", "")
    assert (second.actor_id, second.detail) == (None, "cli")


def _event(app: Flask, when: str, action: str, actor: int | None, detail: str = "") -> None:
    moment = datetime.fromisoformat(when).replace(tzinfo=UTC)
    with time_machine.travel(moment, tick=False), app.app_context():
        db.session.add(AuditEvent(action=action, actor_id=actor, subject_id=None, detail=detail))
        db.session.commit()


def test_admins_filter_the_trail_by_staff_member_and_date(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    """P33: admins read who did what, filtered by staff member and date range (UTC days)."""
    ann = make_member("ann", role="staff")
    bob = make_member("bob", role="privacy_officer")
    make_member("boss", role="admin")
    _event(app, "2024-03-01T23:59:59", "directory.search", ann.id, "q='x'")
    _event(app, "2024-03-02T00:00:00", "consent.lookup", bob.id)
    _event(app, "2024-03-03T12:00:00", "comment.approve", bob.id)
    _event(app, "2024-03-04T00:00:00", "role.change", None, "cli: none -> staff")
    log_in(client, "boss")

    everything = _rows(client.get("/staff/audit"))
    assert [r["What"] for r in everything] == [
        "role.change",
        "comment.approve",
        "consent.lookup",
        "directory.search",
    ]
    assert everything[0]["Who"] == "command line"
    assert everything[3]["Who"] == "ann"
    assert everything[3]["When"] == "2024-03-01 23:59:59"

    by_bob = _rows(client.get("/staff/audit", query_string={"actor": str(bob.id)}))
    assert [r["What"] for r in by_bob] == ["comment.approve", "consent.lookup"]
    by_cli = _rows(client.get("/staff/audit", query_string={"actor": "cli"}))
    assert [r["What"] for r in by_cli] == ["role.change"]
    one_day = _rows(
        client.get("/staff/audit", query_string={"since": "2024-03-02", "until": "2024-03-02"})
    )
    assert [r["What"] for r in one_day] == ["consent.lookup"]
    from_the_3rd = _rows(client.get("/staff/audit", query_string={"since": "2024-03-03"}))
    assert [r["What"] for r in from_the_3rd][-1] == "comment.approve"
    up_to_the_1st = _rows(client.get("/staff/audit", query_string={"until": "2024-03-01"}))
    assert [r["What"] for r in up_to_the_1st] == ["directory.search"]

    options = [o.get_text() for o in soup(client.get("/staff/audit")).select("#actor option")]
    assert options == ["Everyone", "The command line", "ann", "bob", "boss"]


def test_the_trail_filters_by_the_member_concerned(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("boss", role="admin")
    member = make_member("subject")
    log_in(client, "boss")
    client.get(f"/staff/members/{member.id}/role")
    client.get("/staff/")
    rows = _rows(client.get("/staff/audit", query_string={"subject": str(member.id)}))
    assert [(r["What"], r["On whom"]) for r in rows] == [("role.view", f"subject (#{member.id})")]


def test_bad_filters_are_refused_beside_the_field(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("boss", role="admin")
    log_in(client, "boss")
    bad_date = client.get("/staff/audit", query_string={"since": "2024-02-30"})
    assert bad_date.status_code == 400
    assert field_error(bad_date, "since")
    assert soup(bad_date).select_one("#since")["value"] == "2024-02-30"
    assert soup(bad_date).select_one("table.privacy-staff-audit") is None

    backwards = client.get(
        "/staff/audit", query_string={"since": "2024-03-02", "until": "2024-03-01"}
    )
    assert backwards.status_code == 400
    assert field_error(backwards, "until") == "The end date is before the start date."
    assert client.get("/staff/audit", query_string={"actor": "999"}).status_code == 400
    assert client.get("/staff/audit", query_string={"subject": "-1"}).status_code == 400
    assert client.get("/staff/audit", query_string={"subject": "9" * 30}).status_code == 400
    assert client.get("/staff/audit", query_string={"until": "9999-12-31"}).status_code == 200
    assert client.get("/staff/audit", query_string={"since": "0001-01-01"}).status_code == 200
    assert client.get("/staff/audit", query_string={"page": "9" * 30}).status_code == 200


def test_reading_the_trail_is_itself_recorded(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    admin = make_member("boss", role="admin")
    log_in(client, "boss")
    client.get("/staff/audit", query_string={"since": "2024-01-01", "actor": ""})
    [event] = [e for e in _events(app) if e.action == "audit.view"]
    assert (event.actor_id, event.detail) == (admin.id, "since=2024-01-01")


def test_every_recorded_event_kind_lands_in_the_trail(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User], smtp: t.Any
) -> None:
    """P33: directory pages, role views and changes, CLI actions and trail reads are audited."""
    admin = make_member("boss", role="admin")
    member = make_member("someone")
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["privacy", "create-staff", "newbie", "newbie@example.test"]).exit_code
        == 0
    )
    assert runner.invoke(args=["privacy", "set-role", "someone", "staff"]).exit_code == 0
    log_in(client, "boss")
    client.get("/staff/")
    client.get("/staff/?q=some")
    client.get(f"/staff/members/{member.id}/role")
    client.submit(
        f"/staff/members/{member.id}/role", {"role": "none"}, form_selector="form[action$='/role']"
    )
    client.get("/staff/audit")
    seen = [(e.action, e.actor_id) for e in _events(app)]
    assert seen == [
        ("staff.create", None),
        ("role.change", None),
        ("directory.browse", admin.id),
        ("directory.search", admin.id),
        ("role.view", admin.id),
        ("role.view", admin.id),  # the form is read before it is sent
        ("role.change", admin.id),
        ("audit.view", admin.id),
    ]
