"""Open and click tracking of marketing email (P23): off by default, only with consent,
and click links that cannot be used as an open redirect."""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from flask import Flask

from example_site import db
from flask_allcot_privacy import tokens
from flask_allcot_privacy.models import MailEvent

from .helpers import CookieCheckingClient, SMTPSink, html_body, links_in, path_of, soup
from .marketing_helpers import HTTPS, send_newsletter, subscribe_visitor, subscription

TRACKING_ON = {**HTTPS, "PRIVACY_MAIL_TRACKING": True}


def _events(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (e.kind, e.url) for e in db.session.scalars(sa.select(MailEvent).order_by(MailEvent.id))
        ]


def _html(message: t.Any) -> BeautifulSoup:
    return BeautifulSoup(html_body(message), "html.parser")


def _click_links(message: t.Any) -> list[str]:
    return [str(a["href"]) for a in _html(message).select("a") if "/privacy/m/click/" in a["href"]]


@pytest.fixture
def extra_config() -> dict[str, t.Any]:
    return dict(HTTPS)


def test_tracking_is_off_by_default_even_with_consent_P23(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P23: without PRIVACY_MAIL_TRACKING no pixel and no rewritten link, consent or not."""
    subscribe_visitor(client, smtp, "ann@example.test", tracking=True)
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert row.tracking_consent is False, "not even asked while off"
    with app.app_context():
        db.session.execute(sa.text("UPDATE privacy_subscription SET tracking_consent = true"))
        db.session.commit()
    send_newsletter(app)
    message = smtp.last_to("ann@example.test")
    assert _html(message).select("img") == []
    assert _click_links(message) == []
    assert not any("/m/click/" in link for link in links_in(message))
    assert "https://blog.test/" in [a["href"] for a in _html(message).select("a")]


@pytest.mark.parametrize("extra_config", [TRACKING_ON])
def test_tracking_only_for_subscribers_who_agreed_P23(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P23: asked (unticked) on the confirmation page; used only for those who ticked it."""
    client.submit("/privacy/subscribe", {"email": "ann@example.test"})
    [link] = [u for u in links_in(smtp.last_to("ann@example.test")) if "/confirm/" in u]
    box = soup(client.get(path_of(link))).select_one("input[name=tracking]")
    assert box is not None
    assert not box.has_attr("checked"), "asked, never pre-checked"
    client.submit(path_of(link), {"tracking": True})
    subscribe_visitor(t.cast(CookieCheckingClient, app.test_client()), smtp, "bob@example.test")
    ann = subscription(app, "ann@example.test")
    assert ann is not None
    assert ann.tracking_consent
    assert ann.tracking_consent_at is not None

    send_newsletter(app)
    untracked = smtp.last_to("bob@example.test")
    assert _html(untracked).select("img") == []
    assert _click_links(untracked) == []

    tracked = smtp.last_to("ann@example.test")
    [pixel] = _html(tracked).select("img")
    [click] = _click_links(tracked)
    unsubscribe = tracked["List-Unsubscribe"][1:-1]
    assert unsubscribe in [a["href"] for a in _html(tracked).select("a")], "never rewritten"
    assert unsubscribe in links_in(tracked)
    assert any("/m/click/" in u for u in links_in(tracked)), "the text part is tracked too"
    assert _events(app) == []

    opened = app.test_client().get(path_of(str(pixel["src"])))
    assert opened.status_code == 200
    assert opened.mimetype == "image/gif"
    followed = app.test_client().get(path_of(click))
    assert followed.status_code == 302
    assert followed.location == "https://blog.test/"
    assert _events(app) == [("open", ""), ("click", "https://blog.test/")]

    # Consent ends with the subscription: the links still work but nothing is recorded.
    app.test_client().post(path_of(unsubscribe), data={"List-Unsubscribe": "One-Click"})
    assert app.test_client().get(path_of(click)).status_code == 302
    assert len(_events(app)) == 2


def _click_token(app: Flask, url: str, secret: str | None = None) -> str:
    with app.test_request_context():
        if secret:
            app.config["SECRET_KEY"] = secret
        try:
            return tokens.make(tokens.MAIL_CLICK, {"sid": 1, "cid": 1, "url": url})
        finally:
            app.config["SECRET_KEY"] = "test-secret-key"


@pytest.mark.parametrize("extra_config", [TRACKING_ON])
def test_click_links_are_no_open_redirect_P23(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P23: a tampered token, one signed by another key, one for another purpose, or a
    non-web target is refused, and never redirects."""
    subscribe_visitor(client, smtp, "ann@example.test", tracking=True)
    send_newsletter(app)
    [click] = _click_links(smtp.last_to("ann@example.test"))
    token = urlsplit(click).path.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    foreign = _click_token(app, "https://evil.example/", secret="someone-elses-key")
    with app.test_request_context():
        other_purpose = tokens.make(tokens.UNSUBSCRIBE, {"sid": 1, "url": "https://evil.example/"})
    script = _click_token(app, "javascript:alert(1)")
    no_host = _click_token(app, "https:///evil")
    for bad in (tampered, foreign, other_purpose, script, no_host, "x"):
        response = app.test_client().get(f"/privacy/m/click/{bad}")
        assert response.status_code == 400, bad
        assert "Location" not in response.headers
    assert _events(app) == []


@pytest.mark.parametrize("extra_config", [TRACKING_ON])
def test_a_subscriber_can_stop_tracking_and_keep_the_newsletter_P23(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    subscribe_visitor(client, smtp, "ann@example.test", tracking=True)
    send_newsletter(app)
    unsubscribe = path_of(smtp.last_to("ann@example.test")["List-Unsubscribe"][1:-1])
    visitor = t.cast(CookieCheckingClient, app.test_client())
    page = visitor.get(unsubscribe)
    stop = soup(page).select_one("form[action$='/stop-tracking']")
    assert stop is not None
    assert visitor.post(str(stop["action"])).status_code == 400, "its form needs the CSRF token"
    done = visitor.submit(unsubscribe, form_selector="form[action$='/stop-tracking']")
    assert done.status_code == 200
    row = subscription(app, "ann@example.test")
    assert row is not None
    assert (row.status, row.tracking_consent) == ("subscribed", False)
    smtp.messages.clear()
    send_newsletter(app)
    message = smtp.last_to("ann@example.test")
    assert _html(message).select("img") == []
    assert _click_links(message) == []
    assert soup(visitor.get(unsubscribe)).select_one("form[action$='/stop-tracking']") is None


@pytest.mark.parametrize("extra_config", [TRACKING_ON])
def test_an_unsubscribe_link_in_the_content_is_never_tracked_P22_P23(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    from jinja2 import ChoiceLoader, DictLoader

    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "privacy/email/marketing/inline.txt": (
                        '{% extends "privacy/email/marketing/layout.txt" %}'
                        "{% set subject = 'Hi' %}{% block content %}Leave: {{ unsubscribe_url }} "
                        "or read https://blog.test/posts{% endblock %}"
                    )
                }
            ),
            t.cast(t.Any, app.jinja_env.loader),
        ]
    )
    subscribe_visitor(client, smtp, "ann@example.test", tracking=True)
    result = app.test_cli_runner().invoke(args=["privacy", "send-marketing", "inline"])
    assert result.exit_code == 0, result.output
    app.test_cli_runner().invoke(args=["privacy", "send-mail"])
    message = smtp.last_to("ann@example.test")
    unsubscribe = message["List-Unsubscribe"][1:-1]
    links = links_in(message)
    assert links.count(unsubscribe) == 2, "in the content and in the footer, untouched"
    assert not any(link.endswith("/posts") for link in links)
    assert sum("/m/click/" in link for link in links) == 1
