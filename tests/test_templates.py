"""Templates: every page extends PRIVACY_BASE_TEMPLATE, and a host overrides any by path."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from .helpers import make_host_app, soup


def test_host_overrides_a_template_by_path(tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "privacy" / "accounts"
    templates.mkdir(parents=True)
    (templates / "register.html").write_text(
        "{% extends config.PRIVACY_BASE_TEMPLATE %}{% block content %}"
        '<h1 id="host">Join the host site</h1>{{ form.username }}{% endblock %}'
    )
    app = make_host_app(tmp_path)
    app.template_folder = str(tmp_path / "templates")
    page = app.test_client().get("/account/register")
    assert page.status_code == 200
    assert soup(page).select_one("#host").get_text() == "Join the host site"


def test_host_overrides_an_email_by_path(tmp_path: Path) -> None:
    emails = tmp_path / "templates" / "privacy" / "email"
    emails.mkdir(parents=True)
    (emails / "password_changed.txt").write_text(
        '{% set subject = "Host subject" %}Host body for {{ user.username }}'
    )
    app = make_host_app(tmp_path)
    app.template_folder = str(tmp_path / "templates")
    from flask_allcot_privacy import outbox

    class Someone:
        username = "sam"

    with app.test_request_context():
        subject, text, html = outbox.render("password_changed", user=Someone())
    assert subject == "Host subject"
    assert text.strip() == "Host body for sam"
    assert html is not None  # the package's HTML part is still used


def test_pages_extend_the_configured_base_template(client: Flask) -> None:
    page = client.get("/account/login")
    # The example site's base template (PRIVACY_BASE_TEMPLATE = "base.html") frames the page.
    assert soup(page).select_one("header.site-header") is not None
    assert soup(page).select_one("form input[name=username]") is not None


def test_default_layout_is_used_without_a_host_base(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    page = app.test_client().get("/account/login")
    html = soup(page)
    assert html.select_one("header.privacy-masthead") is not None
    assert html.select_one("main#main") is not None
    assert html.select_one('meta[name="viewport"]') is not None
