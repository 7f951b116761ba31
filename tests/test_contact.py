"""The contact form: stored with email, IP and message (P17), copied to staff over real SMTP."""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from flask import Flask

from example_site import db
from flask_allcot_privacy.contact.correspondence import correspondence_for
from flask_allcot_privacy.models import ContactMessage, OutboxMessage, User

from .helpers import (
    CookieCheckingClient,
    SMTPSink,
    field_error,
    form_fields,
    html_body,
    soup,
    text_body,
)

URL = "/privacy/contact"
FORM = "form.privacy-contact-form"
STAFF = "privacy@allcot.example"  # the example site's PRIVACY_CONTACT_RECIPIENTS
SENDER = {"name": "Carl Sender", "email": "carl@example.test", "message": "Hello,\nmy data?"}
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def messages(app: Flask) -> list[ContactMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ContactMessage).order_by(ContactMessage.id)).all()
        db.session.expunge_all()
        return list(rows)


def kept_fields(response: t.Any) -> dict[str, str]:
    """The form's values as a browser reads them (it drops a textarea's first line break)."""
    fields = form_fields(response, FORM)
    fields["message"] = fields["message"].removeprefix("\r\n").removeprefix("\n")
    return fields


def test_the_footer_links_to_the_contact_form(client: CookieCheckingClient) -> None:
    home = soup(client.get("/"))
    assert home.select_one(f".privacy-footer__links a[href='{URL}']") is not None
    page = client.get(URL)
    assert page.status_code == 200
    names = {f["name"] for f in soup(page).select(f"{FORM} [name]")}
    assert names == {"csrf_token", "name", "email", "message"}


