"""Screen options: rows per page kept in the signed ``privacy_screen_options`` cookie (P13)."""

from __future__ import annotations

import typing as t
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from flask import Flask
from itsdangerous import URLSafeSerializer

from flask_allcot_privacy import screen_options, tokens
from flask_allcot_privacy.models import User

from .helpers import CookieCheckingClient, field_error, form_fields, log_in, soup
from .test_consent import decide

COOKIE = "privacy_screen_options"
OPTIONS_FORM = "form.privacy-staff-options__form"


@pytest.fixture
def staff(
    app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]
) -> CookieCheckingClient:
    for n in range(30):
        make_member(f"person{n:02d}")
    make_member("desk", role="admin")
    assert log_in(client, "desk").status_code == 302
    return client


def _rows(response: t.Any) -> int:
    return len(soup(response).select("table.privacy-staff-directory tbody tr"))


def _set_cookie_header(response: t.Any) -> SimpleCookie:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(header)
    return parsed


def _signed(app: Flask, value: t.Any, secret: str | None = None) -> str:
    return URLSafeSerializer(secret or app.config["SECRET_KEY"], salt=screen_options.SALT).dumps(
        value
    )


def test_per_page_choice_is_kept_for_one_year(staff: CookieCheckingClient) -> None:
    """P13: the screen-options cookie lasts one year, and the choice holds on every visit."""
    assert _rows(staff.get("/staff/")) == 10  # the first of PRIVACY_PER_PAGE_CHOICES

    response = staff.submit("/staff/", {"per_page": "25"}, form_selector=OPTIONS_FORM)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    morsel = _set_cookie_header(response)[COOKIE]
    assert int(morsel["max-age"]) == int(timedelta(days=365).total_seconds())
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert _rows(staff.get("/staff/")) == 25
    assert form_fields(staff.get("/staff/"), OPTIONS_FORM)["per_page"] == "25"
    # The same choice applies to every staff list.
    assert form_fields(staff.get("/staff/audit"), OPTIONS_FORM)["per_page"] == "25"


def test_lifetime_follows_the_setting(app: Flask, staff: CookieCheckingClient) -> None:
    app.config["PRIVACY_SCREEN_OPTIONS_LIFETIME"] = timedelta(days=30)
    response = staff.submit("/staff/", {"per_page": "50"}, form_selector=OPTIONS_FORM)
    assert int(_set_cookie_header(response)[COOKIE]["max-age"]) == 30 * 24 * 3600


def test_saving_keeps_the_search_and_returns_to_the_first_page(
    staff: CookieCheckingClient,
) -> None:
    response = staff.submit(
        "/staff/?q=person&page=2", {"per_page": "50"}, form_selector=OPTIONS_FORM
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/?q=person"


def test_a_value_not_offered_is_refused_beside_the_field(staff: CookieCheckingClient) -> None:
    response = staff.submit("/staff/", {"per_page": "7"}, form_selector=OPTIONS_FORM)
    assert response.status_code == 400
    assert field_error(response, "per_page")
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]
    assert soup(response).select_one("details.privacy-staff-options").has_attr("open")


def test_saving_needs_the_csrf_token(staff: CookieCheckingClient) -> None:
    response = staff.post("/staff/", data={"per_page": "25"})
    assert response.status_code == 400
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]


def test_an_unsigned_or_foreign_cookie_is_ignored(app: Flask, staff: CookieCheckingClient) -> None:
    staff.set_cookie(COOKIE, '{"per_page": 25}', domain="blog.test")
    assert _rows(staff.get("/staff/")) == 10
    staff.set_cookie(COOKIE, _signed(app, {"per_page": 25}, "another-key"), domain="blog.test")
    assert _rows(staff.get("/staff/")) == 10
    staff.set_cookie(COOKIE, _signed(app, {"per_page": 25}), domain="blog.test")
    assert _rows(staff.get("/staff/")) == 25


