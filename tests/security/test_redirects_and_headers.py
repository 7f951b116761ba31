"""Open redirects on every sink, and header injection into everything that reaches a mail
header. The sinks are found: every GET route answering a redirect to a ``next`` query
argument, and every form carrying a ``next`` field."""

from __future__ import annotations

import itertools
import typing as t
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask

from flask_allcot_privacy.models import User

from ..helpers import CookieCheckingClient, SMTPSink, soup
from .surface import Form, forms_on_pages, page_urls

HOST = "blog.test"
#: 50 ways of writing "another site", from the CVE write-ups and the URL parsers' quirks.
TARGETS = [
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "%5C%5Cevil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "https://evil.example",
    "http://evil.example",
    "HTTPS://evil.example",
    "https:evil.example",
    "http:evil.example",
    "https:/evil.example",
    "https:/\\evil.example",
    "https:\\\\evil.example",
    "//evil.example/%2e%2e",
    "//evil.example@blog.test",
    "https://blog.test@evil.example",
    "https://blog.test.evil.example",
    "https://evil.example#blog.test",
    "https://evil.example?blog.test",
    "//evil%2Eexample",
    "//evil。example",
    "//evil．example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    " //evil.example",
    "\t//evil.example",
    "\x00//evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://evil.example",
    "//0x7f.1",
    "//2130706433",
    "//[::1]",
    "//evil.example:80",
    "/.//evil.example",
    "/..//evil.example",
]


def _is_same_host(location: str | None) -> bool:
    if not location:
        return True
    if location.startswith(("//", "\\\\", "/\\", "\\/")) or any(c in location for c in "\t\r\n\\"):
        return False
    parts = urlsplit(location)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return False
    return parts.netloc in ("", HOST)


def test_there_are_fifty_targets() -> None:
    assert len(set(TARGETS)) >= 50


def test_no_query_sink_redirects_to_another_site(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient]
) -> None:
    """Every GET page that uses ``next`` (found by probing each with a harmless path) is
    given 50 targets, as a visitor and as a member (the login page redirects members)."""
    sinks = 0
    for who in ("anonymous", "member"):
        client = client_as(who)
        for url in page_urls(app):
            probe = client.get(f"{url}?next=/sink-probe")
            if probe.mimetype != "text/html" and not probe.location:
                continue
            carried = [str(i.get("value")) for i in soup(probe).select("input[name=next]")]
            if (
                not (probe.location or "").startswith("/sink-probe")
                and "/sink-probe" not in carried
            ):
                continue
            sinks += 1
            for target in TARGETS:
                response = client.get(f"{url}?next={quote(target, safe='')}")
                assert response.status_code < 500, (url, target)
                assert _is_same_host(response.location), (who, url, target, response.location)
                for field in soup(response).select("input[name=next]"):
                    assert _is_same_host(str(field.get("value") or "")), (url, target)
    assert sinks >= 2, "the probe found no sink: the test would prove nothing"


@pytest.mark.parametrize("extra_config", [{"PRIVACY_RATELIMIT_ENABLED": False}])
def test_logging_in_with_a_next_to_another_site_stays_here(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    for target in TARGETS:
        client = client_as("anonymous")
        response = client.submit(
            f"/account/login?next={quote(target, safe='')}",
            {"username": "reader", "password": "correct-horse-battery-staple"},
        )
        assert response.status_code == 302
        assert _is_same_host(response.location), (target, response.location)


@pytest.mark.parametrize("extra_config", [{"PRIVACY_RATELIMIT_ENABLED": False}])
def test_no_form_with_a_next_field_redirects_to_another_site(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient]
) -> None:
    sinks: list[Form] = []
    for who in ("anonymous", "member"):
        client = client_as(who)
        forms = [f for f in forms_on_pages(client, page_urls(app)) if "next" in f.values]
        sinks += forms
        for form, target in itertools.product(forms, TARGETS):
            data = {**form.values, "next": target}
            if "body" in data:
                data["body"] = "A fine post."
            for name in ("author_name",):
                if name in data:
                    data[name] = "Ann"
            if "author_email" in data:
                data["author_email"] = "ann@example.test"
            response = client.post(form.action, data=data)
            assert response.status_code < 500, (form.action, target)
            assert _is_same_host(response.location), (form.action, target, response.location)
    assert {urlsplit(f.action).path.split("/")[1] for f in sinks} >= {"comments", "privacy"}


#: Line breaks a mail library might honour: CR, LF, and Unicode's.
BREAKS = ["\r\n", "\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\r\n\t"]


@pytest.mark.parametrize("extra_config", [{"PRIVACY_RATELIMIT_ENABLED": False}])
def test_line_breaks_in_any_field_never_reach_a_mail_header(
    app: Flask,
    client_as: t.Callable[[str], CookieCheckingClient],
    seeded: dict[str, User],
    smtp: SMTPSink,
) -> None:
    """Every text field of every form, each kind of line break followed by a forged header."""
    for who in ("anonymous", "member"):
        client = client_as(who)
        forms = forms_on_pages(client, page_urls(app))
        for form, brk in itertools.product(forms, BREAKS):
            data = dict(form.values)
            for name in form.text_fields:
                if name.endswith("csrf_token") or form.kinds.get(name) == "hidden":
                    continue
                forged = f"{brk}Bcc: victim@evil.example{brk}X-Injected: yes"
                if name.endswith("email"):
                    data[name] = f"ann{brk}Bcc: victim@evil.example@example.test"
                elif form.kinds.get(name) == "password":
                    continue
                else:
                    data[name] = f"Ann{forged}"
            client.post(form.action, data=data)
            # The same values, one line each, so the mail goes out and its headers are seen.
            clean = {k: (v.split(brk)[0] if isinstance(v, str) else v) for k, v in data.items()}
            clean = {
                k: (v + "@example.test" if k.endswith("email") and "@" not in v else v)
                for k, v in clean.items()
            }
            client.post(form.action, data=clean)
    assert smtp.messages, "no mail was sent: nothing was tested"
    for message in smtp.messages:
        assert "X-Injected" not in message, message["Subject"]
        assert "victim@evil.example" not in str(message.get("Bcc", "")), message["Subject"]
        for name, value in message.items():
            assert not any(b in str(value) for b in ("\n", "\r", "\u2028", "\u2029", "\x85")), (
                name,
                value,
            )
        assert all("evil.example" not in r for r in message.get_all("To", [])), message["To"]