def test_a_message_is_stored_with_email_ip_and_user_agent(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    """P17: the sender's email, IP address and message are stored."""
    response = client.submit(
        URL,
        SENDER,
        form_selector=FORM,
        environ_base={"REMOTE_ADDR": "::ffff:198.51.100.20"},
        headers={"User-Agent": "Mozilla/5.0 " + "x" * 300},
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/privacy/contact/sent"
    [saved] = messages(app)
    assert (saved.name, saved.email) == (SENDER["name"], SENDER["email"])
    assert saved.message == SENDER["message"]
    assert saved.ip_address == "198.51.100.20"
    assert saved.user_agent == ("Mozilla/5.0 " + "x" * 300)[:255]
    assert saved.user_id is None
    confirmation = client.get(response.headers["Location"])
    assert confirmation.status_code == 200
    assert "message was sent" in soup(confirmation).select_one("h1").get_text()


def test_staff_get_the_message_by_email_with_reply_to_the_sender(
    client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    client.submit(URL, SENDER, form_selector=FORM)
    mail = smtp.last_to(STAFF)
    assert mail["Reply-To"] == SENDER["email"]
    assert SENDER["name"] in mail["Subject"]
    text = text_body(mail).replace("\r\n", "\n")
    assert SENDER["email"] in text
    assert "Hello,\nmy data?" in text
    html = BeautifulSoup(html_body(mail), "html.parser")
    assert "my data?" in html.get_text()
    # Nobody but the named staff gets it: not the sender (the form is no mail relay).
    assert smtp.to(SENDER["email"]) == []


@pytest.mark.parametrize(
    "extra_config",
    [{"PRIVACY_CONTACT_RECIPIENTS": ["dpo@allcot.example", "support@allcot.example"]}],
)
def test_every_named_recipient_gets_it(client: CookieCheckingClient, smtp: SMTPSink) -> None:
    client.submit(URL, SENDER, form_selector=FORM)
    assert smtp.to("dpo@allcot.example")
    assert smtp.to("support@allcot.example")
    assert smtp.to(STAFF) == []


@pytest.mark.parametrize(
    "extra_config", [{"PRIVACY_CONTACT_RECIPIENTS": [], "PRIVACY_CONTACT_EMAIL": None}]
)
def test_without_recipients_the_message_is_still_kept(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    assert client.submit(URL, SENDER, form_selector=FORM).status_code == 302
    assert len(messages(app)) == 1
    assert smtp.messages == []


def test_a_member_is_prefilled_and_linked(
    app: Flask, logged_in: CookieCheckingClient, member: User, smtp: SMTPSink
) -> None:
    fields = kept_fields(logged_in.get(URL))
    assert fields["name"] == member.display_name
    assert fields["email"] == member.email
    logged_in.submit(URL, {"message": "From a member."}, form_selector=FORM)
    [saved] = messages(app)
    assert saved.user_id == member.id
    assert member.username in text_body(smtp.last_to(STAFF))


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"name": ""}, "name", "Enter your name."),
        ({"email": ""}, "email", "Enter your email address"),
        ({"email": "carl at example"}, "email", "@"),
        ({"message": "  "}, "message", "Write your message."),
        ({"message": "x" * 10_001}, "message", "10,000"),
        ({"name": "n" * 101}, "name", "100"),
    ],
)
def test_bad_input_is_answered_beside_the_field_and_nothing_is_sent(
    app: Flask,
    client: CookieCheckingClient,
    smtp: SMTPSink,
    changes: dict[str, str],
    field_id: str,
    message: str,
) -> None:
    typed = {**SENDER, **changes}
    response = client.submit(URL, typed, form_selector=FORM)
    assert response.status_code == 400
    assert message in field_error(response, field_id)
    kept = kept_fields(response)
    for name in ("name", "email", "message"):
        if typed[name].strip():
            assert kept[name] == typed[name].strip()
    assert messages(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    assert smtp.messages == []


@pytest.mark.parametrize("field", ["name", "message"])
def test_a_nul_byte_is_refused_beside_the_field_and_nothing_stored(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, field: str
) -> None:
    """A control character no one types (PostgreSQL refuses NUL) is bad input, not a 500."""
    response = client.submit(URL, {**SENDER, field: "a\x00b"}, form_selector=FORM)
    assert response.status_code == 400
    assert (
        field_error(response, field) == "Remove the invisible control characters from this field."
    )
    assert messages(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    assert smtp.messages == []


def test_a_post_without_the_csrf_token_is_refused(app: Flask, client: CookieCheckingClient) -> None:
    assert client.post(URL, data=SENDER).status_code == 400
    assert messages(app) == []


@pytest.mark.parametrize("field", ["name", "email", "message"])
def test_markup_typed_in_any_field_comes_back_escaped(
    app: Flask, client: CookieCheckingClient, field: str
) -> None:
    # A missing email makes the form invalid, whatever else was typed.
    typed = {**SENDER, "email": "", field: XSS}
    response = client.submit(URL, typed, form_selector=FORM)
    assert response.status_code == 400
    page = soup(response)
    assert not [s for s in page.select("script") if "alert" in s.get_text()]
    assert not page.select("[onerror]")
    assert kept_fields(response)[field] == XSS


def test_markup_in_a_message_reaches_staff_as_text(
    client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    client.submit(URL, {**SENDER, "name": f"Eve {XSS}", "message": f"Hi {XSS}"}, form_selector=FORM)
    mail = smtp.last_to(STAFF)
    html = BeautifulSoup(html_body(mail), "html.parser")
    assert html.select("script") == []
    assert html.select("[onerror]") == []
    assert f"Hi {XSS}" in html.get_text()
    assert f"Hi {XSS}" in text_body(mail)


def test_a_name_cannot_add_mail_headers(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    client.submit(URL, {**SENDER, "name": "Eve\r\nBcc: victim@example.test"}, form_selector=FORM)
    mail = smtp.last_to(STAFF)
    assert mail["Bcc"] is None
    assert smtp.to("victim@example.test") == []
    assert messages(app)[0].name == "Eve Bcc: victim@example.test"


@pytest.mark.parametrize("extra_config", [{"PRIVACY_CONTACT_LIMIT_PER_IP": "1 per minute"}])
def test_the_form_is_rate_limited_per_ip(app: Flask, client: CookieCheckingClient) -> None:
    assert client.submit(URL, SENDER, form_selector=FORM).status_code == 302
    assert client.submit(URL, SENDER, form_selector=FORM).status_code == 429
    assert len(messages(app)) == 1


def test_correspondence_is_found_for_a_copy_on_request(
    app: Flask, logged_in: CookieCheckingClient, member: User
) -> None:
    """P18: correspondence is kept, and a person's messages can be found for a copy."""
    client = t.cast(CookieCheckingClient, app.test_client())
    client.submit(URL, SENDER, form_selector=FORM)
    client.submit(
        URL, {**SENDER, "email": "CARL@example.test", "message": "Again."}, form_selector=FORM
    )
    logged_in.submit(
        URL, {"email": "other@example.test", "message": "As a member."}, form_selector=FORM
    )
    with app.app_context():
        carl = correspondence_for("carl@EXAMPLE.test")
        assert [m.message for m in carl] == ["Hello,\nmy data?", "Again."]
        mine = correspondence_for(member.email, user_id=member.id)
        assert [m.message for m in mine] == ["As a member."]
