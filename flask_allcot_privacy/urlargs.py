"""Query arguments carried over into a link to the same page (pagers, screen options).

``url_for`` takes its own keyword arguments (``endpoint``, ``_method``, ``_scheme``,
``_external``, ``_anchor``); a visitor's ``?endpoint=x`` passed on as ``**request.args``
would clash with them and raise. Those names are dropped: no page of the extension
reads a query argument starting with ``_`` or named ``endpoint``.
"""

from __future__ import annotations

import typing as t

from flask import request


def is_reserved(name: str) -> bool:
    """True for names ``url_for`` keeps for itself."""
    return name.startswith("_") or name == "endpoint"


def same_page_args(*, drop: t.Iterable[str] = (), **changes: t.Any) -> dict[str, t.Any]:
    """The current route's values and query arguments, without reserved names, with ``changes``."""
    dropped = set(drop)
    values: dict[str, t.Any] = {
        key: value
        for key, value in request.args.items()
        if not is_reserved(key) and key not in dropped
    }
    values.update(request.view_args or {})
    values.update(changes)
    return values
