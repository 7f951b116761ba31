"""Roles: admins assign them on screen, operators from the command line (P33)."""

from __future__ import annotations

import typing as t
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import create_app, db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import AuditEvent, LoginSession, OutboxMessage, User

from .helpers import (
    PASSWORD,
    CookieCheckingClient,
    SMTPSink,
    app_settings,
    field_error,
    links_in,
    log_in,
    path_of,
    soup,
    text_body,
)

ROLE_FORM = "form[action$='/role']"


def _user(app: Flask, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username_key == username.lower()))
        assert user is not None
        db.session.expunge(user)
        return user


def _live_sessions(app: Flask, user_id: int) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                sa.select(sa.func.count(LoginSession.id)).where(
                    LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)
                )
            )
            or 0
        )


def _events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        for event in events:
            db.session.expunge(event)
        return list(events)


def _admin(app: Flask, make_member: t.Callable[..., User], name: str = "boss") -> t.Any:
    admin = make_member(name, role="admin")
    client = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(client, name).status_code == 302
    return admin, client


# -- On screen ------------------------------------------------------------------------


def test_admin_assigns_a_role_which_ends_the_members_logins(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P33: the role change is audited and ends the member's logins, so it applies at once."""
    admin, client = _admin(app, make_member)
    member = make_member("helper")
    log_in(t.cast(CookieCheckingClient, app.test_client()), "helper")
    assert _live_sessions(app, member.id) == 1

    response = client.submit(
        f"/staff/members/{member.id}/role", {"role": "privacy_officer"}, form_selector=ROLE_FORM
    )
    assert response.status_code == 302
    assert _user(app, "helper").role == "privacy_officer"
    assert _live_sessions(app, member.id) == 0
    page = client.get(response.headers["Location"])
    assert "now has the role: Privacy officer" in soup(page).select_one(".privacy-flash").get_text()
    [viewed, _viewed_again] = _events(app, "role.view")
    assert (viewed.actor_id, viewed.subject_id) == (admin.id, member.id)
    [change] = _events(app, "role.change")
    assert (change.actor_id, change.subject_id, change.detail) == (
        admin.id,
        member.id,
        "none -> privacy_officer",
    )
    assert change.ip_address == "127.0.0.1"


def test_the_role_page_shows_the_four_fields_and_the_role(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    _admin_user, client = _admin(app, make_member)
    member = make_member("shown", first_name="Sia", bio="not for staff", website="https://x.test")
    page = soup(client.get(f"/staff/members/{member.id}/role"))
    terms = [dt.get_text() for dt in page.select("dl.privacy-staff-member dt")]
    assert terms == ["Username", "First name", "Last name", "Email", "Role now"]
    assert "not for staff" not in page.get_text()
    assert "https://x.test" not in str(page)
    assert page.select_one("input[name=confirm_own]") is None


def test_role_change_needs_the_csrf_token(app: Flask, make_member: t.Callable[..., User]) -> None:
    _admin_user, client = _admin(app, make_member)
    member = make_member("target")
    response = client.post(f"/staff/members/{member.id}/role", data={"role": "admin"})
    assert response.status_code == 400
    assert _user(app, "target").role is None
    assert _events(app, "role.change") == []


def test_an_unknown_role_is_refused_beside_the_field(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    _admin_user, client = _admin(app, make_member)
    member = make_member("target")
    response = client.submit(
        f"/staff/members/{member.id}/role", {"role": "superuser"}, form_selector=ROLE_FORM
    )
    assert response.status_code == 400
    assert field_error(response, "role")
    assert _user(app, "target").role is None


def test_an_admin_cannot_drop_their_own_admin_role_by_accident(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    make_member("other-admin", role="admin")
    admin, client = _admin(app, make_member)
    url = f"/staff/members/{admin.id}/role"
    assert soup(client.get(url)).select_one("input[name=confirm_own]") is not None

    refused = client.submit(url, {"role": "staff"}, form_selector=ROLE_FORM)
    assert refused.status_code == 400
    assert "confirm" in field_error(refused, "confirm_own")
    assert soup(refused).select_one("select[name=role] option[selected]")["value"] == "staff"
    assert _user(app, "boss").role == "admin"

    done = client.submit(url, {"role": "staff", "confirm_own": True}, form_selector=ROLE_FORM)
    assert done.status_code == 302
    assert done.headers["Location"] == "/staff/"
    assert _user(app, "boss").role == "staff"
    # The browser they did it from stays logged in, now with the smaller role.
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/roles").status_code == 403


def test_the_last_admin_cannot_remove_the_admin_role(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    admin, client = _admin(app, make_member)
    response = client.submit(
        f"/staff/members/{admin.id}/role",
        {"role": "none", "confirm_own": True},
        form_selector=ROLE_FORM,
    )
    assert response.status_code == 400
    assert "only admin" in field_error(response, "role")
    assert _user(app, "boss").role == "admin"


def test_unchanged_role_changes_nothing(app: Flask, make_member: t.Callable[..., User]) -> None:
    _admin_user, client = _admin(app, make_member)
    member = make_member("steady", role="staff")
    response = client.submit(
        f"/staff/members/{member.id}/role", {"role": "staff"}, form_selector=ROLE_FORM
    )
    assert response.status_code == 302
    assert _events(app, "role.change") == []


def test_erased_or_missing_members_have_no_role_page(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    _admin_user, client = _admin(app, make_member)
    erased = make_member("erased-one", erased_at=utcnow())
    assert client.get(f"/staff/members/{erased.id}/role").status_code == 404
    assert client.get("/staff/members/9999/role").status_code == 404
    assert client.get(f"/staff/members/{'9' * 30}/role").status_code == 404


def test_roles_page_lists_role_holders_most_privileged_first(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    _admin_user, client = _admin(app, make_member)
    make_member("aa-staff", role="staff")
    make_member("zz-officer", role="privacy_officer")
    make_member("no-role")
    rows = soup(client.get("/staff/roles")).select("table.privacy-staff-holders tbody tr")
    listed = [
        (r.select("td")[0].get_text(), r.select("td")[4].get_text(" ", strip=True)) for r in rows
    ]
    assert [name for name, _ in listed] == ["boss", "zz-officer", "aa-staff"]
    assert listed[1][1].startswith("Privacy officer")


def test_reading_the_roles_page_is_audited_with_the_ids_shown(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P33: the roles page shows names and emails of staff, so reading it is recorded."""
    admin, client = _admin(app, make_member)
    officer = make_member("zz-officer", role="privacy_officer")
    make_member("no-role")
    assert client.get("/staff/roles").status_code == 200
    [event] = _events(app, "roles.view")
    assert (event.actor_id, event.subject_id) == (admin.id, None)
    assert event.detail == f"ids={admin.id},{officer.id}"


def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P33: someone can always assign roles, even when two demotions race.

    The deputy's own demotion of the boss is tried on another connection just before
    this request writes: the moment a count-then-update check would miss. SQLite has
    no row locks, so the rival commits and the request's conditional UPDATE refuses.
    PostgreSQL holds the admin rows locked, so the rival cannot commit (a lock timeout
    shows it waiting) and the request goes through. Either way one admin remains.
    """
    boss, client = _admin(app, make_member)
    deputy = make_member("deputy", role="admin")
    with app.app_context():
        engine = db.engine
    raced: list[str] = []

    def deputy_demotes_the_boss_first(*args: t.Any) -> None:
        statement = args[2]
        if raced or not statement.startswith("UPDATE privacy_user SET role"):
            return
        raced.append(statement)
        with engine.connect() as other:
            if other.dialect.name == "postgresql":
                other.execute(sa.text("SET lock_timeout = '300ms'"))
            try:
                other.execute(sa.update(User).where(User.id == boss.id).values(role="staff"))
                other.commit()
            except sa.exc.OperationalError:
                other.rollback()
                raced.append("rival blocked by the lock")

    sa.event.listen(engine, "before_cursor_execute", deputy_demotes_the_boss_first)
    try:
        response = client.submit(
            f"/staff/members/{deputy.id}/role", {"role": "staff"}, form_selector=ROLE_FORM
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", deputy_demotes_the_boss_first)
    assert raced, "the competing demotion ran"
    roles = (_user(app, "boss").role, _user(app, "deputy").role)
    assert roles.count("admin") == 1, roles
    if "rival blocked by the lock" in raced:
        assert response.status_code == 302
        assert roles == ("admin", "staff")
    else:
        assert response.status_code == 400
        assert "only admin" in field_error(response, "role")
        assert roles == ("staff", "admin")
        assert _events(app, "role.change") == []


# -- From the command line ------------------------------------------------------------


def test_create_staff_sends_a_set_password_link_and_never_a_password(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P4, P33: the new staff member sets their own password from an emailed link."""
    result = app.test_cli_runner().invoke(
        args=["privacy", "create-staff", "Dana", "Dana@Example.test", "--role", "privacy_officer"]
    )
    assert result.exit_code == 0, result.output
    assert "Dana" in result.output
    assert "set-password" in result.output
    user = _user(app, "dana")
    assert (user.username, user.email, user.role) == (
        "Dana",
        "Dana@example.test",
        "privacy_officer",
    )
    assert user.password_hash is None

    message = smtp.last_to("Dana@example.test")
    assert message["Subject"] == "Your staff account at ALLCOT Blog"
    [link] = [link for link in links_in(message) if "/account/set-password/" in link]
    assert link.startswith("http://blog.test/")
    assert "Dana" in text_body(message)

    set_password = client.submit(
        path_of(link), {"password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert set_password.status_code == 302
    log_in(client, "Dana")
    assert client.get("/staff/").status_code == 200

    [event] = _events(app, "staff.create")
    assert (event.actor_id, event.subject_id, event.detail, event.ip_address) == (
        None,
        user.id,
        "cli: role privacy_officer",
        "",
    )


def test_create_staff_keeps_the_email_for_a_retry_when_mail_is_down(
    app: Flask, smtp: SMTPSink
) -> None:
    smtp.stop()
    result = app.test_cli_runner().invoke(
        args=["privacy", "create-staff", "kim", "kim@example.test"]
    )
    assert result.exit_code == 0, result.output
    assert "'flask privacy send-mail' retries it" in result.output
    with app.app_context():
        [message] = db.session.scalars(sa.select(OutboxMessage)).all()
        assert message.sent_at is None
        assert message.recipients == ["kim@example.test"]
    smtp.start()
    with time_machine.travel(utcnow() + timedelta(minutes=2)):  # past the retry wait
        assert app.test_cli_runner().invoke(args=["privacy", "send-mail"]).exit_code == 0
    assert smtp.last_to("kim@example.test")["Subject"] == "Your staff account at ALLCOT Blog"


def test_create_staff_defaults_to_the_least_role(app: Flask, smtp: SMTPSink) -> None:
    result = app.test_cli_runner().invoke(
        args=["privacy", "create-staff", "eve", "eve@example.test"]
    )
    assert result.exit_code == 0, result.output
    assert _user(app, "eve").role == "staff"


def test_create_staff_applies_the_registration_rules(
    app: Flask, make_member: t.Callable[..., User], smtp: SMTPSink
) -> None:
    make_member("taken", email="taken@example.test")
    runner = app.test_cli_runner()
    cases = {
        ("ab", "ok@example.test"): "Use 3 to 60 characters.",
        ("has space", "ok@example.test"): "Use only letters, digits",
        ("fine-name", "not-an-address"): "Email address:",
        ("TAKEN", "new@example.test"): "The username TAKEN is taken",
        ("newname", "TAKEN@example.test"): "An account already uses",
    }
    for (username, email), message in cases.items():
        result = runner.invoke(args=["privacy", "create-staff", username, email])
        assert result.exit_code == 1, (username, result.output)
        assert message in result.output, result.output
        assert "Traceback" not in result.output
    bad_role = runner.invoke(
        args=["privacy", "create-staff", "x-y-z", "x@example.test", "--role", "root"]
    )
    assert bad_role.exit_code == 2
    assert "'root' is not one of" in bad_role.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    assert smtp.messages == []


def test_set_role_changes_the_role_ends_logins_and_is_audited(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    member = make_member("sam", role="staff")
    log_in(client, "sam")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["privacy", "set-role", "SAM", "admin"])
    assert result.exit_code == 0, result.output
    assert "sam now has the role admin; 1 login session(s) ended." in result.output
    assert _user(app, "sam").role == "admin"
    assert _live_sessions(app, member.id) == 0

    removed = runner.invoke(args=["privacy", "set-role", "sam", "none"])
    assert removed.exit_code == 0, removed.output
    assert _user(app, "sam").role is None
    same = runner.invoke(args=["privacy", "set-role", "sam", "none"])
    assert "nothing changed" in same.output

    details = [(e.actor_id, e.subject_id, e.detail) for e in _events(app, "role.change")]
    assert details == [
        (None, member.id, "cli: staff -> admin"),
        (None, member.id, "cli: admin -> none"),
    ]


def test_set_role_removes_the_last_admin_with_a_warning(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """The command line is the recovery path: no guard, but it says what was done."""
    make_member("boss", role="admin")
    make_member("deputy", role="admin")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["privacy", "set-role", "deputy", "staff"])
    assert first.exit_code == 0, first.output
    assert "Warning" not in first.output, "another admin remains"

    last = runner.invoke(args=["privacy", "set-role", "boss", "none"])
    assert last.exit_code == 0, last.output
    assert _user(app, "boss").role is None
    assert "Warning: boss was the last admin" in last.stderr
    assert "set-role USERNAME admin" in last.stderr


def test_set_role_refuses_unknown_members_and_roles(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    make_member("gone", erased_at=utcnow())
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["privacy", "set-role", "nobody", "staff"])
    assert unknown.exit_code == 1
    assert "No account has the username 'nobody'." in unknown.output
    assert runner.invoke(args=["privacy", "set-role", "gone", "staff"]).exit_code == 1
    assert runner.invoke(args=["privacy", "set-role", "nobody", "root"]).exit_code == 2
    assert _events(app, "role.change") == []


# -- The example site's demo staff ----------------------------------------------------


def test_demo_staff_get_a_set_password_link_in_the_outbox(tmp_path: Path) -> None:
    """Demo staff have no password anyone could know: each sets one from /outbox."""
    app = create_app({**app_settings(tmp_path), "DEMO_MAIL": True})
    app.test_client_class = CookieCheckingClient
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db", "--demo"])
    assert first.exit_code == 0, first.output
    assert "3 demo staff account(s) added" in first.output
    assert "0 demo staff account(s) added" in runner.invoke(args=["init-db", "--demo"]).output

    with app.app_context():
        staff = db.session.scalars(sa.select(User).where(User.role.is_not(None))).all()
        assert sorted((u.username, u.role) for u in staff) == [
            ("demo-admin", "admin"),
            ("demo-officer", "privacy_officer"),
            ("demo-staff", "staff"),
        ]
        assert all(u.password_hash is None for u in staff)
    client = t.cast(CookieCheckingClient, app.test_client())
    outbox = soup(client.get("/outbox"))
    links = [a["href"] for a in outbox.select("a[href*='/account/set-password/']")]
    assert len(links) == 3
    assert (
        client.submit(
            path_of(links[0]), {"password": PASSWORD, "password_confirm": PASSWORD}
        ).status_code
        == 302
    )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_no_demo_staff_without_the_demo_outbox(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    assert "staff" not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
