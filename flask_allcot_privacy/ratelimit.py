"""Rate limits on the forms that can be abused (login, email-sending forms, comments).

Counting uses ``limits``, the engine Flask-Limiter is built on, with a moving
window per app, keyed by purpose and by whatever the limit is per: an IP
address or an account. The extension deliberately registers no Flask-Limiter
middleware of its own, which would check every request again and re-apply a
host's ``RATELIMIT_*`` defaults; a host's own Flask-Limiter keeps working as it
is. ``PRIVACY_RATELIMIT_STORAGE_URI`` takes Flask-Limiter's storage URIs; the
default, memory, is per process, so sites running several workers use Redis.
"""

from __future__ import annotations

import ipaddress
import math
import time
import typing as t

from flask import Flask, current_app, request
from limits import parse_many
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from .state import state_for


class RateLimited(TooManyRequests):
    """Too many attempts; ``wait_seconds`` is the number of seconds to wait."""

    def __init__(self, wait_seconds: int) -> None:
        super().__init__()
        self.wait_seconds = wait_seconds


def client_key() -> str:
    """Who is asking, for per-IP limits: the IPv4 address, or the IPv6 /64 network.

    One IPv6 client usually holds a whole /64, so counting single addresses would let
    it step through 2**64 of them and never reach a limit.
    """
    raw = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def hit_per_ip(scope: str, limit_setting: str) -> None:
    """Count one attempt at ``scope`` by this client (see :func:`client_key`)."""
    hit(scope, limit_setting, client_key())


def hit(scope: str, limit_setting: str, key: str) -> None:
    """Count one attempt at ``scope`` for ``key``; raise :class:`RateLimited` past the limit."""
    if not current_app.config["PRIVACY_RATELIMIT_ENABLED"]:
        return
    strategy = state_for(current_app).limiter
    for item in parse_many(current_app.config[limit_setting]):
        if not strategy.hit(item, "allcot-privacy", scope, key):
            stats = strategy.get_window_stats(item, "allcot-privacy", scope, key)
            wait = float(stats.reset_time) - time.time()
            raise RateLimited(wait_seconds=max(1, math.ceil(wait)))


def _too_many(error: RateLimited) -> t.Any:
    from flask_babel import gettext as _

    from .errors import error_response

    minutes = max(1, math.ceil(error.wait_seconds / 60))
    message = _(
        "For your security we paused this form. Please try again in %(minutes)s minute(s).",
        minutes=minutes,
    )
    return error_response(429, message, headers=[("Retry-After", str(error.wait_seconds))])


# --- Delivery and scale: where the counters live ------------------------------------


def make_limiter(app: Flask) -> MovingWindowRateLimiter:
    """The counter on ``PRIVACY_RATELIMIT_STORAGE_URI``, with advice when it cannot start.

    Memory storage counts per process: behind several workers each has its own
    allowance, so a site that is neither in debug nor testing is warned in the log.
    """
    uri = app.config["PRIVACY_RATELIMIT_STORAGE_URI"]
    try:
        storage = storage_from_string(uri)
    except LimitsConfigurationError as error:
        # The URI itself is not repeated: it may hold a password.
        hint = ""
        if uri.startswith("redis"):
            hint = " Install the client: pip install 'flask-allcot-privacy[redis]'."
        raise LimitsConfigurationError(
            f"PRIVACY_RATELIMIT_STORAGE_URI cannot be used: {error}.{hint}"
        ) from error
    if (
        app.config["PRIVACY_RATELIMIT_ENABLED"]
        and isinstance(storage, MemoryStorage)
        and not (app.debug or app.testing)
    ):
        app.logger.warning(
            "flask-allcot-privacy: rate limits are kept in memory, so each worker process "
            "counts on its own and N workers allow N times each limit. To share them, "
            "pip install 'flask-allcot-privacy[redis]' and set "
            "PRIVACY_RATELIMIT_STORAGE_URI = 'redis://HOST:6379/0'."
        )
    return MovingWindowRateLimiter(storage)


def init_app(app: Flask) -> None:
    """Answer :class:`RateLimited` with a clear 429 page and a Retry-After header."""
    app.register_error_handler(RateLimited, _too_many)


__all__ = ["RateLimited", "hit", "init_app", "make_limiter"]
