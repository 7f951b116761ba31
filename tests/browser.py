"""Real-browser testing: Debian's headless Chromium driven by Playwright, and a recorder.

Without ``/usr/bin/chromium`` the browser tests skip, unless ``PRIVACY_REQUIRE_BROWSER=1``
(as in CI), where they fail instead. The fixtures using these live in ``conftest.py``.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANALYTICS_HOSTS = ("googletagmanager.com", "google-analytics.com")


def need_browser() -> None:
    """Skip with a reason when Chromium is missing, or fail when CI requires it."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is not installed"
    if problem is None:
        return
    if os.environ.get("PRIVACY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Browser tests are required (PRIVACY_REQUIRE_BROWSER=1) but {problem}.")
    pytest.skip(f"Browser tests skipped: {problem}.")


class Visit:
    """A fresh browser profile that records every request and lets none leave the machine."""

    def __init__(self, browser: Browser, site: str, **options: t.Any) -> None:
        self.site = site
        self.requests: list[str] = []
        self.context: BrowserContext = browser.new_context(**options)
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()

    def _route(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).netloc == urlsplit(self.site).netloc:
            route.continue_()
        else:
            route.abort()

    @property
    def analytics_attempts(self) -> list[str]:
        return [u for u in self.requests if (urlsplit(u).hostname or "").endswith(ANALYTICS_HOSTS)]

    def open(self, path: str = "/") -> Page:
        # The load event waits for every script in the page, async ones included.
        self.page.goto(self.site + path, wait_until="load")
        return self.page

    def close(self) -> None:
        self.context.close()
