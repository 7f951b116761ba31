"""Breach incidents: deadlines, overdue marks, one notice per member (P35)."""

from __future__ import annotations

import re
import typing as t
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy import breaches
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import (
    AuditEvent,
    BreachIncident,
    BreachNotice,
    OutboxMessage,
    User,
)

from .conftest import SERVER_DATABASE, log_in
from .helpers import (
    CookieCheckingClient,
    SMTPSink,
    at_once,
    field_error,
    html_body,
    links_in,
    path_of,
    soup,
    text_body,
)

SUMMARY = "A backup of the member table was left readable on a public server for a day."
RECORD_FORM = "form[action='/staff/breaches']"


def run(app: Flask, *args: str) -> t.Any:
    return app.test_cli_runner().invoke(args=["privacy", *args])


def open_incident(app: Flask, *args: str) -> int:
    result = run(app, "breach", "open", "--summary", SUMMARY, *args)
    assert result.exit_code == 0, result.output
    found = re.match(r"Incident (\d+) opened\n", result.output)
    assert found, result.output
    return int(found.group(1))


def deliver(app: Flask) -> None:
    result = run(app, "send-mail", "--limit", "10000")
    assert result.exit_code == 0, result.output


@pytest.fixture
def officer(
    client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> CookieCheckingClient:
    make_member("olivia", role="privacy_officer")
    log_in(client, "olivia")
    return client


def deadline(page: t.Any, kind: str) -> t.Any:
    found = soup(page).select_one(f".privacy-deadlines [data-deadline={kind}]")
    assert found is not None, f"no {kind} deadline on the page"
    return found


def is_overdue(tag: t.Any) -> bool:
    return "privacy-deadline--overdue" in tag["class"]


def test_notify_twice_emails_each_member_once(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    """P35: what happened, which data, what to do; once per member however often it runs."""
    make_member("ann")
    make_member("bob")
    make_member("cyd")
    incident_id = open_incident(
        app,
        "--member",
        "ann",
        "--member",
        "BOB",
        "--data",
        "Your email address and username.",
        "--what-to-do",
        "Watch out for phishing emails.",
    )
    first = run(app, "breach", "notify", str(incident_id))
    assert first.exit_code == 0, first.output
    assert "2 notice(s) queued now, 2 of 2" in first.output
    second = run(app, "breach", "notify", str(incident_id))
    assert second.exit_code == 0, second.output
    assert "0 notice(s) queued now, 2 of 2" in second.output
    deliver(app)
    assert run(app, "breach", "notify", str(incident_id)).exit_code == 0
    deliver(app)

    assert len(smtp.messages) == 2
    assert smtp.to("cyd@example.test") == []
    for name in ("ann", "bob"):
        [notice] = smtp.to(f"{name}@example.test")
        text = text_body(notice)
        assert SUMMARY in text
        assert "Your email address and username." in text
        assert "Watch out for phishing emails." in text
        assert f"Hello {name}," in text
        html_links = [str(a["href"]) for a in soup_html(html_body(notice)).select("a[href^=http]")]
        assert html_links == links_in(notice), "text and HTML carry the same links"
        for link in links_in(notice):
            assert client.get(path_of(link)).status_code == 200
    with app.app_context():
        notices = db.session.scalars(sa.select(BreachNotice)).all()
        assert len(notices) == 2
        assert all(n.queued_at is not None for n in notices)
        assert all(n.notified_at is not None for n in notices), "delivery times are recorded"


def soup_html(html: str) -> t.Any:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def test_all_members_are_told_except_erased_ones(
    app: Flask, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    make_member("ann")
    make_member("bob")
    make_member("gone", erased_at=utcnow())
    incident_id = open_incident(app, "--all-members")
    result = run(app, "breach", "notify", str(incident_id))
    assert "2 notice(s) queued now, 2 of 2" in result.output
    deliver(app)
    assert sorted(m["To"] for m in smtp.messages) == ["ann@example.test", "bob@example.test"]


def test_bad_input_exits_non_zero_and_records_nothing(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """Commands never prompt; a one-line reason and a non-zero exit."""
    make_member("ann")
    unknown = run(app, "breach", "open", "--summary", SUMMARY, "--member", "nobody")
    assert unknown.exit_code != 0
    assert "No account has the username 'nobody'" in unknown.output
    both = run(app, "breach", "open", "--summary", SUMMARY, "--member", "ann", "--all-members")
    assert both.exit_code != 0
    assert "not both" in both.output
    empty = run(app, "breach", "open", "--summary", " ", "--member", "ann")
    assert empty.exit_code != 0
    assert "Say what happened" in empty.output
    future = run(app, "breach", "open", "--summary", SUMMARY, "--discovered", "2999-01-01T00:00")
    assert future.exit_code != 0
    assert "future" in future.output
    garbled = run(app, "breach", "open", "--summary", SUMMARY, "--discovered", "yesterday")
    assert garbled.exit_code != 0
    assert "ISO 8601" in garbled.output
    missing = run(app, "breach", "notify", "999")
    assert missing.exit_code != 0
    assert "There is no incident 999" in missing.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(BreachIncident.id))) == 0


def test_deadlines_are_shown_and_marked_overdue_as_time_passes(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    """P35: 48 hours for the members, 72 for the authority, both from discovery."""
    make_member("ann")
    make_member("olivia", role="privacy_officer")
    discovered = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=5)

    def look(url: str) -> t.Any:
        nonlocal client
        # A login lasts two days and the clock moves further: log in afresh each time.
        client = t.cast(CookieCheckingClient, app.test_client())
        log_in(client, "olivia")
        return client.get(url)

    incident_id = open_incident(
        app, "--member", "ann", "--discovered", discovered.strftime("%Y-%m-%dT%H:%M")
    )
    url = f"/staff/breaches/{incident_id}"
    with time_machine.travel(discovered + timedelta(hours=1), tick=False) as clock:
        page = look(url)
        members, authority = deadline(page, "members"), deadline(page, "authority")
        assert (
            members.select_one("time")["datetime"] == (discovered + timedelta(hours=48)).isoformat()
        )
        assert (
            authority.select_one("time")["datetime"]
            == (discovered + timedelta(hours=72)).isoformat()
        )
        assert not is_overdue(members)
        assert not is_overdue(authority)
        assert "left" in members.get_text()

        clock.move_to(discovered + timedelta(hours=47, minutes=59))
        assert not is_overdue(deadline(look(url), "members"))
        clock.move_to(discovered + timedelta(hours=48, minutes=1))
        page = look(url)
        assert is_overdue(deadline(page, "members"))
        assert not is_overdue(deadline(page, "authority"))
        assert "Overdue" in deadline(page, "members").get_text()
        listing = client.get("/staff/breaches")
        assert "privacy-overdue" in soup(listing).select_one(f"#incident-{incident_id}")["class"]

        clock.move_to(discovered + timedelta(hours=72, minutes=1))
        page = look(url)
        assert is_overdue(deadline(page, "authority"))

        notify = client.submit(url, form_selector="form.privacy-breach__notify")
        assert notify.status_code == 303
        page = client.get(url)
        assert "met late" in deadline(page, "members").get_text()
        assert soup(page).select_one("form.privacy-breach__notify") is None, "all told"

        told = client.submit(
            url,
            {"how": "The authority's online form, case 2026-17"},
            form_selector=f"form[action='{url}/authority']",
        )
        assert told.status_code == 303
        page = client.get(url)
        assert "met late" in deadline(page, "authority").get_text()
        assert "case 2026-17" in soup(page).select_one(".privacy-breach__authority").get_text()


def test_deadlines_met_in_time_are_not_overdue(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("ann")
    make_member("olivia", role="privacy_officer")
    incident_id = open_incident(app, "--member", "ann")
    assert run(app, "breach", "notify", str(incident_id)).exit_code == 0
    with time_machine.travel(utcnow() + timedelta(hours=100), tick=False):
        log_in(client, "olivia")
        page = client.get(f"/staff/breaches/{incident_id}")
        members = deadline(page, "members")
        assert not is_overdue(members)
        assert "met" in members.get_text()
        assert is_overdue(deadline(page, "authority")), "the authority was never told"


def test_an_officer_records_and_notifies_on_screen(
    app: Flask, officer: CookieCheckingClient, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    make_member("ann")
    make_member("bob")
    refused = officer.submit(
        "/staff/breaches",
        {"summary": SUMMARY, "members": "ann, nobody"},
        form_selector=RECORD_FORM,
    )
    assert refused.status_code == 400
    assert "nobody" in field_error(refused, "members")
    no_summary = officer.submit(
        "/staff/breaches", {"summary": "", "members": "ann"}, form_selector=RECORD_FORM
    )
    assert no_summary.status_code == 400
    assert field_error(no_summary, "summary")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(BreachIncident.id))) == 0

    recorded = officer.submit(
        "/staff/breaches",
        {"summary": SUMMARY, "members": "ann\nbob", "data_affected": "Email addresses."},
        form_selector=RECORD_FORM,
    )
    assert recorded.status_code == 303
    url = path_of(recorded.headers["Location"])
    assert officer.submit(url, form_selector="form.privacy-breach__notify").status_code == 303
    # The button is gone once everyone is told; a second POST still emails nobody twice.
    assert officer.post(f"{url}/notify", data={"csrf_token": csrf(officer, url)}).status_code == 303
    deliver(app)
    assert len(smtp.to("ann@example.test")) == 1
    assert len(smtp.to("bob@example.test")) == 1
    assert "Email addresses." in text_body(smtp.last_to("ann@example.test"))
    page = officer.get(url)
    assert "2 of 2 member(s) notified; 2 email(s) delivered" in page.get_data(as_text=True)
    delivered = [td.get_text() for td in soup(page).select("tr[data-notice] td:nth-child(4)")]
    assert len(delivered) == 2
    assert "not yet" not in " ".join(delivered)
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"breach.open", "breach.notify", "breach.view", "breach.list_view"} <= actions


def csrf(client: CookieCheckingClient, url: str) -> str:
    token = soup(client.get(url)).select_one("input[name=csrf_token]")
    assert token is not None
    return str(token["value"])


def test_an_unknown_incident_is_404_and_a_forged_notify_is_refused(
    officer: CookieCheckingClient,
) -> None:
    assert officer.get("/staff/breaches/5").status_code == 404
    assert officer.post("/staff/breaches/5/notify").status_code == 404
    assert officer.get("/staff/breaches/99999999999999999999").status_code == 404


def test_a_forged_notify_without_token_changes_nothing(
    app: Flask, officer: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    make_member("ann")
    incident_id = open_incident(app, "--member", "ann")
    assert officer.post(f"/staff/breaches/{incident_id}/notify").status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


@pytest.mark.skipif(not SERVER_DATABASE, reason="SQLite serialises writers; runs on PostgreSQL")
@pytest.mark.parametrize("extra_config", [{"PRIVACY_NOTICE_BATCH_SIZE": 3}])
def test_notify_run_four_times_at_once_emails_each_member_once(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P35: concurrent runs share the work through the unique notice rows."""
    for number in range(15):
        make_member(f"member{number}")
    incident_id = open_incident(app, "--all-members")

    def work() -> None:
        with app.test_request_context():
            breaches.queue_notices(incident_id, via_cli=True)
            db.session.remove()

    at_once([work] * 4)  # raises what any run raised
    with app.app_context():
        recipients = [
            tuple(r[0])
            for r in db.session.execute(
                sa.select(OutboxMessage.recipients).where(OutboxMessage.template == "breach_notice")
            )
        ]
        notices = db.session.scalar(sa.select(sa.func.count(BreachNotice.id)))
    assert len(recipients) == 15 == len(set(recipients)) == notices


def test_a_form_posted_without_the_optional_fields_gets_the_defaults(
    app: Flask, officer: CookieCheckingClient
) -> None:
    """A POST that leaves out the optional fields entirely is recorded, never a 500."""
    page = officer.get("/staff/breaches")
    token = soup(page).select_one(f"{RECORD_FORM} input[name=csrf_token]")["value"]
    response = officer.post(
        "/staff/breaches",
        data={"csrf_token": token, "summary": SUMMARY, "discovered_at": "2026-01-01T09:00"},
    )
    assert response.status_code == 303
    with app.app_context():
        incident = db.session.scalars(sa.select(BreachIncident)).one()
        assert incident.data_affected == str(breaches.DEFAULT_DATA_AFFECTED)
        assert incident.what_to_do == str(breaches.DEFAULT_WHAT_TO_DO)
