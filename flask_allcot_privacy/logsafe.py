"""What may reach a log line: visitor text encoded, tokens and full IP addresses never.

:func:`visitor_text` escapes what a visitor typed or put in a URL (line breaks, control
and Unicode separator characters) so one request cannot forge a second log line.
:class:`RedactingFilter`, installed on the app's logger and on Werkzeug's request log,
replaces the token of an emailed link in a logged path (``/account/set-password/<token>``)
with ``[token]``, a password hash with ``[password hash]``, and shortens IP addresses to
their network (``203.0.113.0/24``), in the message and in a logged exception's traceback
(an SQL error quotes its parameters). The extension's own modules log through
:func:`logger`, which installs it: a filter on the app's logger does not see its children.
"""

from __future__ import annotations

import ipaddress
import logging
import re

from flask import Flask

#: Long URL-safe runs as itsdangerous makes them (payload.timestamp.signature).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")
#: Not followed by ``/``: an address already cut to its network is left alone.
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d./])")
#: A PHC-format argon2 hash, parameters, salt and digest: ``$argon2id$v=19$m=..,t=..,p=..$..$..``.
_PASSWORD_HASH = re.compile(
    r"\$argon2(?:id|i|d)\$(?:v=\d+\$)?[a-z]=\d+(?:,[a-z]=\d+)*\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+"
)
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:/])")


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
    text = _PASSWORD_HASH.sub("[password hash]", text)
    text = _IPV4.sub(lambda m: network_of(m.group(0)), text)
    return _IPV6.sub(lambda m: network_of(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """Rewrite each record's message and traceback with :func:`redact`.

    The arguments are merged into the message first. A traceback that holds something
    to redact is kept redacted as ``exc_text`` (which :class:`logging.Formatter` prints
    instead of formatting the exception) and the exception itself is dropped from the
    record, so that no handler formats it again with the secrets in. A traceback with
    nothing to redact is left to the handler's own formatter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info or record.exc_text:
            text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)  # type: ignore[arg-type]
            redacted = redact(text)
            if redacted != text:
                record.exc_text, record.exc_info = redacted, None
        return True


_TRACEBACKS = logging.Formatter()


def logger(name: str) -> logging.Logger:
    """The logger ``name`` (a module's ``__name__``), with the redacting filter on it."""
    found = logging.getLogger(name)
    _install(found)
    return found


def _install(logger: logging.Logger) -> None:
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


def init_app(app: Flask) -> None:
    """Redact the app's log and Werkzeug's request log (the development server's)."""
    _install(app.logger)
    _install(logging.getLogger("werkzeug"))
