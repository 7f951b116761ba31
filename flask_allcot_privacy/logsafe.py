"""What may reach a log line: visitor text encoded, tokens and full IP addresses never.

:func:`visitor_text` escapes what a visitor typed or put in a URL (line breaks, control
and Unicode separator characters) so one request cannot forge a second log line.
:class:`RedactingFilter`, installed on the app's logger and on Werkzeug's request log,
replaces the token of an emailed link in a logged path (``/account/set-password/<token>``)
with ``[token]`` and shortens IP addresses to their network (``203.0.113.0/24``).
"""

from __future__ import annotations

import ipaddress
import logging
import re

from flask import Flask

#: Long URL-safe runs as itsdangerous makes them (payload.timestamp.signature).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])")


def visitor_text(value: object, limit: int = 200) -> str:
    """``value`` as one printable line: non-printable characters escaped, at most ``limit``."""
    text = str(value)[:limit]
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def network_of(address: str) -> str:
    """An IPv4 address's /24 or an IPv6 address's /48, as a log may hold it."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.is_loopback or parsed.is_unspecified:
        # This machine's own addresses are no visitor's: the server's "Running on
        # http://127.0.0.1:5000" line must stay usable.
        return address
    bits = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network((parsed, bits), strict=False))


def redact(text: str) -> str:
    """``text`` with tokens replaced and IP addresses cut to their network."""
    text = _TOKEN.sub("[token]", text)
    text = _IPV4.sub(lambda m: network_of(m.group(0)), text)
    return _IPV6.sub(lambda m: network_of(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """Rewrite each record's message with :func:`redact` (arguments merged in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _install(logger: logging.Logger) -> None:
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


def init_app(app: Flask) -> None:
    """Redact the app's log and Werkzeug's request log (the development server's)."""
    _install(app.logger)
    _install(logging.getLogger("werkzeug"))
