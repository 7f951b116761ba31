"""The consent banner in a real headless Chromium, against the example site on a real port.

Every request the browser makes is recorded; requests to any host but the test
server are aborted, so nothing leaves the machine, but an attempt to reach the
analytics host is still seen. Without ``/usr/bin/chromium`` these tests skip,
unless ``PRIVACY_REQUIRE_BROWSER=1`` (as in CI), where they fail instead.
"""

from __future__ import annotations

import re
import threading
import typing as t
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, Response, render_template_string

from example_site import db
from flask_allcot_privacy.models import ConsentRecord

from .browser import Visit

if t.TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

BANNER = "[data-privacy-consent-banner]"
ACCEPT = "[data-privacy-consent-banner] button[value=accept_all]"
REJECT = "[data-privacy-consent-banner] button[value=reject_all]"

#: Records every layout shift Chromium reports, from the very start of the page, with whether
#: the consent banner was among the elements that moved.
LAYOUT_SHIFT_OBSERVER = """
window.__layoutShift = { total: 0, entries: 0, banner: 0, moved: [] };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    window.__layoutShift.total += entry.value;
    window.__layoutShift.entries += 1;
    for (const source of entry.sources || []) {
      const node = source.node;
      const element = node && (node.nodeType === 1 ? node : node.parentElement);
      const inBanner = !!(element && element.closest("[data-privacy-consent-banner]"));
      if (inBanner) { window.__layoutShift.banner += 1; }
      window.__layoutShift.moved.push((inBanner ? "banner: " : "") +
        (element ? element.tagName + "." + element.className : String(node)));
    }
  }
}).observe({ type: "layout-shift", buffered: true });
"""
AFTER_TWO_FRAMES = (
    "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
)


@pytest.fixture
def config(config: dict[str, t.Any]) -> dict[str, t.Any]:
    # The browser reaches the site at 127.0.0.1:<port>, not at the test client's host name.
    return {**config, "PRIVACY_ANALYTICS_ID": "G-TEST123", "SERVER_NAME": None}


#: A page with a gated module script: ``import.meta`` is a syntax error in a classic script.
MODULE_PAGE = """<!doctype html><html lang="en">
<head><title>Module</title>{{ privacy_head() }}</head><body><main id="main">
{{ privacy_script("analytics", inline="window.__moduleRan = typeof import.meta;", type="module") }}
</main>{{ privacy_consent_banner() }}</body></html>"""
#: A host's own banner template from before the markers: the consent styles, no markers.
OWN_BANNER_PAGE = """<!doctype html><html lang="en">
<head><title>Own banner</title>{{ privacy_head() }}</head><body><main id="main"></main>
<section class="privacy-consent" id="own-banner" data-privacy-consent-banner>
<p>Our own banner.</p></section></body></html>"""
#: A plain page ending in the banner, for the page that arrives in two halves.
MAIN_AND_BANNER = """<!doctype html><html lang="en">
<head><title>Arriving</title>{{ privacy_head() }}</head><body><main id="main">
<p>A page that arrives slowly.</p></main>{{ privacy_consent_banner() }}</body></html>"""


@pytest.fixture
def app(app: Flask) -> Flask:
    @app.route("/gated-module")
    def gated_module() -> str:
        return render_template_string(MODULE_PAGE)

    return app


def records(app: Flask) -> list[ConsentRecord]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.id)))
        db.session.expunge_all()
        return found


def test_no_analytics_before_consent_nor_after_reject(
    app: Flask, visit: t.Callable[..., Visit]
) -> None:
    """P19: Google Analytics is not contacted before consent, nor after refusal."""
    browser = visit()
    page = browser.open("/")
    assert page.is_visible(BANNER)
    assert browser.analytics_attempts == []

    page.evaluate("window.__samePage = true")
    page.click(REJECT)
    page.wait_for_selector(BANNER, state="hidden")
    assert page.evaluate("window.__samePage") is True, "saved without a page reload"
    assert [r.granted for r in records(app)] == [["necessary"]]

    browser.open("/privacy/policy")
    assert not page.is_visible(BANNER)
    browser.page.reload(wait_until="load")
    assert browser.analytics_attempts == []


def test_accept_loads_analytics_at_once_and_on_later_pages(
    app: Flask, visit: t.Callable[..., Visit]
) -> None:
    """P19: analytics runs after acceptance: at the moment of consent, then server-side."""
    browser = visit()
    page = browser.open("/")
    assert browser.analytics_attempts == []
    page.evaluate("window.__samePage = true")
    with page.expect_request(lambda r: "googletagmanager.com/gtag/js" in r.url):
        page.click(ACCEPT)
    page.wait_for_selector(BANNER, state="hidden")
    assert page.evaluate("window.__samePage") is True, "saved without a page reload"
    consent_mode = page.evaluate(
        "window.dataLayer.filter((c) => c[0] === 'consent').map((c) => [c[1], c[2]])"
    )
    (first_command, first_mode), (last_command, last_mode) = consent_mode[0], consent_mode[-1]
    assert first_command == "default"
    assert first_mode["analytics_storage"] == "denied", "Consent Mode starts denied"
    assert last_command == "update"
    assert last_mode["analytics_storage"] == "granted"

    attempts = len(browser.analytics_attempts)
    browser.open("/privacy/policy")
    assert len(browser.analytics_attempts) > attempts, "later pages load it server-side"
    assert records(app)[-1].source == "banner"


