"""Privacy requests end to end: ask, confirm from the email, answered by an officer.

Every email goes through the real SMTP sink and the tests click the links it holds.
"""

from __future__ import annotations

import functools
import io
import json
import typing as t
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from flask_allcot_privacy.models import AuditEvent, OutboxMessage, PrivacyRequest, User

from .conftest import SERVER_DATABASE, log_in
from .helpers import (
    CookieCheckingClient,
    SMTPSink,
    at_once,
    field_error,
    form_fields,
    html_body,
    links_in,
    main_text,
    path_of,
    soup,
    text_body,
)
from .rights_data import add_comments, add_correspondence

ANN = "ann@example.test"
#: Tuesday 1 December 2026, 10:00 in Zug; Tuesday 8 December (Immaculate Conception)
#: is a holiday there.
TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FORM = "form.privacy-request-form"


@pytest.fixture
def config(config: dict[str, t.Any], tmp_path: Path) -> dict[str, t.Any]:
    return {**config, "PRIVACY_EXPORT_DIR": str(tmp_path / "exports")}


def ask(
    client: CookieCheckingClient, email: str, request_type: str, details: str = "", **kw: t.Any
) -> t.Any:
    return client.submit(
        "/privacy/request",
        {"email": email, "request_type": request_type, "details": details},
        form_selector=FORM,
        **kw,
    )


def confirm_link(smtp: SMTPSink, email: str) -> str:
    message = smtp.last_to(email)
    assert message["Subject"] == "Confirm your privacy request"
    links = [link for link in links_in(message) if "/privacy/request/confirm/" in link]
    assert len(links) == 1
    # The HTML part carries the same link.
    assert links[0] in html_body(message)
    return path_of(links[0])


def confirm(client: CookieCheckingClient, link: str) -> t.Any:
    return client.submit(link, {}, form_selector="main form[method=post]")


