"""Showing visitors' plain text safely: escaped, with its line breaks kept."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_BLANK_LINES = re.compile(r"\n\s*\n")


def paragraphs(text: str | None) -> Markup:
    """Escape ``text`` and keep its paragraphs and line breaks as HTML."""
    if not text:
        return Markup("")
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return Markup("").join(
        Markup("<p>{}</p>").format(
            Markup("<br>\n").join(escape(line) for line in block.split("\n"))
        )
        for block in _BLANK_LINES.split(normalised)
    )
