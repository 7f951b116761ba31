"""A visitor asks for their data in Chromium, from the site's footer to the ZIP (P28)."""

from __future__ import annotations

import typing as t
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from .browser import Visit
from .helpers import SMTPSink, links_in

pytestmark = pytest.mark.browser


@pytest.fixture
def config(config: dict[str, t.Any]) -> dict[str, t.Any]:
    return {**config, "SERVER_NAME": None, "PRIVACY_REQUEST_AUTO_EXPORT": True}


def test_visitor_asks_confirms_and_downloads_in_chromium(
    app: Flask, visit: t.Callable[..., Visit], smtp: SMTPSink, tmp_path: Path
) -> None:
    browser = visit()
    page = browser.open("/")
    page.click("[data-privacy-consent-banner] button[value=reject_all]")
    page.click("footer a[href='/privacy/request']")
    page.wait_for_url("**/privacy/request")
    page.fill("input[name=email]", "bob@example.test")
    page.check("input[name=request_type][value=export]")
    page.click("main button[type=submit]")
    page.wait_for_url("**/privacy/request/sent")

    [link] = [u for u in links_in(smtp.wait_for("bob@example.test")) if "/confirm/" in u]
    page.goto(link)
    assert page.locator("main h1").inner_text() == "Confirm your privacy request"
    page.click("main button[type=submit]")
    page.wait_for_url("**/privacy/request/confirmed/**")
    assert page.locator(".privacy-request-deadline time").get_attribute("datetime")

    def ready() -> bool:
        return any(m["Subject"] == "Your data is ready to download" for m in smtp.messages)

    with smtp._collector.arrived:
        smtp._collector.arrived.wait_for(ready, 10)
    message = [m for m in smtp.messages if m["Subject"] == "Your data is ready to download"][-1]
    [download_link] = [u for u in links_in(message) if "/privacy/export/" in u]
    with page.expect_download() as info:
        page.evaluate("url => { location.href = url }", download_link)
    saved = tmp_path / "export.zip"
    info.value.save_as(saved)
    assert {"index.html", "export.json"} <= set(zipfile.ZipFile(saved).namelist())
