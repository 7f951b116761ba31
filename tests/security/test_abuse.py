"""Abuse: reserved query keys, huge bodies and fields, NUL and invalid UTF-8 on every route."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from ..helpers import CookieCheckingClient, soup
from .surface import forms_on_pages, page_urls, routes

#: Query keys ``url_for`` keeps for itself (finding 4 of issue #14), and friends.
RESERVED_QUERIES = [
    "page=2&endpoint=x",
    "_method=PUT",
    "_scheme=https&_external=",
    "_external=1",
    "_anchor=x",
    "page=2&_anchor=%0d%0a",
    "per_page=20&endpoint=privacy_staff.home&values=1",
    "page=-1",
    "page=99999999999999999999",
    "page=1e9",
    "q=%00",
    "q=%ff%fe",
]


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_reserved_query_keys_on_every_page_are_never_a_500(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], who: str
) -> None:
    client = client_as(who)
    for url in page_urls(app):
        for query in RESERVED_QUERIES:
            response = client.get(f"{url}?{query}")
            assert response.status_code < 500, f"{who} GET {url}?{query}"


def test_reserved_query_keys_on_a_staff_list_with_pages_keep_working(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], make_member: t.Any
) -> None:
    """The pager and the screen options build links from the query: reserved keys dropped."""
    for n in range(25):
        make_member(f"m{n:02d}")
    client = client_as("admin")
    response = client.get("/staff/?q=m&per_page=10&page=1&endpoint=x&_method=PUT&_anchor=a")
    assert response.status_code == 200
    following = soup(response).select_one("a[rel=next]")
    assert following is not None
    assert "endpoint" not in str(following["href"])
    assert "_method" not in str(following["href"])
    saved = client.submit(
        "/staff/?q=m&page=2&endpoint=x&_scheme=https&_external=1",
        {"per_page": "10"},
        form_selector="form.privacy-staff-options__form",
    )
    assert saved.status_code == 302
    assert saved.location.startswith("/staff/")
    assert "endpoint" not in saved.location


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_huge_nul_and_invalid_utf8_bodies_to_every_form_are_never_a_500(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], who: str
) -> None:
    client = client_as(who)
    for form in forms_on_pages(client, page_urls(app)):
        page = client.get(form.page)
        token = soup(page).select_one("input[name$=csrf_token]")
        values = {**form.values}
        if token is not None:
            values[form.token_field] = str(token["value"])
        for name in form.text_fields:
            if name.endswith("csrf_token"):
                continue
            for bad in ("x" * 100_000, "a\x00b", "\ud800"):
                data = {**values, name: bad}
                try:
                    response = client.post(form.action, data=data)
                except UnicodeEncodeError:
                    # The lone surrogate cannot be encoded by the client: send raw bytes.
                    response = client.post(
                        form.action,
                        data=f"{form.token_field}={values.get(form.token_field, '')}&{name}=%ff%fe",
                        content_type="application/x-www-form-urlencoded",
                    )
                assert response.status_code < 500, f"{who} {form.action} {name}"


def test_a_one_megabyte_body_is_refused_on_every_post_route(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient]
) -> None:
    """MAX_CONTENT_LENGTH is set by default (finding 7): 413 wherever the form is read."""
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["PRIVACY_MAX_CONTENT_LENGTH"]
    client = client_as("member")
    payload = "x" * 1_100_000
    for _endpoint, _method, url in routes(app, {"POST"}):
        response = client.post(url, data={"body": payload, "message": payload})
        assert 400 <= response.status_code < 500 or response.status_code == 302, url
        assert payload not in response.get_data(as_text=True), url
    assert client.post("/account/register", data={"username": payload}).status_code == 413
    assert client.post("/privacy/contact", data={"message": payload}).status_code == 413
