"""Open and click tracking of marketing email (P23): off unless the site and the subscriber say so.

Tracking is used only when ``PRIVACY_MAIL_TRACKING`` is on *and* the subscriber agreed
(``Subscription.tracking_consent``). Then the marketing layouts rewrite each http(s)
link of the email into a signed ``/privacy/m/click/<token>`` link, and the HTML part
gets a one-pixel image from ``/privacy/m/open/<token>``. The target URL is inside the
signed token, so the click route redirects only to links that were in an email the
site sent: it cannot be used as an open redirect. The unsubscribe link is never
rewritten. An open or click is recorded (without IP address or browser) only while
the subscriber's consent still holds.
"""

from __future__ import annotations

import html
import re
import typing as t
from urllib.parse import urlsplit

from flask import current_app, url_for
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from .. import tokens

_HREF = re.compile(r'(\bhref\s*=\s*)"([^"]*)"', re.IGNORECASE)
_TEXT_URL = re.compile(r"https?://[^\s<>\"]+")


def is_web_url(url: str) -> bool:
    """An absolute http or https URL with a host: the only targets a click link may have."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def context_for(
    subscription_id: int, campaign_id: int, external: dict[str, t.Any]
) -> dict[str, t.Any] | None:
    """What the layouts need to track one message, or None when it must not be tracked."""
    return {
        "sid": subscription_id,
        "cid": campaign_id,
        "url_options": external,
        "pixel": url_for(
            "privacy_marketing.mail_open",
            token=tokens.make(tokens.MAIL_OPEN, {"sid": subscription_id, "cid": campaign_id}),
            **external,
        ),
    }


def click_url(tracking: dict[str, t.Any], target: str) -> str:
    token = tokens.make(
        tokens.MAIL_CLICK, {"sid": tracking["sid"], "cid": tracking["cid"], "url": target}
    )
    return url_for("privacy_marketing.mail_click", token=token, **tracking["url_options"])


def _keeps(target: str, context: Context) -> bool:
    return not is_web_url(target) or target == context.get("unsubscribe_url")


@pass_context
def track_html_links(context: Context, value: str) -> Markup:
    """Filter: each http(s) ``href`` becomes a signed click link when the message is tracked."""
    rendered = escape(value)  # the block's autoescaped output; plain text is escaped
    tracking = context.get("privacy_tracking")
    if not tracking:
        return rendered

    def rewrite(match: re.Match[str]) -> str:
        target = html.unescape(match.group(2))
        if _keeps(target, context):
            return match.group(0)
        return f'{match.group(1)}"{escape(click_url(tracking, target))}"'

    # Safe: the input was escaped markup and each new attribute value is escaped.
    return Markup(_HREF.sub(rewrite, str(rendered)))  # noqa: S704


@pass_context
def track_text_links(context: Context, value: str) -> str:
    """Filter: the same for the links in the text part."""
    tracking = context.get("privacy_tracking")
    if not tracking:
        return value

    def rewrite(match: re.Match[str]) -> str:
        target = match.group(0)
        return target if _keeps(target, context) else click_url(tracking, target)

    return _TEXT_URL.sub(rewrite, str(value))


def enabled() -> bool:
    return bool(current_app.config["PRIVACY_MAIL_TRACKING"])


#: A transparent 1x1 GIF.
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
