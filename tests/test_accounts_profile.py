"""The profile (P5 to P9, P16, P37): what members control, and what they cannot change."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy import signals
from flask_allcot_privacy.models import LoginSession, User

from .helpers import (
    PASSWORD,
    CookieCheckingClient,
    SMTPSink,
    field_error,
    links_in,
    log_in,
    path_of,
    soup,
    text_body,
)

PROFILE_FORM = "form[action$='/account/profile']"


def _user(app: Flask, user_id: int) -> User:
    with app.app_context():
        found = db.session.get(User, user_id)
        assert found is not None
        db.session.expunge(found)
        return found


def save(client: CookieCheckingClient, **fields: t.Any) -> t.Any:
    return client.submit("/account/profile", fields, form_selector=PROFILE_FORM)


def test_profile_needs_a_login(client: CookieCheckingClient) -> None:
    response = client.get("/account/profile")
    assert response.status_code == 302
    assert response.location.startswith("/account/login?next=")


def test_optional_details_are_saved_and_editable(
    app: Flask, logged_in: CookieCheckingClient, member: User
) -> None:
    """P7, P8, P16: first name, last name, website and bio are optional, stored and editable."""
    page = soup(logged_in.get("/account/profile"))
    names = {f["name"] for f in page.select(f"{PROFILE_FORM} [name]")}
    assert {
        "first_name",
        "last_name",
        "website",
        "bio",
        "display_name",
        "email",
        "public_profile",
        "allow_indexing",
        "marketing_opt_in",
    } <= names
    response = save(
        logged_in, first_name="Ann", last_name="Lee", website="https://ann.example", bio="Hi\nthere"
    )
    assert response.status_code == 302
    user = _user(app, member.id)
    assert (user.first_name, user.last_name, user.website, user.bio) == (
        "Ann",
        "Lee",
        "https://ann.example",
        "Hi\nthere",
    )
    save(logged_in, first_name="", website="")
    user = _user(app, member.id)
    assert (user.first_name, user.website) == ("", "")


def test_username_is_read_only_and_posted_extras_are_ignored(
    app: Flask, logged_in: CookieCheckingClient, member: User
) -> None:
    """P5: usernames cannot be changed; a posted role is ignored too."""
    page = soup(logged_in.get("/account/profile"))
    shown = page.select_one("#username-readonly")
    assert shown["value"] == member.username
    assert shown.has_attr("readonly")
    assert page.select_one(f"{PROFILE_FORM} [name=username]") is None
    assert save(logged_in, username="renamed", role="admin", first_name="Ann").status_code == 302
    user = _user(app, member.id)
    assert (user.username, user.role, user.first_name) == (member.username, None, "Ann")


def test_display_name_offers_only_filled_names(
    app: Flask, logged_in: CookieCheckingClient, member: User
) -> None:
    """P9: the member chooses how their name is displayed."""
    options = lambda: [  # noqa: E731
        o["value"] for o in soup(logged_in.get("/account/profile")).select("#display_name option")
    ]
    assert options() == ["username"]
    save(logged_in, first_name="Ann")
    assert options() == ["username", "first"]
    response = save(logged_in, last_name="Lee", display_name="last_first")
    assert response.status_code == 302
    assert _user(app, member.id).display_name == "Lee Ann"
    nav = soup(logged_in.get("/")).select_one("nav[aria-label=Account]").get_text()
    assert "Lee Ann" in nav


def test_display_name_needs_its_names(logged_in: CookieCheckingClient) -> None:
    response = save(logged_in, display_name="first_last", first_name="Ann")
    assert response.status_code == 400
    assert "Fill in the names" in field_error(response, "display_name")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("website", "javascript:alert(1)", "http:// or https://"),
        ("website", "ftp://files.example", "http:// or https://"),
        ("website", "https://", "http:// or https://"),
        ("bio", "x" * 5001, "5,000"),
        ("first_name", "x" * 101, "100"),
        ("email", "nope", "email"),
    ],
)
def test_bad_profile_input_is_answered_beside_the_field(
    app: Flask, logged_in: CookieCheckingClient, member: User, field: str, value: str, message: str
) -> None:
    response = save(logged_in, **{field: value, "last_name": "Kept"})
    assert response.status_code == 400
    assert message.lower() in field_error(response, field).lower()
    assert soup(response).select_one("input[name=last_name]")["value"] == "Kept"
    assert _user(app, member.id).last_name == "", "nothing half-written"


def test_bio_is_escaped_on_the_public_page(
    app: Flask, client: CookieCheckingClient, logged_in: CookieCheckingClient, member: User
) -> None:
    """P37: public only when the member turns it on, never indexed unless allowed."""
    assert client.get(f"/account/u/{member.username}").status_code == 404
    payload = '<script>alert("x")</script>\nsecond line'
    save(logged_in, bio=payload, public_profile=True, website="https://ann.example")
    page = logged_in.get(f"/account/u/{member.username}")
    assert page.status_code == 200
    html = soup(page)
    assert html.select("script:-soup-contains('alert')") == []
    bio = html.select_one(".privacy-bio")
    assert '<script>alert("x")</script>' in bio.get_text()
    assert bio.select("br"), "line breaks are kept"
    assert html.select_one("meta[name=robots]")["content"] == "noindex"
    assert page.headers["X-Robots-Tag"] == "noindex"
    link = html.select_one("a[href='https://ann.example']")
    assert "nofollow" in link["rel"]

    save(logged_in, allow_indexing=True, public_profile=True)
    indexed = logged_in.get(f"/account/u/{member.username}")
    assert soup(indexed).select_one("meta[name=robots]") is None
    assert "X-Robots-Tag" not in indexed.headers


def test_no_self_delete_only_an_erase_request(logged_in: CookieCheckingClient) -> None:
    """P6: accounts are deleted only on request."""
    page = soup(logged_in.get("/account/profile"))
    assert not page.select("form[action*=delete]")
    # The page's own link; the footer's "Your data" link points at the same form.
    [link] = page.select("main a[href*='request']")
    href = urlsplit(str(link["href"]))
    assert (href.scheme, href.netloc) == ("", ""), "a link on this site"
    assert href.path == "/privacy/request"
    assert parse_qs(href.query) == {"request_type": ["erase"]}


def test_the_erase_link_opens_the_request_form_set_to_erase(
    logged_in: CookieCheckingClient,
) -> None:
    """P6: the profile's erase link leads to a request form with erase chosen."""
    link = soup(logged_in.get("/account/profile")).select_one("a[href*='request']")
    assert link is not None
    # The link works: the request form, with erase chosen and the member's address in.
    target = logged_in.get(str(link["href"]))
    assert target.status_code == 200
    chosen = soup(target).select_one(
        "[name=request_type] option[selected], input[name=request_type][checked]"
    )
    assert chosen is not None
    assert chosen["value"] == "erase"
    form = soup(target).select_one("form.privacy-request-form")
    assert form.select_one("input[name=email]")["value"] == "reader@example.test"


