"""XSS: every payload of the corpus into every text field of every form, then every page
and HTML email where the values show, parsed: no element or attribute came from a payload."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy.models import OutboxMessage, User

from ..helpers import CookieCheckingClient
from .surface import Form, forms_on_pages, page_urls
from .xss import EMAIL_PAYLOADS, PAYLOADS, URL_PAYLOADS, breakouts

#: No limits in the way, whole threads on one page, and mail kept in the outbox (read
#: from there: the HTML each email would carry) rather than sent after every request.
QUIET = {
    "PRIVACY_RATELIMIT_ENABLED": False,
    "PRIVACY_COMMENTS_PER_PAGE": 500,
    "PRIVACY_MAIL_DELIVERY": "cli",
}
#: Forms whose submission ends the attacking session (logout) are not filled.
SKIP_ACTIONS = ("/account/logout",)


def _filled(form: Form, index: int) -> dict[str, str]:
    data = dict(form.values)
    for name in form.text_fields:
        kind = form.kinds.get(name, "text")
        if name.endswith("csrf_token") or kind in ("hidden", "password"):
            continue
        if kind == "email" or name.endswith("email"):
            data[name] = EMAIL_PAYLOADS[index % len(EMAIL_PAYLOADS)]
        elif kind == "url" or name in ("website", "author_url"):
            data[name] = URL_PAYLOADS[index % len(URL_PAYLOADS)]
        else:
            data[name] = PAYLOADS[index]
    if "public_profile" in form.choice_fields:
        data["public_profile"] = "y"
    return data


def test_the_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 50
    assert breakouts("<p>" + PAYLOADS[2] + "</p>"), "the check must see a raw payload"


@pytest.mark.parametrize("extra_config", [QUIET])
@pytest.mark.parametrize("author", ["anonymous", "member"])
def test_every_payload_in_every_field_is_escaped_everywhere_it_shows(
    app: Flask,
    client_as: t.Callable[[str], CookieCheckingClient],
    seeded: dict[str, User],
    author: str,
) -> None:
    found: list[str] = []
    for who in (author,):
        client = client_as(who)
        forms = [
            f for f in forms_on_pages(client, page_urls(app)) if not f.action.endswith(SKIP_ACTIONS)
        ]
        assert any(f.kinds for f in forms)
        for index in range(len(PAYLOADS)):
            for form in forms:
                data = _filled(form, index)
                if data == form.values:
                    continue  # nothing a visitor types (consent buttons, confirmations)
                response = client.post(form.action, data=data)
                assert response.status_code < 500, (form.action, PAYLOADS[index])
                if response.mimetype == "text/html" and response.status_code != 302:
                    found += [f"{form.action} echo: {b}" for b in breakouts(response.text)]
    # Where the values are shown: every page, to a member and to the admin, the public
    # profile, and every HTML email sent.
    for who in ("member", "admin"):
        viewer = client_as(who)
        for url in [*page_urls(app), "/account/u/reader", "/posts/we-value-your-privacy"]:
            response = viewer.get(url)
            if response.mimetype == "text/html":
                found += [f"{who} {url}: {b}" for b in breakouts(response.text)]
    with app.app_context():
        emails = db.session.execute(sa.select(OutboxMessage.subject, OutboxMessage.body_html)).all()
    for subject, html in emails:
        found += [f"email {subject}: {b}" for b in breakouts(html or "")]
    # The payloads did reach the pages, as text.
    thread = client_as("member").get("/posts/we-value-your-privacy").text
    assert "xss()" in thread
    assert not found, found[:10]
    assert len(emails) > 10, "the forms sent too little mail to prove anything"
