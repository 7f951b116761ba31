"""Policy versions: publish, changelog, one notice per member, consent asked again (P36)."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader

from example_site import db
from flask_allcot_privacy import outbox, policy_versions
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import (
    AuditEvent,
    ConsentRecord,
    OutboxMessage,
    PolicyVersion,
    User,
)

from .conftest import SERVER_DATABASE, log_in
from .helpers import (
    CookieCheckingClient,
    SMTPSink,
    at_once,
    field_error,
    links_in,
    path_of,
    soup,
    text_body,
)
from .test_consent import banner, decide

PUBLISH = "form[action='/staff/policy']"


def run(app: Flask, *args: str) -> t.Any:
    return app.test_cli_runner().invoke(args=["privacy", *args])


def publish(app: Flask, summary: str = "We now name our processors.") -> t.Any:
    return run(app, "publish-policy", "--summary", summary)


def deliver(app: Flask) -> None:
    result = run(app, "send-mail", "--limit", "10000")
    assert result.exit_code == 0, result.output


def change_policy_text(app: Flask, text: str) -> None:
    """Rewrite the host's policy text, as a host editing its template would."""
    override = DictLoader({"privacy/consent/policy_text.html": text})
    app.jinja_env.loader = ChoiceLoader([override, app.jinja_env.loader])  # type: ignore[list-item]
    if app.jinja_env.cache is not None:
        app.jinja_env.cache.clear()


def versions(app: Flask) -> list[PolicyVersion]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(PolicyVersion).order_by(PolicyVersion.number)))
        db.session.expunge_all()
        return found


def notices_in_outbox(app: Flask) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                sa.select(sa.func.count(OutboxMessage.id)).where(
                    OutboxMessage.template == "policy_changed"
                )
            )
            or 0
        )


def changelog(client: CookieCheckingClient) -> list[str]:
    page = soup(client.get("/privacy/policy"))
    return [" ".join(li.get_text(" ").split()) for li in page.select("#changelog li")]