def test_marketing_choice_is_recorded(
    app: Flask, logged_in: CookieCheckingClient, member: User
) -> None:
    save(logged_in, marketing_opt_in=True)
    user = _user(app, member.id)
    assert user.marketing_opt_in is True
    assert user.marketing_opt_in_at is not None
    save(logged_in, marketing_opt_in=False)
    assert _user(app, member.id).marketing_opt_in is False


def test_profile_update_signal_names_the_changed_fields(
    app: Flask, logged_in: CookieCheckingClient
) -> None:
    seen: list[list[str]] = []

    def on_update(sender: Flask, user: User, changed: list[str]) -> None:
        seen.append(changed)

    with signals.profile_updated.connected_to(on_update, app):
        save(logged_in, first_name="Ann", bio="About me")
    assert seen == [["first_name", "bio"]]


class TestEmailChange:
    """P8: the email can be changed, confirmed from the new address."""

    def test_needs_the_current_password(
        self, app: Flask, logged_in: CookieCheckingClient, member: User, smtp: SMTPSink
    ) -> None:
        response = save(logged_in, email="new@example.test", current_password="wrong-one-here")
        assert response.status_code == 400
        assert "current password" in field_error(response, "current_password")
        assert smtp.to("new@example.test") == []

    def test_confirmed_from_the_new_address_old_one_told(
        self, app: Flask, logged_in: CookieCheckingClient, member: User, smtp: SMTPSink
    ) -> None:
        changed: list[str] = []

        def on_change(sender: Flask, user: User, old_email: str) -> None:
            changed.append(old_email)

        response = save(logged_in, email="new@example.test", current_password=PASSWORD)
        assert response.status_code == 302
        assert _user(app, member.id).email == member.email, "the old address stays until confirmed"
        assert "new@example.test" in text_body(smtp.last_to(member.email))
        [link] = [u for u in links_in(smtp.last_to("new@example.test")) if "confirm-email" in u]
        confirm_page = logged_in.get(path_of(link))
        assert confirm_page.status_code == 200
        assert _user(app, member.id).email == member.email, "a GET changes nothing"
        with signals.email_changed.connected_to(on_change, app):
            done = logged_in.submit(path_of(link), {}, form_selector="main form[method=post]")
        assert done.status_code == 302
        assert _user(app, member.id).email == "new@example.test"
        assert changed == [member.email]
        assert logged_in.get(path_of(link)).status_code == 410, "the link works once"

    def test_address_in_use_is_not_revealed(
        self,
        app: Flask,
        logged_in: CookieCheckingClient,
        member: User,
        smtp: SMTPSink,
        make_member: t.Callable[..., User],
    ) -> None:
        make_member("other", "taken@example.test")
        response = save(logged_in, email="taken@example.test", current_password=PASSWORD)
        assert response.status_code == 302
        page = soup(logged_in.get(response.location)).get_text()
        assert "Check taken@example.test" in page
        notice = smtp.last_to("taken@example.test")
        assert "already has an account" in text_body(notice)
        assert not any("confirm-email" in u for u in links_in(notice))
        assert _user(app, member.id).email == member.email


