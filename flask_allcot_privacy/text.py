"""Showing visitors' plain text safely: escaped, with its line breaks kept."""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

_BLANK_LINES = re.compile(r"\n\s*\n")


def paragraphs(text: str | None, line: Callable[[str], Markup] = escape) -> Markup:
    """``text`` as HTML paragraphs (split at blank lines) with its line breaks kept.

    :param line: renders one line of visitor text as safe HTML; it must escape what it
        does not mark up itself. The default only escapes.
    """
    if not text:
        return Markup("")
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(line(part) for part in block.split("\n")))
        for block in _BLANK_LINES.split(normalised)
    )
