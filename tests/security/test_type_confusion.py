"""Type confusion: files, JSON types, nulls and arrays into every field of every form.

Each answer is a 4xx with the form again, never a 500 (finding 3 of issue #14).
"""

from __future__ import annotations

import io
import json
import typing as t

import pytest
from flask import Flask

from ..helpers import CookieCheckingClient, soup
from .surface import Form, forms_on_pages, page_urls

#: JSON values a browser never sends for a form field.
JSON_VALUES: list[t.Any] = [True, False, 1, 0, -1.5, None, {}, {"a": "b"}, [], ["a", "b"], [1]]
WHO = ("anonymous", "member", "admin")


def _forms(app: Flask, client: CookieCheckingClient) -> list[Form]:
    return forms_on_pages(client, page_urls(app))


def _token(client: CookieCheckingClient, form: Form) -> str:
    """A fresh CSRF token of this session (tokens are per session, not per form)."""
    page = client.get(form.page)
    found = soup(page).select_one("input[name$=csrf_token]")
    return str(found["value"]) if found is not None else ""


def _refused_cleanly(response: t.Any, label: str) -> None:
    assert response.status_code < 500, f"{label}: {response.status_code}"
    assert response.status_code in (302, 303, 400, 403, 410, 422, 429), (
        f"{label}: {response.status_code}"
    )


@pytest.mark.parametrize("who", WHO)
def test_a_file_in_any_field_is_refused_with_a_message_not_a_500(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], who: str
) -> None:
    client = client_as(who)
    forms = _forms(app, client)
    assert forms, "no form found"
    for form in forms:
        for name in form.all_fields:
            data: dict[str, t.Any] = dict(form.values)
            data[form.token_field] = _token(client, form)
            data[name] = (io.BytesIO(b"\x89PNG not text"), "file.png")
            response = client.post(form.action, data=data, content_type="multipart/form-data")
            _refused_cleanly(response, f"{who} {form.action} {name}=file")
            if response.status_code == 400 and response.mimetype == "text/html":
                error = soup(response).select_one(f"#{name}-error")
                page_errors = soup(response).select(".privacy-error")
                assert error is not None or page_errors, f"{form.action} {name}: no message"


@pytest.mark.parametrize("who", WHO)
def test_json_values_of_the_wrong_type_are_refused_not_a_500(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], who: str
) -> None:
    client = client_as(who)
    for form in _forms(app, client):
        token = _token(client, form)
        for name in form.all_fields:
            for value in JSON_VALUES:
                body = {**form.values, form.token_field: token, name: value}
                response = client.post(
                    form.action, data=json.dumps(body), content_type="application/json"
                )
                _refused_cleanly(response, f"{who} {form.action} {name}={value!r}")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "17", "null", "{not json", "[[1, 2, 3]]"])
def test_a_json_body_that_is_not_an_object_is_refused(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], body: str
) -> None:
    client = client_as("member")
    for form in _forms(app, client):
        response = client.post(form.action, data=body, content_type="application/json")
        _refused_cleanly(response, f"{form.action} {body}")


def test_a_json_login_with_a_number_for_the_username_is_a_400_beside_the_field(
    client_as: t.Callable[[str], CookieCheckingClient],
) -> None:
    """The reported crash: ``{"username": 1}`` to login gave a 500 (``int.lower``)."""
    client = client_as("anonymous")
    page = client.get("/account/login")
    token = str(soup(page).select_one("input[name=csrf_token]")["value"])
    response = client.post(
        "/account/login",
        data=json.dumps({"csrf_token": token, "username": 1, "password": "x" * 12}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert soup(response).select_one("#username-error").get_text(strip=True)
