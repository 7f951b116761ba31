"""Security headers on the extension's pages (finding 5 of issue #14)."""

from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask

from flask_allcot_privacy.headers import OWN_BLUEPRINTS
from flask_allcot_privacy.models import User
from flask_allcot_privacy.settings import ConfigurationError

from ..helpers import CookieCheckingClient, soup
from .surface import rules, url_for_rule

NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


def _own_pages(app: Flask) -> list[str]:
    return [
        url_for_rule(app, rule)
        for rule in rules(app)
        if "GET" in (rule.methods or set()) and rule.endpoint.split(".")[0] in OWN_BLUEPRINTS
    ]


def _directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.parametrize("who", ["anonymous", "member", "admin"])
def test_every_page_of_the_extension_has_the_security_headers(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], who: str
) -> None:
    client = client_as(who)
    checked = 0
    for url in _own_pages(app):
        response = client.get(url)
        if response.mimetype != "text/html" or response.status_code >= 300:
            continue
        checked += 1
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] in ("no-referrer", "strict-origin-when-cross-origin")
        policy = _directives(headers["Content-Security-Policy"])
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"]
        assert "'unsafe-inline'" not in policy["script-src"], url
        [nonce] = NONCE.findall(headers["Content-Security-Policy"])
        # Every script the page runs carries this response's nonce.
        for script in soup(response).select("script"):
            if script.get("type") in ("application/json", "text/plain"):
                continue
            assert script.get("nonce") == nonce, (url, str(script)[:80])
        if who != "anonymous":
            assert headers["Cache-Control"] == "private, no-store", url
    assert checked >= 5


def test_the_nonce_is_new_for_every_response(
    client_as: t.Callable[[str], CookieCheckingClient],
) -> None:
    client = client_as("anonymous")
    nonces = {
        NONCE.findall(client.get("/account/login").headers["Content-Security-Policy"])[0]
        for _ in range(3)
    }
    assert len(nonces) == 3


def test_the_kept_head_carries_each_responses_own_nonce(
    client_as: t.Callable[[str], CookieCheckingClient],
) -> None:
    """The head of an extension page is kept with a stand-in for the nonce, replaced on
    every response: the script tag's nonce is the header's, and differs every time."""
    client = client_as("anonymous")
    seen = set()
    for _ in range(3):
        page = client.get("/account/login")
        [nonce] = NONCE.findall(page.headers["Content-Security-Policy"])
        scripts = soup(page).select("script[src*='consent.js']")
        assert [s.get("nonce") for s in scripts] == [nonce]
        assert "privacy-nonce" not in page.get_data(as_text=True)
        seen.add(nonce)
    assert len(seen) == 3


@pytest.mark.parametrize(
    "extra_config", [{"PRIVACY_CONTENT_SECURITY_POLICY": {"img-src": ["https://a.example"]}}]
)
def test_the_policy_follows_its_setting_even_when_edited_in_place(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient]
) -> None:
    client = client_as("anonymous")
    before = _directives(client.get("/account/login").headers["Content-Security-Policy"])
    assert "https://a.example" in before["img-src"]
    app.config["PRIVACY_CONTENT_SECURITY_POLICY"]["img-src"].append("https://{nonce}.example")
    after = _directives(client.get("/account/login").headers["Content-Security-Policy"])
    # Kept as written: only the extension's own nonce source gets the nonce.
    assert after["img-src"][-1] == "https://{nonce}.example"


def test_a_page_whose_address_holds_a_token_sends_no_referrer(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient]
) -> None:
    client = client_as("anonymous")
    token_rules = [r for r in rules(app) if "token" in r.arguments and "GET" in (r.methods or ())]
    assert token_rules
    for rule in token_rules:
        response = client.get(url_for_rule(app, rule))
        assert response.headers["Referrer-Policy"] == "no-referrer", rule.rule


def test_host_pages_carry_no_nonce_so_they_stay_cacheable(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    """The banner and head tags in a host page are the same for every request."""
    client = client_as("anonymous")
    for url in ("/", "/posts/we-value-your-privacy"):
        page = client.get(url)
        assert "Content-Security-Policy" not in page.headers
        assert not soup(page).select("[nonce]"), url


@pytest.mark.parametrize("url", ["/privacy/contact", "/posts/we-value-your-privacy"])
def test_pages_showing_a_members_details_are_private(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User], url: str
) -> None:
    page = client_as("member").get(url)
    assert page.status_code == 200
    assert seeded["member"].email in page.get_data(as_text=True) or url.startswith("/posts")
    assert page.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    "extra_config",
    [{"PRIVACY_CONTENT_SECURITY_POLICY": {"frame-src": ["https://www.youtube-nocookie.com"]}}],
)
def test_a_host_extends_the_policy(client_as: t.Callable[[str], CookieCheckingClient]) -> None:
    policy = _directives(
        client_as("anonymous").get("/account/login").headers["Content-Security-Policy"]
    )
    assert policy["frame-src"] == ["'self'", "https://www.youtube-nocookie.com"]


@pytest.mark.parametrize(
    "bad", [{"script-src": "https://x.test"}, {"script-src": ["https://x.test; x"]}, ["x"]]
)
def test_a_malformed_policy_extension_is_refused_at_init(
    config: dict[str, t.Any], bad: t.Any
) -> None:
    from example_site import create_app

    with pytest.raises(ConfigurationError, match="PRIVACY_CONTENT_SECURITY_POLICY"):
        create_app({**config, "PRIVACY_CONTENT_SECURITY_POLICY": bad})


@pytest.mark.parametrize("extra_config", [{"PRIVACY_SECURITY_HEADERS": False}])
def test_a_host_may_send_its_own_headers_instead(
    client_as: t.Callable[[str], CookieCheckingClient],
) -> None:
    page = client_as("anonymous").get("/account/login")
    assert "Content-Security-Policy" not in page.headers
    assert not soup(page).select("[nonce]")