def test_the_changelog_starts_with_the_policys_own_entry_and_the_first_publish_works(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P36: the 2018 entry is history, not a version; version 1 can be published."""
    before = changelog(client)
    assert len(before) == 1
    assert before[0].startswith("May 18, 2018")
    assert "user-friendly" in before[0]
    version_line = soup(client.get("/privacy/policy")).select_one("#policy-version").get_text()
    assert "Last updated May 18, 2018" in version_line

    result = publish(app, "We now list every cookie.")
    assert result.exit_code == 0, result.output
    assert "Version 1 published." in result.output

    after = changelog(client)
    assert after[0] == before[0]
    assert "(version 1)" in after[1]
    assert after[1].endswith("We now list every cookie.")
    version_line = soup(client.get("/privacy/policy")).select_one("#policy-version").get_text()
    assert "Version 1, published" in version_line
    [version] = versions(app)
    # The version keeps the policy as it rendered: the text, the cookie table, the processors.
    assert "We value your privacy!" in version.text
    assert 'id="cookies"' in version.text
    assert 'data-processor="Stripe"' in version.text
    assert 'id="changelog"' not in version.text, "the changelog is not part of a version"


@pytest.mark.parametrize("extra_config", [{"PRIVACY_NOTICE_BATCH_SIZE": 2}])
def test_publishing_emails_every_member_exactly_once(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    """P36: every member (not erased ones) gets one notice quoting the summary, in batches."""
    for name in ("ann", "bob", "cyd", "dee", "eve"):
        make_member(name)
    make_member("gone", erased_at=utcnow())
    result = publish(app, "Comments now keep your IP address for a year.")
    assert result.exit_code == 0, result.output
    assert "5 notice(s) queued" in result.output
    again = publish(app, "The same again")
    assert again.exit_code != 0
    assert "same as version 1" in again.output
    deliver(app)

    for name in ("ann", "bob", "cyd", "dee", "eve"):
        [notice] = smtp.to(f"{name}@example.test")
        body = text_body(notice)
        assert "Comments now keep your IP address for a year." in body
        assert notice["Subject"] == "Our privacy policy has changed"
        assert notice["Auto-Submitted"] == "auto-generated", "a system email"
        [link] = [u for u in links_in(notice) if "/privacy/policy" in u]
        assert client.get(path_of(link)).status_code == 200
    assert smtp.to("gone@example.test") == []
    assert len(smtp.messages) == 5
    [version] = versions(app)
    assert version.notices_queued == 5
    assert version.notices_completed_at is not None


@pytest.mark.parametrize("extra_config", [{"PRIVACY_NOTICE_BATCH_SIZE": 2}])
def test_a_run_that_stops_half_way_resumes_without_emailing_anyone_twice(
    app: Flask, smtp: SMTPSink, make_member: t.Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    """P36: each batch's mail and the progress marker commit together."""
    for name in ("ann", "bob", "cyd", "dee", "eve"):
        make_member(name)
    real_queue_copies = outbox.queue_copies
    calls = {"n": 0}

    def crash_on_second_batch(*args: t.Any, **kwargs: t.Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the process was killed")
        return real_queue_copies(*args, **kwargs)

    monkeypatch.setattr(outbox, "queue_copies", crash_on_second_batch)
    crashed = publish(app)
    assert crashed.exit_code != 0
    assert notices_in_outbox(app) == 2, "the first batch was committed, the second rolled back"
    monkeypatch.setattr(outbox, "queue_copies", real_queue_copies)

    resumed = publish(app)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming its notices" in resumed.output
    assert "3 notice(s) queued" in resumed.output
    deliver(app)
    assert sorted(m["To"] for m in smtp.messages) == [
        f"{n}@example.test" for n in ("ann", "bob", "cyd", "dee", "eve")
    ]
    finished = publish(app)
    assert finished.exit_code != 0
    assert "same as version 1" in finished.output


def test_publishing_needs_a_summary(app: Flask) -> None:
    result = publish(app, "   ")
    assert result.exit_code != 0
    assert "Say in a sentence what changed" in result.output
    assert versions(app) == []


@pytest.fixture
def officer(
    client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> CookieCheckingClient:
    make_member("olivia", role="privacy_officer")
    log_in(client, "olivia")
    return client


def test_the_staff_screen_publishes_and_refuses_an_unchanged_policy(
    app: Flask, officer: CookieCheckingClient, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    """P36: the privacy officer's screen; nothing changed means a message beside the field."""
    make_member("ann")
    page = officer.get("/staff/policy")
    assert soup(page).select_one("[data-changed]")["data-changed"] == "yes"
    done = officer.submit(
        "/staff/policy", {"summary": "A clearer cookie table."}, form_selector=PUBLISH
    )
    assert done.status_code == 303
    listing = officer.get("/staff/policy")
    [row] = soup(listing).select("tr[data-version]")
    assert "A clearer cookie table." in row.get_text()
    assert soup(listing).select_one("[data-changed]")["data-changed"] == "no"

    refused = officer.submit("/staff/policy", {"summary": "Again"}, form_selector=PUBLISH)
    assert refused.status_code == 400
    assert "same as version 1" in field_error(refused, "summary")
    empty = officer.submit("/staff/policy", {"summary": ""}, form_selector=PUBLISH)
    assert empty.status_code == 400
    assert field_error(empty, "summary")
    assert len(versions(app)) == 1

    deliver(app)
    assert len(smtp.to("ann@example.test")) == 1
    assert len(smtp.to("olivia@example.test")) == 1, "staff are members too"
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEvent.action)))
    assert "policy.publish" in actions


def test_a_changed_cookie_part_asks_visitors_again_and_a_text_change_does_not(
    app: Flask, client: CookieCheckingClient
) -> None:
    """P36 with P19: the consent revision moves with the cookie part of the policy."""
    assert publish(app).exit_code == 0
    decide(client, "accept_all")
    assert banner(client.get("/")) is None

    change_policy_text(app, "<h1>We value your privacy!</h1><p>Shorter words.</p>")
    assert publish(app, "Shorter words").exit_code == 0
    assert banner(client.get("/")) is None, "a text change alone does not re-ask"

    app.config["PRIVACY_PROCESSORS"] = [
        *app.config["PRIVACY_PROCESSORS"],
        {
            "name": "Hotjar",
            "purpose": "Session recordings",
            "category": "analytics",
            "policy_url": "https://www.hotjar.com/legal/policies/privacy/",
        },
    ]
    assert publish(app, "We added Hotjar").exit_code == 0
    first, second, third = versions(app)
    assert first.cookie_digest == second.cookie_digest != third.cookie_digest
    assert len({first.digest, second.digest, third.digest}) == 3
    assert banner(client.get("/")) is not None, "a new processor asks again"
    assert 'data-processor="Hotjar"' in third.text

    decide(client, "reject_all")
    with app.app_context():
        latest = db.session.scalars(
            sa.select(ConsentRecord).order_by(ConsentRecord.id.desc())
        ).first()
        assert latest is not None
        assert latest.policy_version == "3", "consent records name the version in force"
        assert latest.revision == third.cookie_digest


@pytest.mark.skipif(not SERVER_DATABASE, reason="SQLite serialises writers; runs on PostgreSQL")
@pytest.mark.parametrize("extra_config", [{"PRIVACY_NOTICE_BATCH_SIZE": 3}])
def test_two_runs_at_once_email_each_member_once(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P36: two workers queueing the same version's notices at once never double a notice."""
    for number in range(20):
        make_member(f"member{number}")
    with app.test_request_context():
        version = policy_versions.publish("Concurrent", via_cli=True)
        db.session.commit()
        version_id = version.id

    def work() -> None:
        with app.test_request_context():
            policy_versions.queue_notices(version_id)
            db.session.remove()

    at_once([work] * 4)  # raises what any run raised
    with app.app_context():
        recipients = [
            r[0]
            for r in db.session.execute(
                sa.select(OutboxMessage.recipients).where(
                    OutboxMessage.template == "policy_changed"
                )
            )
        ]
    assert len(recipients) == 20
    assert len({tuple(r) for r in recipients}) == 20


def test_publishing_later_only_tells_the_members_of_that_moment(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """A member who registers after publishing read the new policy when signing up."""
    make_member("ann")
    with app.test_request_context():
        version = policy_versions.publish("First", via_cli=True)
        db.session.commit()
        version_id = version.id
    make_member("late")
    with app.test_request_context():
        assert policy_versions.queue_notices(version_id) == 1
