"""The policy page (generated cookie table and processor list) and the cookie settings page."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, render_template_string

from example_site.processors import PROCESSORS
from flask_allcot_privacy import cookies
from flask_allcot_privacy.consent import allows as privacy_allows

from .helpers import CookieCheckingClient, make_host_app, soup
from .test_consent import BANNER_FORM, decide


def test_policy_lists_every_declared_cookie(app: Flask, client: CookieCheckingClient) -> None:
    """P11, P12, P13, P14: the cookie table is the registry, lifetimes included."""
    page = soup(client.get("/privacy/policy"))
    rows = page.select("#cookies table tbody tr")
    with app.app_context():
        expected = {c.cookie_name() + ("*" if c.pattern else "") for c in cookies.declared()}
    shown = {row.select_one("code").get_text() for row in rows}
    assert shown == expected
    assert {"_ga", "_ga_*"} <= shown
    by_name = {row.select_one("code").get_text(): row.get_text(" ", strip=True) for row in rows}
    assert "2 days" in by_name["session"]
    assert "2 weeks" in by_name["remember_token"]
    assert "Until you close the browser" in by_name["privacy_test_cookie"]
    assert "1 year" in by_name["privacy_screen_options"]
    assert "6 months" in by_name["privacy_consent"]
    assert "Google Analytics" in by_name["_ga"]
    assert "13 months" in by_name["_ga"]


def test_policy_lists_every_processor_with_its_links(client: CookieCheckingClient) -> None:
    """P34: the third-party processors are listed, with links to their policies and opt-outs."""
    page = soup(client.get("/privacy/policy"))
    rows = {row["data-processor"]: row for row in page.select("#processors tbody tr")}
    assert list(rows) == [p["name"] for p in PROCESSORS]
    for processor in PROCESSORS:
        row = rows[processor["name"]]
        assert row.select_one("a.privacy-processor__policy")["href"] == processor["policy_url"]
        opt_out = row.select_one("a.privacy-processor__opt-out")
        if "opt_out_url" in processor:
            assert opt_out is not None
            assert opt_out["href"] == processor["opt_out_url"]
        else:
            assert opt_out is None


#: The processors the ALLCOT policy text names (``shared/seed/privacy-policy.txt``), with
#: the policy links the text itself gives. Written out here from the policy, not taken
#: from the site's PRIVACY_PROCESSORS, so a processor dropped from the site is caught.
POLICY_PROCESSORS = {
    "Google / G Suite": "https://policies.google.com/privacy",
    "Google Analytics": None,
    "MailChimp": "https://mailchimp.com/legal/privacy/",
    "Google AdSense & DoubleClick": None,
    "Twitter": None,
    "Facebook": None,
    "Pipelinedeals": "https://www.pipelinedeals.com/privacy",
    "PayPal": "https://www.paypal.com/webapps/mpp/ua/privacy-full",
    "Stripe": "https://stripe.com/us/privacy",
    "Digital Ocean": None,
}


def test_the_policy_page_lists_every_processor_the_policy_names(
    client: CookieCheckingClient,
) -> None:
    """P34: each processor the policy text names is listed, with a link to its policy."""
    page = soup(client.get("/privacy/policy"))
    rows = {row["data-processor"]: row for row in page.select("#processors tbody tr")}
    missing = sorted(set(POLICY_PROCESSORS) - set(rows))
    assert not missing, f"the policy names these processors, the page does not: {missing}"
    for name, policy_url in POLICY_PROCESSORS.items():
        link = rows[name].select_one("a.privacy-processor__policy")
        assert link is not None, name
        assert str(link["href"]).startswith("https://"), name
        if policy_url is not None:
            assert link["href"] == policy_url, name


def test_the_example_site_shows_the_allcot_policy(client: CookieCheckingClient) -> None:
    page = soup(client.get("/privacy/policy"))
    assert page.select_one(".privacy-policy__text h1").get_text() == "We value your privacy!"
    headings = [h.get_text() for h in page.select(".privacy-policy__text h2")]
    assert "What Data Breach Procedures We Have In Place" in headings
    gaoptout = page.select_one(
        ".privacy-policy__text a[href='https://tools.google.com/dlpage/gaoptout/']"
    )
    assert gaoptout is not None, "P19: the policy links the analytics opt-out"


def test_a_host_without_its_own_text_gets_the_default_policy(tmp_path: Path) -> None:
    app = make_host_app(tmp_path, PRIVACY_SITE_NAME="Host Site")
    with app.app_context():  # the page reads the published versions
        app.extensions["sqlalchemy"].create_all()
    page = soup(app.test_client().get("/privacy/policy"))
    assert "Host Site values your privacy" in page.select_one(".privacy-policy__text").get_text()
    assert page.select_one("#cookies table") is not None
    assert "no third-party processors" in page.select_one("#processors").get_text()


def test_the_default_layout_carries_the_head_and_the_banner(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    page = soup(app.test_client().get("/account/login"))
    assert page.select_one("head link[href$='privacy/consent.css']") is not None
    assert page.select_one("head script[src$='privacy/consent.js']") is not None
    assert page.select_one("[data-privacy-consent-banner]") is not None


def test_settings_page_works_without_javascript(client: CookieCheckingClient) -> None:
    """Withdrawing is as easy as giving: every category, its services and cookies, one form."""
    page = soup(client.get("/privacy/cookies"))
    assert page.select_one("[data-privacy-consent-banner]") is None, "the page is the banner"
    form = page.select_one(BANNER_FORM)
    assert form["method"] == "post"
    assert form["action"] == "/privacy/consent"
    necessary = page.select_one("#category-necessary")
    assert necessary.select_one("input") is None, "necessary is always on, not a toggle"
    assert "Always on" in necessary.get_text()
    boxes = form.select("input[type=checkbox][name=categories]")
    assert [b["value"] for b in boxes] == ["preferences", "analytics", "marketing"]
    assert not any(b.has_attr("checked") for b in boxes)
    for box in boxes:
        assert page.select_one(f"label[for={box['id']}]") is not None
    analytics = page.select_one("#category-analytics")
    assert "Google Analytics" in analytics.get_text()
    assert {c.get_text() for c in analytics.select("code")} == {"_ga", "_ga_*"}
    assert {b["value"] for b in form.select("button[name=action]")} == {
        "save",
        "accept_all",
        "reject_all",
    }

    decide(client, "save", ["analytics"], page="/privacy/cookies")
    after = soup(client.get("/privacy/cookies"))
    checked = [b["value"] for b in after.select("input[name=categories][checked]")]
    assert checked == ["analytics"]
    assert "consent id" in after.select_one("main").get_text()


def test_footer_links_to_policy_and_cookie_settings(client: CookieCheckingClient) -> None:
    footer = soup(client.get("/")).select_one("footer")
    hrefs = {a["href"] for a in footer.select("a")}
    assert {"/privacy/policy", "/privacy/cookies"} <= hrefs


def test_one_line_in_a_host_template_is_enough(tmp_path: Path) -> None:
    """The banner line alone brings the consent styles, script and gated analytics."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "base.html").write_text(
        "<!doctype html><html><head><title>{% block title %}{% endblock %}</title></head>"
        "<body><main id=main>{% block content %}{% endblock %}</main>"
        "{{ privacy_consent_banner() }}</body></html>"
    )
    app = make_host_app(tmp_path, PRIVACY_BASE_TEMPLATE="base.html", PRIVACY_ANALYTICS_ID="G-HOST1")
    app.template_folder = str(templates)
    with app.app_context():  # the policy page reads the published versions
        app.extensions["sqlalchemy"].create_all()
    page = soup(app.test_client().get("/privacy/policy"))
    assert len(page.select("link[href$='privacy/consent.css']")) == 1
    assert len(page.select("script[src$='privacy/consent.js']")) == 1
    assert page.select_one("#privacy-consent-settings") is not None
    [loader] = page.select("script[src*='googletagmanager.com']")
    assert loader["type"] == "text/plain"
    assert page.select_one("[data-privacy-consent-banner]") is not None


def test_head_and_banner_together_include_the_assets_once(client: CookieCheckingClient) -> None:
    page = soup(client.get("/"))
    assert len(page.select("script[src$='privacy/consent.js']")) == 1
    assert page.select_one("head script[src$='privacy/consent.js']") is not None


def test_analytics_without_an_analytics_category_is_refused_at_init(tmp_path: Path) -> None:
    from flask_allcot_privacy import ConfigurationError

    with pytest.raises(ConfigurationError, match="'analytics'"):
        make_host_app(
            tmp_path,
            PRIVACY_ANALYTICS_ID="G-HOST1",
            PRIVACY_CONSENT_CATEGORIES=["necessary", "preferences"],
        )


def test_templates_rendered_outside_a_request_get_no_banner(app: Flask) -> None:
    with app.app_context():
        html = render_template_string("{{ privacy_head() }}{{ privacy_consent_banner() }}")
        assert html == ""
        assert not privacy_allows("analytics")
        assert privacy_allows("necessary")