def test_only_known_keys_and_offered_values_are_read(
    app: Flask, staff: CookieCheckingClient
) -> None:
    staff.set_cookie(COOKIE, _signed(app, {"per_page": 7, "evil": "x"}), domain="blog.test")
    assert _rows(staff.get("/staff/")) == 10
    staff.set_cookie(COOKIE, _signed(app, ["per_page", 25]), domain="blog.test")
    assert _rows(staff.get("/staff/")) == 10
    staff.set_cookie(COOKIE, _signed(app, {"per_page": True}), domain="blog.test")
    assert _rows(staff.get("/staff/")) == 10

    staff.set_cookie(COOKIE, _signed(app, {"per_page": 25, "theme": "dark"}), domain="blog.test")
    assert _rows(staff.get("/staff/")) == 25
    # Saving again writes back only what is known.
    response = staff.submit("/staff/", {"per_page": "50"}, form_selector=OPTIONS_FORM)
    value = _set_cookie_header(response)[COOKIE].value
    assert URLSafeSerializer(app.config["SECRET_KEY"], salt=screen_options.SALT).loads(value) == {
        "per_page": 50
    }


def test_a_rotated_secret_key_still_reads_the_cookie(app: Flask) -> None:
    old_key = app.config["SECRET_KEY"]
    cookie = _signed(app, {"per_page": 25})
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    app.config["SECRET_KEY"] = "the-new-key"
    with app.test_request_context(headers={"Cookie": f"{COOKIE}={cookie}"}):
        assert screen_options.per_page() == 25


def _no_cookie_set(response: t.Any) -> bool:
    return not [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]


def test_per_page_in_the_address_applies_and_is_kept(staff: CookieCheckingClient) -> None:
    """P13: with preferences consent, a list's ``?per_page=`` is kept like the form's choice."""
    decide(staff, "save", ["preferences"], page="/privacy/cookies")
    response = staff.get("/staff/?per_page=25")
    assert _rows(response) == 25
    assert int(_set_cookie_header(response)[COOKIE]["max-age"]) == 365 * 24 * 3600
    assert _rows(staff.get("/staff/")) == 25, "kept for the next visit"
    ignored = staff.get("/staff/?per_page=7")
    assert _rows(ignored) == 25, "a value not offered changes nothing"
    assert _no_cookie_set(ignored)


def test_per_page_in_the_address_is_not_kept_without_preferences_consent(
    staff: CookieCheckingClient,
) -> None:
    """P13, P19: a preferences cookie from an address needs consent; the page still applies it.

    The "Screen options" form is an explicit request to remember, so it keeps the
    choice whatever the consent, like the comment form's "remember me" tick.
    """
    undecided = staff.get("/staff/?per_page=25")
    assert _rows(undecided) == 25
    assert _no_cookie_set(undecided)
    assert _rows(staff.get("/staff/")) == 10, "nothing was kept"

    decide(staff, "reject_all", page="/privacy/cookies")
    rejected = staff.get("/staff/?per_page=50")
    assert _rows(rejected) == 31
    assert _no_cookie_set(rejected)
    assert _rows(staff.get("/staff/")) == 10

    saved = staff.submit("/staff/", {"per_page": "25"}, form_selector=OPTIONS_FORM)
    assert int(_set_cookie_header(saved)[COOKIE]["max-age"]) == 365 * 24 * 3600
    assert _rows(staff.get("/staff/")) == 25


def test_signing_keys_are_the_fallbacks_then_the_current_key(app: Flask) -> None:
    """Tokens and the screen-options cookie share one key list; the current key signs."""
    app.config["SECRET_KEY_FALLBACKS"] = ["older-key", "old-key"]
    app.config["SECRET_KEY"] = "the-new-key"
    with app.test_request_context():
        assert tokens.signing_keys() == ["older-key", "old-key", "the-new-key"]
        response = app.response_class()
        screen_options.remember(response, per_page=25)
    value = _set_cookie_header(response)[COOKIE].value
    assert URLSafeSerializer("the-new-key", salt=screen_options.SALT).loads(value) == {
        "per_page": 25
    }