class TestSessions:
    """The profile lists live logins and ends the others on request."""

    def test_lists_sessions_and_ends_the_others(
        self, app: Flask, logged_in: CookieCheckingClient, member: User
    ) -> None:
        other = t.cast(CookieCheckingClient, app.test_client())
        log_in(other, member.username)
        page = soup(logged_in.get("/account/profile"))
        rows = page.select("section[aria-labelledby=sessions-heading] tbody tr")
        assert len(rows) == 2
        current = page.select_one("tr[aria-current=true]")
        assert "127.0.0.1" in current.get_text()
        response = logged_in.submit(
            "/account/profile", {}, form_selector="form[action$='/account/sessions/end-others']"
        )
        assert response.status_code == 302
        assert other.get("/account/profile").status_code == 302
        assert logged_in.get("/account/profile").status_code == 200
        with app.app_context():
            live = db.session.scalars(
                sa.select(LoginSession).where(LoginSession.revoked_at.is_(None))
            ).all()
        assert len(live) == 1


class TestEmailChangeSafety:
    """An intruder's pending email change dies with the owner's recovery."""

    def _ask_change(self, client: CookieCheckingClient, smtp: SMTPSink) -> str:
        save(client, email="intruder@example.test", current_password=PASSWORD)
        [link] = [
            u for u in links_in(smtp.last_to("intruder@example.test")) if "confirm-email" in u
        ]
        return path_of(link)

    def test_a_password_reset_voids_a_pending_change(
        self, app: Flask, logged_in: CookieCheckingClient, member: User, smtp: SMTPSink
    ) -> None:
        link = self._ask_change(logged_in, smtp)
        owner = t.cast(CookieCheckingClient, app.test_client())
        owner.submit("/account/reset-password", {"email": member.email})
        assert owner.get(link).status_code == 410
        assert _user(app, member.id).email == member.email

    def test_logging_out_everywhere_else_voids_a_pending_change(
        self, app: Flask, logged_in: CookieCheckingClient, member: User, smtp: SMTPSink
    ) -> None:
        link = self._ask_change(logged_in, smtp)
        logged_in.submit(
            "/account/profile", {}, form_selector="form[action$='/account/sessions/end-others']"
        )
        assert logged_in.get(link).status_code == 410

    def test_password_guesses_on_the_profile_are_limited(
        self, app: Flask, logged_in: CookieCheckingClient, smtp: SMTPSink
    ) -> None:
        app.config["PRIVACY_LOGIN_LIMIT_PER_ACCOUNT"] = "3 per 15 minutes"
        statuses = [
            save(
                logged_in, email=f"new{n}@example.test", current_password="guess-guess-1"
            ).status_code
            for n in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        assert smtp.to("new0@example.test") == []
