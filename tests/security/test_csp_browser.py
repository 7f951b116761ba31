"""The Content-Security-Policy in Chromium: the extension's pages run the consent script
and the scripts it gates, and nothing else (finding 5 of issue #14)."""

from __future__ import annotations

import typing as t

import pytest

from ..browser import Visit

pytestmark = pytest.mark.browser

ACCEPT = "[data-privacy-consent-banner] button[value=accept_all]"
BANNER = "[data-privacy-consent-banner]"
#: Collects every CSP violation the page reports, from the very start.
VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def config(config: dict[str, t.Any]) -> dict[str, t.Any]:
    return {**config, "PRIVACY_ANALYTICS_ID": "G-TEST123", "SERVER_NAME": None}


@pytest.mark.parametrize("path", ["/account/login", "/privacy/cookies", "/account/register"])
def test_the_consent_script_runs_under_the_policy(visit: t.Callable[..., Visit], path: str) -> None:
    browser = visit()
    browser.context.add_init_script(VIOLATIONS)
    page = browser.open(path)
    assert page.evaluate("typeof window.dataLayer") == "object", "consent.js did not run"
    assert page.evaluate("window.__violations") == []


def test_accepting_brings_the_gated_script_to_life_under_the_policy(
    visit: t.Callable[..., Visit],
) -> None:
    browser = visit()
    browser.context.add_init_script(VIOLATIONS)
    page = browser.open("/account/login")
    page.evaluate("window.__samePage = true")
    with page.expect_request(lambda r: "googletagmanager.com/gtag/js" in r.url):
        page.click(ACCEPT)
    page.wait_for_selector(BANNER, state="hidden")
    assert page.evaluate("window.__samePage") is True
    assert page.evaluate("window.__violations") == []
    # On a later page the gated script is rendered live, with the nonce.
    attempts = len(browser.analytics_attempts)
    browser.open("/account/reset-password")
    assert len(browser.analytics_attempts) > attempts
    assert page.evaluate("window.__violations") == []


def test_an_injected_inline_script_does_not_run(visit: t.Callable[..., Visit]) -> None:
    browser = visit()
    browser.context.add_init_script(VIOLATIONS)
    page = browser.open("/account/login")
    page.evaluate(
        """() => { const s = document.createElement("div");
        s.innerHTML = '<img src="x" onerror="window.__ran = 1">';
        document.body.appendChild(s); }"""
    )
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__ran") is None