@pytest.mark.parametrize(("button", "live"), [(ACCEPT, True), (REJECT, False)])
def test_the_banner_works_without_javascript(
    app: Flask, visit: t.Callable[..., Visit], button: str, live: bool
) -> None:
    browser = visit(java_script_enabled=False)
    page = browser.open("/privacy/policy")
    with page.expect_navigation():
        page.click(button)
    assert urlsplit(page.url).path == "/privacy/policy", "back on the page the visitor was on"
    assert not page.is_visible(BANNER)
    loader = page.query_selector("script[src*='googletagmanager.com']")
    assert loader is not None
    assert (loader.get_attribute("type") is None) is live
    assert browser.analytics_attempts == [], "no JavaScript, so no script ever runs"
    [record] = records(app)
    assert ("analytics" in record.granted) is live


def _tab_to(page: Page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


def _focus_ring(page: Page) -> tuple[str, float]:
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    return style[0], style[1]


@pytest.mark.parametrize(
    ("button", "key", "granted"), [(ACCEPT, "Enter", True), (REJECT, "Space", False)]
)
def test_keyboard_alone_reaches_and_presses_both_buttons(
    app: Flask, visit: t.Callable[..., Visit], button: str, key: str, granted: bool
) -> None:
    browser = visit()
    page = browser.open("/")
    _tab_to(page, button)
    outline, width = _focus_ring(page)
    assert outline != "none"
    assert width >= 2, "focus is visible"
    page.keyboard.press(key)
    page.wait_for_selector(BANNER, state="hidden")
    [record] = records(app)
    assert ("analytics" in record.granted) is granted


def test_the_banner_causes_no_layout_shift(visit: t.Callable[..., Visit]) -> None:
    browser = visit()
    browser.context.add_init_script(LAYOUT_SHIFT_OBSERVER)
    page = browser.open("/")
    assert page.evaluate("PerformanceObserver.supportedEntryTypes.includes('layout-shift')")
    assert page.eval_on_selector(BANNER, "(b) => getComputedStyle(b).position") == "fixed"
    page.evaluate(AFTER_TWO_FRAMES)
    # A loaded machine may paint the host's page while it still arrives (its footer grows):
    # that is the host's layout. Nothing of the banner may move, though.
    loading = page.evaluate("window.__layoutShift")
    assert loading["banner"] == 0, loading["moved"]
    page.evaluate("window.__layoutShift = { total: 0, entries: 0, banner: 0, moved: [] }")
    page.click(REJECT)
    page.wait_for_selector(BANNER, state="hidden")
    page.evaluate(AFTER_TWO_FRAMES)
    hiding = page.evaluate("window.__layoutShift")
    assert (hiding["total"], hiding["moved"]) == (0, []), "hiding the overlay moves nothing"


def test_an_overriding_banner_without_the_markers_is_still_shown(
    app: Flask, visit: t.Callable[..., Visit]
) -> None:
    """Only a banner that starts with the start marker is held back until it is whole."""

    @app.route("/own-banner")
    def own_banner() -> str:
        return render_template_string(OWN_BANNER_PAGE)

    page = visit().open("/own-banner")
    assert page.is_visible("#own-banner")


def test_a_banner_painted_while_it_arrives_does_not_grow(
    app: Flask, visit: t.Callable[..., Visit]
) -> None:
    """A slow page is painted half parsed: the banner must not appear, then grow upwards."""
    rest_may_follow = threading.Event()

    @app.route("/arriving")
    def arriving() -> Response:
        page = render_template_string(MAIN_AND_BANNER)
        cut = page.index('<div class="privacy-consent__actions"')

        def body() -> t.Iterator[str]:
            yield page[:cut]
            assert rest_may_follow.wait(10), "the test never saw the first half painted"
            yield page[cut:]

        return Response(body(), mimetype="text/html")

    browser = visit()
    browser.context.add_init_script(LAYOUT_SHIFT_OBSERVER)
    page = browser.page
    page.goto(browser.site + "/arriving", wait_until="commit")
    page.wait_for_selector("#privacy-consent-text", state="attached")
    page.evaluate(AFTER_TWO_FRAMES)
    assert not page.is_visible(BANNER), "half a banner is never shown"
    rest_may_follow.set()
    page.wait_for_load_state("load")
    page.wait_for_selector(REJECT, state="visible")
    page.evaluate(AFTER_TWO_FRAMES)
    shifts = page.evaluate("window.__layoutShift")
    assert (shifts["total"], shifts["moved"]) == (0, [])


EQUAL_STYLE = (
    "font-family",
    "font-size",
    "font-weight",
    "line-height",
    "color",
    "background-color",
    "border-top-width",
    "border-top-style",
    "border-top-color",
    "border-top-left-radius",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "text-decoration-line",
    "text-transform",
)


def _rgb(css: str) -> tuple[float, float, float]:
    red, green, blue = (float(v) for v in re.findall(r"[\d.]+", css)[:3])
    return red, green, blue


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2.1 contrast ratio of two CSS rgb() colours."""

    def luminance(css: str) -> float:
        def channel(value: float) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in _rgb(css))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_accept_and_reject_have_equal_weight_and_aa_contrast(
    visit: t.Callable[..., Visit],
) -> None:
    page = visit().open("/")
    styles = {
        selector: page.eval_on_selector(
            selector,
            "(b, names) => { const s = getComputedStyle(b); const r = b.getBoundingClientRect();"
            " const values = names.map((n) => [n, s.getPropertyValue(n)]);"
            " return Object.assign(Object.fromEntries(values),"
            " {width: r.width, height: r.height}); }",
            list(EQUAL_STYLE),
        )
        for selector in (ACCEPT, REJECT)
    }
    assert styles[ACCEPT] == styles[REJECT]

    banner_background = page.eval_on_selector(BANNER, "(b) => getComputedStyle(b).backgroundColor")
    for selector in (".privacy-consent__text", ".privacy-consent__title", ".privacy-consent__link"):
        color = page.eval_on_selector(f"{BANNER} {selector}", "(e) => getComputedStyle(e).color")
        assert contrast(color, banner_background) >= 4.5, selector
    button = styles[ACCEPT]
    assert contrast(button["color"], button["background-color"]) >= 4.5
    assert contrast(button["background-color"], banner_background) >= 3, "the button is visible"


def test_banner_roles_and_labels(visit: t.Callable[..., Visit]) -> None:
    page = visit().open("/")
    dialog = page.get_by_role("dialog", name="Cookies on ALLCOT Blog")
    assert dialog.is_visible()
    assert dialog.get_by_role("button", name="Accept all").is_visible()
    assert dialog.get_by_role("button", name="Reject all").is_visible()
    assert dialog.get_by_role("link", name="Cookie settings").is_visible()


def test_withdrawing_clears_analytics_cookies_in_the_browser(
    app: Flask, site: str, visit: t.Callable[..., Visit]
) -> None:
    """P19: opting out forgets analytics, its cookies included."""
    browser = visit()
    page = browser.open("/")
    page.click(ACCEPT)
    page.wait_for_selector(BANNER, state="hidden")
    # What Google Analytics would have set (its requests are aborted here).
    browser.context.add_cookies(
        [{"name": name, "value": "GA1.1.1", "url": site} for name in ("_ga", "_ga_TEST123")]
    )
    page = browser.open("/privacy/cookies")
    page.click("form[data-privacy-consent-form] button[value=reject_all]")
    # The script's own message, which replaces the page's "Your choice is saved. Allowed: ..."
    page.wait_for_function(
        "() => document.querySelector('[data-privacy-consent-status]')"
        ".textContent === 'Your cookie choices are saved.'"
    )
    names = {cookie["name"] for cookie in browser.context.cookies()}
    assert not {"_ga", "_ga_TEST123"} & names
    assert page.evaluate("window['ga-disable-G-TEST123']") is True
    assert page.is_checked("#consent-analytics") is False
    assert [r.source for r in records(app)] == ["banner", "settings"]


def test_global_privacy_control_shows_no_banner_and_loads_no_analytics(
    app: Flask, visit: t.Callable[..., Visit]
) -> None:
    """P19, P24: the browser's GPC signal refuses analytics and marketing."""
    browser = visit(extra_http_headers={"Sec-GPC": "1"})
    page = browser.open("/")
    assert not page.is_visible(BANNER)
    browser.open("/privacy/policy")
    assert browser.analytics_attempts == []
    assert [r.source for r in records(app)] == ["gpc"]


def test_a_gated_module_script_runs_only_after_consent_and_as_a_module(
    visit: t.Callable[..., Visit],
) -> None:
    """P19: a script's own type cannot make it run early; consent.js restores it."""
    page = visit().open("/gated-module")
    assert page.evaluate("typeof window.__moduleRan") == "undefined", "inert before consent"
    page.click(ACCEPT)
    page.wait_for_function("() => window.__moduleRan === 'object'", timeout=5000)