def requests_in(app: Flask) -> list[PrivacyRequest]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(PrivacyRequest).order_by(PrivacyRequest.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


@pytest.fixture
def officer(app: Flask, make_member: t.Callable[..., User]) -> CookieCheckingClient:
    make_member("olivia", role="privacy_officer")
    client = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(client, "olivia").status_code == 302
    return client


def act(officer: CookieCheckingClient, request_id: int, action: str, **fields: str) -> t.Any:
    return officer.submit(
        f"/staff/requests/{request_id}",
        fields,
        form_selector=f"form[data-action={action}]",
    )


def asked_and_confirmed(
    client: CookieCheckingClient, smtp: SMTPSink, email: str, kind: str, details: str = ""
) -> None:
    assert ask(client, email, kind, details).status_code == 302
    assert confirm(client, confirm_link(smtp, email)).status_code == 302


# --- the form ---


def test_member_email_prefilled_and_type_preselected(logged_in: CookieCheckingClient) -> None:
    """P6/P30: the profile's erase link opens the form with erase chosen."""
    page = logged_in.get("/privacy/request?request_type=erase")
    assert page.status_code == 200
    fields = form_fields(page, FORM)
    assert fields["email"] == "reader@example.test"
    assert fields["request_type"] == "erase"
    assert set(fields) == {"csrf_token", "email", "request_type", "details"}


def test_unknown_preselection_is_ignored(client: CookieCheckingClient) -> None:
    fields = form_fields(client.get("/privacy/request?request_type=<script>"), FORM)
    assert "request_type" not in fields
    assert fields["email"] == ""


@pytest.mark.parametrize(
    ("data", "field_id", "words"),
    [
        ({"email": "not-an-address", "request_type": "export"}, "email", "email"),
        ({"email": ANN, "request_type": "everything"}, "request_type", "valid choice"),
        ({"email": ANN, "request_type": "correct", "details": ""}, "details", "which data"),
        ({"email": ANN, "request_type": "export", "details": "x" * 5001}, "details", "5,000"),
    ],
)
def test_bad_input_gets_the_form_again_and_writes_nothing(
    app: Flask,
    client: CookieCheckingClient,
    smtp: SMTPSink,
    data: dict[str, str],
    field_id: str,
    words: str,
) -> None:
    response = client.submit("/privacy/request", data, form_selector=FORM)
    assert response.status_code == 400
    assert words in field_error(response, field_id)
    assert requests_in(app) == []
    assert smtp.messages == []


def test_same_answer_page_whatever_the_address(
    client: CookieCheckingClient, make_member: t.Callable[..., User], smtp: SMTPSink
) -> None:
    """The answer never tells whether the address has an account."""
    make_member("ann", email=ANN)
    member = ask(client, ANN, "export")
    stranger = ask(client, "nobody@example.test", "export")
    assert member.status_code == stranger.status_code == 302
    assert member.headers["Location"] == stranger.headers["Location"]
    assert main_text(client.get(member.headers["Location"])) == main_text(
        client.get(stranger.headers["Location"])
    )
    # Both addresses get the same confirmation email, apart from the link.
    one, other = smtp.last_to(ANN), smtp.last_to("nobody@example.test")
    assert one["Subject"] == other["Subject"]
    strip = lambda m: text_body(m).replace(links_in(m)[0], "LINK")  # noqa: E731
    assert strip(one) == strip(other)


def test_no_csrf_no_request(app: Flask, client: CookieCheckingClient) -> None:
    response = client.post("/privacy/request", data={"email": ANN, "request_type": "export"})
    assert response.status_code == 400
    assert requests_in(app) == []


@pytest.mark.parametrize(
    "extra_config",
    [{"PRIVACY_EMAIL_LIMIT_PER_ADDRESS": "2 per hour", "PRIVACY_EMAIL_LIMIT_PER_IP": "50/hour"}],
)
def test_rate_limited_per_address(client: CookieCheckingClient, smtp: SMTPSink) -> None:
    for kind in ("export", "erase"):
        assert ask(client, ANN, kind).status_code == 302
    other_ip = {"REMOTE_ADDR": "192.0.2.99"}
    assert ask(client, ANN.upper(), "correspondence", environ_base=other_ip).status_code == 429
    assert len(smtp.to(ANN)) == 2
    assert ask(client, "bob@example.test", "export").status_code == 302


@pytest.mark.parametrize("extra_config", [{"PRIVACY_EMAIL_LIMIT_PER_IP": "2 per hour"}])
def test_rate_limited_per_ip(client: CookieCheckingClient, smtp: SMTPSink) -> None:
    for number in range(2):
        assert ask(client, f"p{number}@example.test", "export").status_code == 302
    refused = ask(client, "p9@example.test", "export")
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert smtp.to("p9@example.test") == []


def test_an_open_request_is_reused_not_duplicated(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    ask(client, ANN, "export", "first")
    ask(client, "Ann@Example.test", "export", "second")
    rows = requests_in(app)
    assert len(rows) == 1
    assert rows[0].details == "first\n\nsecond"
    assert len(smtp.to(ANN)) == 2, "a fresh confirmation link each time"
    confirm(client, confirm_link(smtp, ANN))
    ask(client, ANN, "export")
    assert len(requests_in(app)) == 1
    assert smtp.last_to(ANN)["Subject"] == "Your privacy request is already open"
    # Another type is another request.
    ask(client, ANN, "erase")
    assert [r.request_type for r in requests_in(app)] == ["export", "erase"]


# --- confirming ---


def test_get_on_the_confirm_link_changes_nothing(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """Mail scanners open links: only the button's POST confirms."""
    ask(client, ANN, "export")
    link = confirm_link(smtp, ANN)
    for _ in range(3):
        page = client.get(link)
        assert page.status_code == 200
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert soup(page).select_one("main form[method=post] button") is not None
    assert [r.state for r in requests_in(app)] == ["pending"]
    assert len(smtp.to(ANN)) == 1


def test_confirming_sets_the_deadline_and_the_email_states_it_P32(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        ask(client, ANN, "export")
        response = confirm(client, confirm_link(smtp, ANN))
    assert response.status_code == 302
    (row,) = requests_in(app)
    # Tue 1 Dec + 7 business days, Immaculate Conception (Tue 8 Dec) skipped: Fri 11 Dec.
    assert row.state == "confirmed"
    assert row.deadline == date(2026, 12, 11)
    ack = smtp.last_to(ANN)
    assert ack["Subject"] == "We received your privacy request"
    assert "Friday, December 11, 2026 (2026-12-11)" in text_body(ack)
    assert "Friday, December 11, 2026" in html_body(ack)
    page = client.get(response.headers["Location"])
    assert soup(page).select_one(".privacy-request-deadline time")["datetime"] == "2026-12-11"


def test_a_used_link_says_so(app: Flask, client: CookieCheckingClient, smtp: SMTPSink) -> None:
    ask(client, ANN, "export")
    link = confirm_link(smtp, ANN)
    page = client.get(link)
    fields = form_fields(page)
    assert client.post(link, data=fields).status_code == 302
    again = client.post(link, data=fields)
    assert again.status_code in (200, 410)
    assert "confirmed" in main_text(again)
    assert len([m for m in smtp.to(ANN) if "received" in m["Subject"]]) == 1


def test_an_expired_link_says_so(app: Flask, client: CookieCheckingClient, smtp: SMTPSink) -> None:
    with time_machine.travel(TUESDAY, tick=False):
        ask(client, ANN, "export")
        link = confirm_link(smtp, ANN)
    with time_machine.travel(TUESDAY + timedelta(hours=24, minutes=1), tick=False):
        page = client.get(link)
        assert page.status_code == 410
        assert "expired" in main_text(page)
        assert soup(page).select_one("main a[href='/privacy/request']") is not None
    assert requests_in(app)[0].state == "pending"
    broken = client.get(link[:-3] + "abc")
    assert broken.status_code == 400
    assert "not valid" in main_text(broken)


@pytest.mark.skipif(not SERVER_DATABASE, reason="concurrency is proven on PostgreSQL")
def test_simultaneous_confirmations_confirm_once(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """Single use under concurrency: N POSTs at once, exactly one confirms and mails."""
    ask(client, ANN, "export")
    link = confirm_link(smtp, ANN)
    clients = [t.cast(CookieCheckingClient, app.test_client()) for _ in range(8)]
    forms = [form_fields(c.get(link)) for c in clients]

    def post(c: CookieCheckingClient, fields: dict[str, str]) -> int:
        return c.post(link, data=fields).status_code

    statuses = at_once([functools.partial(post, c, f) for c, f in zip(clients, forms, strict=True)])
    assert sorted(statuses).count(302) == 1, statuses
    assert all(status in (200, 302, 410) for status in statuses), statuses
    with app.app_context():
        acks = db.session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                OutboxMessage.template == "privacy_request_received"
            )
        )
        confirms = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "request.confirm")
        )
    assert (acks, confirms) == (1, 1)


@pytest.mark.skipif(not SERVER_DATABASE, reason="concurrency is proven on PostgreSQL")
@pytest.mark.parametrize(
    "extra_config",
    [{"PRIVACY_EMAIL_LIMIT_PER_ADDRESS": "100/hour", "PRIVACY_EMAIL_LIMIT_PER_IP": "100/hour"}],
)
def test_simultaneous_requests_make_one_request(app: Flask, smtp: SMTPSink) -> None:
    """N identical requests at once: one open request, every asker answered the same."""
    clients = [t.cast(CookieCheckingClient, app.test_client()) for _ in range(8)]
    forms = [form_fields(c.get("/privacy/request"), FORM) for c in clients]

    def post(c: CookieCheckingClient, fields: dict[str, str]) -> int:
        data = {**fields, "email": ANN, "request_type": "erase"}
        return c.post("/privacy/request", data=data).status_code

    statuses = at_once([functools.partial(post, c, f) for c, f in zip(clients, forms, strict=True)])
    assert statuses == [302] * len(clients)
    assert [(r.email_key, r.state) for r in requests_in(app)] == [(ANN, "pending")]


# --- answering, each type end to end ---


def _zip_from_email(client: CookieCheckingClient, smtp: SMTPSink, email: str) -> t.Any:
    ready = [m for m in smtp.to(email) if m["Subject"] == "Your data is ready to download"]
    assert ready, f"no export email to {email}"
    message = ready[-1]
    (link,) = [link for link in links_in(message) if "/privacy/export/" in link]
    assert link in html_body(message)
    response = client.get(path_of(link))
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    return zipfile.ZipFile(io.BytesIO(response.data)), path_of(link)


def test_export_end_to_end_P28(
    app: Flask,
    client: CookieCheckingClient,
    officer: CookieCheckingClient,
    make_member: t.Callable[..., User],
    smtp: SMTPSink,
) -> None:
    ann = make_member("ann", email=ANN, first_name="Ann")
    add_comments(app, 3, user_id=ann.id)
    add_correspondence(app, ann.id, ANN)
    asked_and_confirmed(client, smtp, ANN, "export")
    (row,) = requests_in(app)
    notice = smtp.last_to("olivia@example.test")
    assert f"/staff/requests/{row.id}" in text_body(notice)

    queue = soup(officer.get("/staff/requests"))
    assert queue.select_one(f"tr[data-request-id='{row.id}'] a")["href"].endswith(str(row.id))
    assert act(officer, row.id, "send_export").status_code == 302

    archive, link = _zip_from_email(client, smtp, ANN)
    assert set(archive.namelist()) >= {"index.html", "export.json"}
    data = json.loads(archive.read("export.json"))
    text = json.dumps(data)
    assert ANN in text
    assert "hello 2" in text
    assert "Please call me" in text
    (done,) = requests_in(app)
    assert done.state == "completed"
    assert done.completed_at is not None
    # The file is outside the web root, in the private folder.
    folder = Path(app.config["PRIVACY_EXPORT_DIR"])
    assert (folder / str(done.export_file)).is_file()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"

    # The link expires with PRIVACY_EXPORT_EXPIRES (3 days).
    assert done.export_expires_at is not None
    with time_machine.travel(done.export_expires_at + timedelta(seconds=1), tick=False):
        late = client.get(link)
        assert late.status_code == 410
        assert "expired" in main_text(late)


def test_a_token_for_one_request_never_opens_anothers_file(
    app: Flask,
    client: CookieCheckingClient,
    officer: CookieCheckingClient,
    smtp: SMTPSink,
) -> None:
    from flask_allcot_privacy import tokens

    asked_and_confirmed(client, smtp, ANN, "export")
    asked_and_confirmed(client, smtp, "bob@example.test", "export")
    ann_row, bob_row = requests_in(app)
    act(officer, ann_row.id, "send_export")
    act(officer, bob_row.id, "send_export")
    _archive, ann_link = _zip_from_email(client, smtp, ANN)
    with app.test_request_context():
        ann_payload = tokens.read(tokens.PRIVACY_EXPORT, ann_link.rsplit("/", 1)[1])
        # Ann's secret, signed for Bob's request id: refused.
        forged = tokens.make(tokens.PRIVACY_EXPORT, {"rid": bob_row.id, "s": ann_payload["s"]})
    assert client.get(f"/privacy/export/{forged}").status_code == 410
    # Each real link opens its own request's file, and only that one.
    ann_zip = json.loads(_zip_from_email(client, smtp, ANN)[0].read("export.json"))
    bob_zip = json.loads(_zip_from_email(client, smtp, "bob@example.test")[0].read("export.json"))
    assert ANN in json.dumps(ann_zip)
    assert ANN not in json.dumps(bob_zip)
    assert client.get(ann_link).status_code == 200


@pytest.mark.skipif(not SERVER_DATABASE, reason="concurrency is proven on PostgreSQL")
def test_simultaneous_builds_of_one_export_build_it_once(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    from flask_allcot_privacy.rights import export_jobs
    from flask_allcot_privacy.rights.workflow import Actor

    asked_and_confirmed(client, smtp, ANN, "export")
    (row,) = requests_in(app)
    with app.test_request_context():
        export_jobs.request_export(db.session.get(PrivacyRequest, row.id), Actor())
        db.session.commit()

    def build() -> bool:
        with app.test_request_context():
            built = export_jobs.build_export(row.id, Actor())
            db.session.remove()
            return built

    assert sorted(at_once([build] * 6)) == [False] * 5 + [True]
    ready = [m for m in smtp.to(ANN) if m["Subject"] == "Your data is ready to download"]
    assert len(ready) == 1
    assert len(list(Path(app.config["PRIVACY_EXPORT_DIR"]).iterdir())) == 1


def test_correspondence_end_to_end_P18(
    app: Flask,
    client: CookieCheckingClient,
    officer: CookieCheckingClient,
    smtp: SMTPSink,
) -> None:
    add_correspondence(app, None, ANN)
    add_comments(app, 2, email=ANN, body="not correspondence")
    asked_and_confirmed(client, smtp, ANN, "correspondence")
    (row,) = requests_in(app)
    act(officer, row.id, "send_export")
    archive, _link = _zip_from_email(client, smtp, ANN)
    text = archive.read("export.json").decode()
    assert "Please call me" in text
    assert "not correspondence" not in text


@pytest.mark.parametrize("extra_config", [{"PRIVACY_REQUEST_AUTO_EXPORT": True}])
def test_auto_export_needs_no_officer(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    add_correspondence(app, None, ANN)
    asked_and_confirmed(client, smtp, ANN, "export")
    archive, _link = _zip_from_email(client, smtp, ANN)
    assert "Please call me" in archive.read("export.json").decode()
    assert requests_in(app)[0].state == "completed"


def test_erase_end_to_end_P30(
    app: Flask,
    client: CookieCheckingClient,
    officer: CookieCheckingClient,
    make_member: t.Callable[..., User],
    smtp: SMTPSink,
) -> None:
    ann = make_member("ann", email=ANN)
    add_comments(app, 3, user_id=ann.id)
    add_correspondence(app, ann.id, ANN)
    asked_and_confirmed(client, smtp, ANN, "erase")
    (row,) = requests_in(app)
    page = officer.get(f"/staff/requests/{row.id}")
    assert soup(page).select_one("form[data-action=send_export]") is None
    assert act(officer, row.id, "erase").status_code == 302

    report = smtp.last_to(ANN)
    assert report["Subject"] == "Your data was erased"
    body = text_body(report)
    assert "Erased:" in body
    assert "Kept, and why:" in body
    assert "consent" in body.lower()
    (done,) = requests_in(app)
    assert done.state == "completed"
    assert done.email == "", "the answered request forgets the address too"
    ann_client = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(ann_client, "ann").status_code == 400
    with app.app_context():
        erased = db.session.get(User, ann.id)
        assert erased is None or erased.erased_at is not None


def test_correction_end_to_end_P31(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, smtp: SMTPSink
) -> None:
    asked_and_confirmed(client, smtp, ANN, "correct", "My last name is Lee, not <b>Li</b>.")
    (row,) = requests_in(app)
    page = soup(officer.get(f"/staff/requests/{row.id}"))
    details = page.select_one(".privacy-request-details")
    assert "not <b>Li</b>." in details.get_text(), "shown escaped"
    assert details.select("b") == []

    empty = act(officer, row.id, "complete", note="")
    assert empty.status_code == 400
    assert requests_in(app)[0].state == "confirmed"
    assert act(officer, row.id, "complete", note="Last name changed to Lee.").status_code == 302
    told = smtp.last_to(ANN)
    assert told["Subject"] == "Your data was corrected"
    assert "Last name changed to Lee." in text_body(told)
    (done,) = requests_in(app)
    assert (done.state, done.correction_note) == ("completed", "Last name changed to Lee.")


def test_reject_with_a_reason_the_requester_is_told(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, smtp: SMTPSink
) -> None:
    asked_and_confirmed(client, smtp, ANN, "erase")
    (row,) = requests_in(app)
    assert act(officer, row.id, "reject", reason="").status_code == 400
    assert act(officer, row.id, "reject", reason="An open invoice dispute.").status_code == 302
    told = smtp.last_to(ANN)
    assert told["Subject"] == "About your privacy request"
    assert "An open invoice dispute." in text_body(told)
    assert requests_in(app)[0].state == "rejected"
    # Closed: the buttons are gone and a second answer is refused.
    page = soup(officer.get(f"/staff/requests/{row.id}"))
    assert page.select("form[data-action]") == []


def test_every_step_is_audited_without_the_address(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P33: who, when, what; the requester by id and keyed hash, never the address."""
    asked_and_confirmed(client, smtp, ANN, "correct", "Fix it")
    (row,) = requests_in(app)
    act(officer, row.id, "complete", note="Fixed.")
    with app.test_request_context():
        from flask_allcot_privacy.rights.workflow import email_hash

        events = list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))
        officer_id = db.session.scalar(sa.select(User.id).where(User.username == "olivia"))
        expected_hash = email_hash(ANN)
    actions = [e.action for e in events if f"request={row.id} " in e.detail]
    assert actions[:2] == ["request.create", "request.confirm"]
    assert "request.view" in actions
    assert actions[-1] == "request.complete"
    for event in events:
        assert ANN not in event.detail
        assert "ann@" not in event.detail
    complete = next(e for e in events if e.action == "request.complete")
    assert complete.actor_id == officer_id
    assert f"email_hmac={expected_hash}" in complete.detail


@pytest.fixture
def crashing_eraser() -> t.Iterator[list[int]]:
    """A host eraser that fails on its first run, as a killed process would."""
    from example_site import privacy
    from flask_allcot_privacy.rights.registry import Erased

    calls: list[int] = []

    def erase_crashing(subject: t.Any) -> Erased:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return Erased(removed=1)

    privacy.eraser("crashing", title="Crashing")(erase_crashing)
    yield calls
    del privacy.personal_data.erasers["crashing"]


def test_a_failed_erasure_is_shown_and_finished_by_pressing_again_P30(
    app: Flask,
    client: CookieCheckingClient,
    officer: CookieCheckingClient,
    make_member: t.Callable[..., User],
    smtp: SMTPSink,
    crashing_eraser: list[int],
) -> None:
    make_member("ann", email=ANN)
    asked_and_confirmed(client, smtp, ANN, "erase")
    (row,) = requests_in(app)
    failed = act(officer, row.id, "erase")
    assert failed.status_code == 302
    page = soup(officer.get(failed.headers["Location"]))
    assert "run the erasure again" in page.select_one(".privacy-flash--error").get_text()
    assert requests_in(app)[0].state == "confirmed"
    assert smtp.last_to(ANN)["Subject"] != "Your data was erased"
    assert act(officer, row.id, "erase").status_code == 302
    assert requests_in(app)[0].state == "completed"
    erased = [m for m in smtp.to(ANN) if m["Subject"] == "Your data was erased"]
    assert len(erased) == 1
    assert "Crashing: 1" in text_body(erased[0])


def test_export_folder_inside_the_static_folder_is_refused(tmp_path: Path) -> None:
    """Exports never sit where the app serves files to anyone."""
    from flask_allcot_privacy.settings import ConfigurationError

    from .conftest import make_host_app

    static = Flask("host").static_folder
    assert static is not None
    with pytest.raises(ConfigurationError, match="static folder"):
        make_host_app(tmp_path, PRIVACY_EXPORT_DIR=str(Path(static) / "exports"))
    make_host_app(tmp_path, PRIVACY_EXPORT_DIR=str(tmp_path / "exports"))
