"""Every email the extension sends has a text and an HTML part, carrying the same links.

The emails are discovered from ``templates/privacy/email/``, so one added later is
checked too; give it a context below if the shared one does not render it.
"""

from __future__ import annotations

import re
import typing as t
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup
from flask import Flask

import flask_allcot_privacy
from flask_allcot_privacy import outbox

EMAIL_DIR = Path(flask_allcot_privacy.__file__).parent / "templates" / "privacy" / "email"
#: Templates that are not emails of their own.
NOT_EMAILS = {"layout"}
LINK = "https://blog.test/account/a-link-only-this-email-has"

#: What every email's template may use; an email needing more gets it in CONTEXTS.
SHARED_CONTEXT: dict[str, t.Any] = {
    "user": SimpleNamespace(
        id=7, username="ann", email="ann@example.test", display_name="Ann Example"
    ),
    "link": LINK,
    "valid_hours": 24,
    "new_email": "new@example.test",
    "message": SimpleNamespace(
        name="Sam Sender",
        email="sam@example.test",
        user_id=None,
        user=None,
        created_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        message="A question about my data.",
    ),
}
#: Per-email additions to SHARED_CONTEXT, by template name.
CONTEXTS: dict[str, dict[str, t.Any]] = {
    "subscription_active": {"unsubscribe_url": LINK},
    "breach_notice": {
        "incident": SimpleNamespace(
            discovered_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
            summary="A backup was readable on a public server.",
            data_affected="Your email address.",
            what_to_do="Watch out for phishing.",
        ),
        "reset_url": LINK,
        "policy_url": "https://blog.test/privacy/policy",
    },
    "policy_changed": {
        "version": SimpleNamespace(
            number=2, published_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC), summary="Clearer."
        ),
        "policy_url": "https://blog.test/privacy/policy",
    },
}

#: The privacy-request emails: the request, its type, and what answering it produced.
_PRIVACY_REQUEST = {
    "privacy_request": SimpleNamespace(
        id=12,
        email="ann@example.test",
        deadline=date(2026, 12, 11),
        correction_note="Last name changed to Lee.",
        rejection_reason="An open invoice dispute.",
    ),
    "type_label": "See and download my data",
    "expires_at": datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
    "report": SimpleNamespace(
        erased=[("Comments", 3)], retained=[("Consent records", "proof")], messages=["Done."]
    ),
    "requests": [{"id": 12, "type_label": "Erase", "deadline": date(2026, 12, 11), "link": LINK}],
    "queue_link": LINK + "/queue",
}
CONTEXTS.update(
    {
        name: _PRIVACY_REQUEST
        for name in (
            "privacy_export_ready",
            "privacy_request_already_open",
            "privacy_request_confirm",
            "privacy_request_corrected",
            "privacy_request_erased",
            "privacy_request_new_officer",
            "privacy_request_overdue",
            "privacy_request_received",
            "privacy_request_rejected",
            "privacy_request_reminder",
        )
    }
)


def email_names() -> list[str]:
    names = {path.stem for path in EMAIL_DIR.glob("*.txt")} | {
        path.stem for path in EMAIL_DIR.glob("*.html")
    }
    return sorted(names - NOT_EMAILS)


def text_links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"]+", text)


def html_links(html: str) -> list[str]:
    page = BeautifulSoup(html, "html.parser")
    return [str(a["href"]) for a in page.select("a[href]") if str(a["href"]).startswith("http")]


def test_the_emails_are_found() -> None:
    assert {"set_password_welcome", "password_changed", "contact_message"} <= set(email_names())


@pytest.mark.parametrize("name", email_names())
def test_every_email_has_a_text_and_an_html_part_with_the_same_links(app: Flask, name: str) -> None:
    assert (EMAIL_DIR / f"{name}.txt").exists(), f"{name} has no text part"
    assert (EMAIL_DIR / f"{name}.html").exists(), f"{name} has no HTML part"
    with app.test_request_context():
        subject, text, html = outbox.render(name, **{**SHARED_CONTEXT, **CONTEXTS.get(name, {})})
    assert subject
    assert html is not None
    in_text, in_html = text_links(text), html_links(html)
    assert sorted(set(in_text)) == sorted(set(in_html)), (
        f"{name}: the text part links {in_text}, the HTML part {in_html}"
    )
    assert LINK in in_text or "link" not in (EMAIL_DIR / f"{name}.txt").read_text()
