"""Marketing email (P20, P21, P22): opt-in subscriptions, newsletters, unsubscribe."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy import outbox
from flask_allcot_privacy.marketing import subscriptions
from flask_allcot_privacy.marketing.subscriptions import NotSubscribed
from flask_allcot_privacy.models import MarketingCampaign, OutboxMessage, User

from .helpers import (
    CookieCheckingClient,
    SMTPSink,
    html_body,
    links_in,
    log_in,
    main_text,
    path_of,
    soup,
    text_body,
)
from .marketing_helpers import (
    HTTPS,
    member,
    outbox_rows,
    send_newsletter,
    subscribe_visitor,
    subscription,
)

PROFILE_FORM = "form[action$='/account/profile']"


@pytest.fixture
def extra_config() -> dict[str, t.Any]:
    return dict(HTTPS)


def _profile_choice(client: CookieCheckingClient, opted_in: bool) -> None:
    response = client.submit(
        "/account/profile", {"marketing_opt_in": opted_in}, form_selector=PROFILE_FORM
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_only_subscribers_get_marketing_with_both_headers_and_one_click_P20_P22(
    app: Flask,
    client: CookieCheckingClient,
    smtp: SMTPSink,
    make_member: t.Callable[..., User],
) -> None:
    """P20, P22: subscribers only; footer link and RFC 8058 headers on the SMTP message;
    the provider's one-click POST (no cookies, no CSRF token) unsubscribes; the next send
    skips them."""
    subscribe_visitor(client, smtp, "ann@example.test")
    make_member("reader")
    make_member("quitter")
    make_member("nobody")
    for username, choices in (("reader", [True]), ("quitter", [True, False])):
        member_client = t.cast(CookieCheckingClient, app.test_client())
        assert log_in(member_client, username).status_code == 302
        for choice in choices:
            _profile_choice(member_client, choice)
    pending = t.cast(CookieCheckingClient, app.test_client())
    assert pending.submit("/privacy/subscribe", {"email": "pat@example.test"}).status_code == 302
    smtp.messages.clear()

    send_newsletter(app)
    received = {m["X-Envelope-To"] for m in smtp.messages}
    assert received == {"ann@example.test", "reader@example.test"}
    message = smtp.last_to("ann@example.test")
    assert message["Subject"] == "News from ALLCOT Blog"
    header = message["List-Unsubscribe"]
    assert header.startswith("<https://blog.test/privacy/unsubscribe/")
    assert header.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # As sent: one unbroken, unencoded <URL> (RFC 2369 allows no folding inside brackets).
    raw = dict(message.raw_items())
    assert raw["List-Unsubscribe"] == header
    assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] is None, "marketing is not an auto-generated system mail"
    unsubscribe_url = header[1:-1]
    assert unsubscribe_url in links_in(message), "the text footer carries the same link"
    footer_links = [a["href"] for a in soup_of(html_body(message)).select("a")]
    assert unsubscribe_url in footer_links
    assert {row.category for row in outbox_rows(app) if row.template == "marketing/newsletter"} == {
        "marketing"
    }

    provider = app.test_client()  # a fresh client: no cookies, no session, no CSRF token
    one_click = provider.post(
        path_of(unsubscribe_url),
        data={"List-Unsubscribe": "One-Click"},
        base_url="https://blog.test",
    )
    assert one_click.status_code == 200
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert (row.status, row.opted_out_how) == ("unsubscribed", "one-click")
    assert row.opted_out_at is not None

    smtp.messages.clear()
    send_newsletter(app)
    assert {m["X-Envelope-To"] for m in smtp.messages} == {"reader@example.test"}


def soup_of(html: str) -> t.Any:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def test_footer_link_opens_a_page_and_only_its_button_unsubscribes_P22(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P22: the footer link works without logging in; a GET alone changes nothing;
    a second POST is fine and says so."""
    subscribe_visitor(client, smtp, "ann@example.test")
    send_newsletter(app)
    [link] = [u for u in links_in(smtp.last_to("ann@example.test")) if "/unsubscribe/" in u]
    visitor = t.cast(CookieCheckingClient, app.test_client())
    page = visitor.get(path_of(link), base_url="https://blog.test")
    assert page.status_code == 200
    assert soup(page).select_one("form[method=post] button") is not None
    assert page.headers["Cache-Control"] == "private, no-store"
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert row.status == "subscribed", "a GET must change nothing"

    done = visitor.submit(path_of(link), base_url="https://blog.test")
    assert done.status_code == 200
    assert "You are unsubscribed" in main_text(done)
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert (row.status, row.opted_out_how) == ("unsubscribed", "link")
    first_opt_out = row.opted_out_at

    again = visitor.post(path_of(link), base_url="https://blog.test")
    assert again.status_code == 200
    assert "You are unsubscribed" in main_text(again)
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert row.opted_out_at == first_opt_out
    assert "You are unsubscribed" in main_text(visitor.get(path_of(link)))


