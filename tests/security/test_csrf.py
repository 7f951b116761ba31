"""CSRF on every state-changing route: missing, wrong, and another session's token.

The routes come from ``app.url_map``; each is posted as a cross-site page would (with
``Origin`` and ``Sec-Fetch-Site: cross-site``), with the values its own form holds, and
must be refused with 400 or 403 (or sent to the login page) and change nothing.
"""

from __future__ import annotations

import itertools
import typing as t

import pytest
from flask import Flask

from ..helpers import CookieCheckingClient, soup
from .surface import STATE_CHANGING, Form, forms_on_pages, page_urls, routes, snapshot

CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
#: Routes that are proven another way, by contract: none yet. RFC 8058's one-click
#: unsubscribe POST carries no token (its signed URL is the proof) and is attacked by the
#: token tests instead.
EXEMPT: set[str] = {"privacy_rights.unsubscribe", "privacy_requests.unsubscribe"}


def _token_of(client: CookieCheckingClient, url: str = "/privacy/contact") -> str:
    found = soup(client.get(url)).select_one("input[name$=csrf_token]")
    assert found is not None
    return str(found["value"])


def _form_values(forms: list[Form], url: str) -> dict[str, str]:
    for form in forms:
        if form.action.split("?")[0] == url.split("?")[0]:
            return {k: v for k, v in form.values.items() if not k.endswith("csrf_token")}
    return {}


KINDS = ("missing", "wrong", "other session")


@pytest.mark.parametrize("who", ["anonymous", "member", "admin"])
def test_every_state_changing_route_refuses_a_forged_post(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], who: str
) -> None:
    client = client_as(who)
    forms = forms_on_pages(client, page_urls(app))
    other = _token_of(client_as("member"))
    attacked = routes(app, STATE_CHANGING)
    assert len(attacked) >= 10, attacked
    for kind, (endpoint, method, url) in itertools.product(KINDS, attacked):
        if endpoint in EXEMPT:
            continue
        data = _form_values(forms, url)
        if kind == "wrong":
            data["csrf_token"] = "IjAwMDAwMDAwMDAwMDAwMDAwMDAwIg.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"
        elif kind == "other session":
            data["csrf_token"] = other
        before = snapshot(app)
        response = client.open(url, method=method, data=data, headers=CROSS_SITE)
        to_login = response.status_code == 302 and "/account/login" in (response.location or "")
        assert response.status_code in (400, 403) or (who == "anonymous" and to_login), (
            f"{who} {kind}: {method} {url} answered {response.status_code}"
        )
        after = snapshot(app)
        # A refused staff POST shows its screen again, and that view is audited (P33).
        before.pop("privacy_audit_event"), after.pop("privacy_audit_event")
        assert after == before, f"{who} {kind}: {method} {url} changed data"
