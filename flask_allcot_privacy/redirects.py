"""Same-host redirects only: the ``next`` parameter and similar targets.

Refuses everything a browser could read as another host, including the tricks
behind CVE-2021-32618 and CVE-2023-49438: ``//evil``, ``\\\\evil``, ``/\\evil``,
``\\/evil``, percent-encoded backslashes and slashes, schemes, and control characters.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def safe_target(target: str | None) -> str | None:
    """``target`` if it is a path on this site, otherwise ``None``."""
    if not target or len(target) > 2048:
        return None
    decoded = target
    for _ in range(3):  # decode double (and triple) encoding before judging
        decoded = unquote(decoded)
    if any(ord(c) < 0x21 or c == "\x7f" for c in decoded) or "\\" in decoded:
        return None
    if not decoded.startswith("/") or decoded.startswith("//"):
        return None
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc:
        return None
    return target