def test_tampered_unsubscribe_link_is_refused(app: Flask, client: CookieCheckingClient) -> None:
    response = client.post("/privacy/unsubscribe/not-a-token")
    assert response.status_code == 400
    assert "not valid" in main_text(response)


def test_double_opt_in_through_the_smtp_sink_P20(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P20: the form sends a link; the link's page changes nothing until its button is pressed."""
    response = client.submit("/privacy/subscribe", {"email": "Ann@Example.test"})
    assert response.status_code == 302
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert (row.status, row.source, row.confirmed_at) == ("pending", "newsletter_form", None)
    assert row.opted_in_at is not None
    message = smtp.last_to("ann@example.test")
    assert message["Auto-Submitted"] == "auto-generated"
    [link] = [u for u in links_in(message) if "/subscribe/confirm/" in u]

    page = client.get(path_of(link))
    assert page.status_code == 200
    assert soup(page).select_one("input[name=tracking]") is None, "tracking is off by default"
    pending = subscription(app, "ann@example.test")
    assert pending is not None
    assert pending.status == "pending", "a GET must change nothing"

    done = client.submit(path_of(link))
    assert done.status_code == 200
    assert "You are subscribed" in main_text(done)
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert row.status == "subscribed"
    assert row.confirmed_at is not None
    assert row.tracking_consent is False
    # The link stays harmless afterwards: it says so and changes nothing.
    assert "You are subscribed" in main_text(client.get(path_of(link)))


def test_only_the_newest_confirmation_link_works(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    client.submit("/privacy/subscribe", {"email": "ann@example.test"})
    [old] = [u for u in links_in(smtp.last_to("ann@example.test")) if "/confirm/" in u]
    client.submit("/privacy/subscribe", {"email": "ann@example.test"})
    [new] = [u for u in links_in(smtp.last_to("ann@example.test")) if "/confirm/" in u]
    assert old != new
    assert client.get(path_of(old)).status_code == 410
    assert client.post(path_of(old)).status_code == 410
    assert client.get("/privacy/subscribe/confirm/forged").status_code == 400
    assert client.submit(path_of(new)).status_code == 200


def test_a_confirmation_without_csrf_token_is_refused(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    client.submit("/privacy/subscribe", {"email": "ann@example.test"})
    [link] = [u for u in links_in(smtp.last_to("ann@example.test")) if "/confirm/" in u]
    assert client.post(path_of(link)).status_code == 400
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert row.status == "pending"


def test_subscribe_answers_the_same_whatever_the_address(
    app: Flask,
    client: CookieCheckingClient,
    smtp: SMTPSink,
    make_member: t.Callable[..., User],
) -> None:
    """Nothing on screen says whether an address is subscribed or a member's."""
    subscribe_visitor(client, smtp, "ann@example.test")
    make_member("reader")
    answers = []
    for address in ("ann@example.test", "reader@example.test", "new@example.test"):
        fresh = t.cast(CookieCheckingClient, app.test_client())
        response = fresh.submit("/privacy/subscribe", {"email": address})
        answers.append((response.status_code, response.location))
        answers.append(("page", main_text(fresh.get(response.location))))
    assert answers[0:2] == answers[2:4] == answers[4:6]
    # The subscriber is told by email instead, with a way out; nothing changed.
    note = smtp.last_to("ann@example.test")
    assert "already receives it" in text_body(note)
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert row.status == "subscribed"
    # A member's address gets the same confirmation link, tied to the account.
    members_row = subscription(app, "reader@example.test")
    assert members_row is not None
    assert members_row.user_id is not None


def test_bad_email_is_answered_beside_the_field(client: CookieCheckingClient) -> None:
    response = client.submit("/privacy/subscribe", {"email": "not an address"})
    assert response.status_code == 400
    assert soup(response).select_one("#email-error") is not None


@pytest.mark.parametrize(
    "extra_config", [{**HTTPS, "PRIVACY_EMAIL_LIMIT_PER_ADDRESS": "2 per hour"}]
)
def test_subscribe_is_rate_limited_per_address(client: CookieCheckingClient) -> None:
    for _ in range(2):
        assert client.submit("/privacy/subscribe", {"email": "ann@example.test"}).status_code == 302
    assert client.submit("/privacy/subscribe", {"email": "ANN@example.test"}).status_code == 429


def test_registration_opt_in_waits_for_the_set_password_link_P20(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """The set-password link proves the address: that is the registration's double opt-in."""
    client.submit(
        "/account/register",
        {"username": "ann", "email": "ann@example.test", "marketing_opt_in": True},
    )
    client.submit("/account/register", {"username": "bob", "email": "bob@example.test"})
    assert subscription(app, "bob@example.test") is None
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert (row.status, row.source) == ("pending", "registration")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ann"))
        assert user is not None
        assert user.marketing_opt_in is True
        assert row.user_id == user.id

    [link] = [u for u in links_in(smtp.last_to("ann@example.test")) if "/set-password/" in u]
    response = client.submit(
        path_of(link),
        {
            "password": "correct-horse-battery-staple",
            "password_confirm": "correct-horse-battery-staple",
        },
    )
    assert response.status_code == 302
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert row.status == "subscribed"
    assert row.confirmed_at is not None


def test_profile_ticking_and_unticking_are_recorded_P20(
    app: Flask, logged_in: CookieCheckingClient
) -> None:
    _profile_choice(logged_in, True)
    row = subscription(app, "reader@example.test")
    assert row is not None
    assert (row.status, row.source) == ("subscribed", "profile")
    assert row.opted_in_at is not None
    assert row.confirmed_at is not None
    assert member(app, t.cast(int, row.user_id)).marketing_opt_in is True
    _profile_choice(logged_in, False)
    row = subscription(app, "reader@example.test")
    assert row is not None
    assert (row.status, row.opted_out_how) == ("unsubscribed", "profile")
    assert member(app, t.cast(int, row.user_id)).marketing_opt_in is False


def test_unsubscribing_by_link_unticks_the_members_profile(
    app: Flask, logged_in: CookieCheckingClient, smtp: SMTPSink
) -> None:
    _profile_choice(logged_in, True)
    send_newsletter(app)
    header = smtp.last_to("reader@example.test")["List-Unsubscribe"]
    app.test_client().post(path_of(header[1:-1]), data={"List-Unsubscribe": "One-Click"})
    page = soup(logged_in.get("/account/profile"))
    box = page.select_one("input[name=marketing_opt_in]")
    assert box is not None
    assert not box.has_attr("checked")


def test_system_mail_reaches_non_subscribers_P21(
    app: Flask, smtp: SMTPSink, logged_in: CookieCheckingClient
) -> None:
    """P21: an unsubscribed member still gets password links and account notices."""
    _profile_choice(logged_in, True)
    _profile_choice(logged_in, False)
    visitor = t.cast(CookieCheckingClient, app.test_client())
    response = visitor.submit("/account/reset-password", {"email": "reader@example.test"})
    assert response.status_code == 302
    message = smtp.last_to("reader@example.test")
    assert any("/account/set-password/" in link for link in links_in(message))
    assert message["List-Unsubscribe"] is None
    with app.test_request_context():
        # System mail to an address with no subscription at all: queued and delivered.
        outbox.queue("password_changed", "nobody@example.test", user=User(username="nobody"))
        db.session.commit()
        outbox.deliver_due()
    assert smtp.last_to("nobody@example.test")


def test_outbox_refuses_marketing_for_non_subscribers_P20(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P20: outbox.queue raises NotSubscribed for unknown, pending and unsubscribed addresses."""
    subscribe_visitor(client, smtp, "ann@example.test")
    client.submit("/privacy/subscribe", {"email": "pat@example.test"})
    with app.test_request_context():
        subscriptions.mark_unsubscribed(
            t.cast(t.Any, subscriptions.find("ann@example.test")), "link"
        )
        db.session.commit()
        for address in ("stranger@example.test", "pat@example.test", "ann@example.test"):
            with pytest.raises(NotSubscribed, match="not current subscribers"):
                outbox.queue(
                    "marketing/newsletter",
                    address,
                    category="marketing",
                    unsubscribe_url="https://blog.test/x",
                )
        db.session.rollback()
    assert [m for m in outbox_rows(app) if m.category == "marketing"] == []


def test_send_marketing_works_in_batches(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    """Bounded memory: with a batch of 2, five subscribers are queued in three commits."""
    app.config["PRIVACY_MARKETING_BATCH_SIZE"] = 2
    ids = [make_member(f"member{n}").id for n in range(5)]
    with app.test_request_context():
        for user_id in ids:
            user = db.session.get(User, user_id)
            assert user is not None
            subscriptions.record_member_choice(user, True)
        db.session.commit()
    with app.test_request_context(base_url="https://blog.test"):
        queued = app.extensions["allcot_privacy"].privacy.send_marketing("newsletter")
    assert queued == 5
    rows = [m for m in outbox_rows(app) if m.category == "marketing"]
    assert sorted(r.recipients[0] for r in rows) == [f"member{n}@example.test" for n in range(5)]
    assert len({r.headers["List-Unsubscribe"] for r in rows}) == 5, "one link per subscriber"
    with app.app_context():
        [campaign] = db.session.scalars(sa.select(MarketingCampaign))
        assert (campaign.template, campaign.queued) == ("newsletter", 5)


def test_members_who_opted_in_before_subscriptions_are_adopted(
    app: Flask, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    from flask_allcot_privacy.clock import utcnow

    make_member("early", marketing_opt_in=True, marketing_opt_in_at=utcnow())
    make_member("never", password=None, marketing_opt_in=True)
    send_newsletter(app)
    assert {m["X-Envelope-To"] for m in smtp.messages} == {"early@example.test"}
    row = subscription(app, "early@example.test")
    assert row is not None
    assert (row.status, row.source) == ("subscribed", "legacy")


def test_send_marketing_cli_on_the_example_site_P22(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """``flask --app example_site privacy send-marketing newsletter`` through Flask's CLI runner."""
    subscribe_visitor(client, smtp, "ann@example.test")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["privacy", "send-marketing", "newsletter"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 marketing email(s)" in result.output
    [row] = [m for m in outbox_rows(app) if m.category == "marketing"]
    assert row.sent_at is None, "delivered by send-mail, not by the command that queued it"
    assert row.recipients == ["ann@example.test"]

    missing = runner.invoke(args=["privacy", "send-marketing", "no-such-thing"])
    assert missing.exit_code != 0
    assert "privacy/email/marketing/no-such-thing.txt" in missing.output
    sneaky = runner.invoke(args=["privacy", "send-marketing", "../set_password_reset"])
    assert sneaky.exit_code != 0


def test_a_marketing_template_without_the_unsubscribe_footer_is_refused_P22(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    from jinja2 import ChoiceLoader, DictLoader

    subscribe_visitor(client, smtp, "ann@example.test")
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {"privacy/email/marketing/bare.txt": "{% set subject = 'Hi' %}No way out here."}
            ),
            t.cast(t.Any, app.jinja_env.loader),
        ]
    )
    result = app.test_cli_runner().invoke(args=["privacy", "send-marketing", "bare"])
    assert result.exit_code != 0
    assert "no unsubscribe link" in result.output
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.category == "marketing")
            )
            == 0
        )


def test_the_example_site_offers_the_newsletter_form(client: CookieCheckingClient) -> None:
    """Every page links to the form; the form posts ``email`` to /privacy/subscribe."""
    home = soup(client.get("/"))
    assert home.select("a[href='/privacy/subscribe']")
    form = soup(client.get("/privacy/subscribe")).select_one("main form[method=post]")
    assert form is not None
    assert form["action"] == "/privacy/subscribe"
    assert {str(i["name"]) for i in form.select("input[name]")} == {"csrf_token", "email"}
