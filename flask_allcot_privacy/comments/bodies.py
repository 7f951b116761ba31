"""A comment's body as HTML: escaped, line breaks kept, web links made clickable.

The paragraphs come from :func:`..text.paragraphs`, each line linkified:
linkify-it-py finds the links (nh3 sanitises but does not linkify); every piece
of visitor text is escaped by MarkupSafe, and the result goes through nh3 with
an allow-list of three tags, so nothing a visitor types can become markup.
"""

from __future__ import annotations

import nh3
from linkify_it import LinkifyIt
from markupsafe import Markup, escape

from ..text import paragraphs

#: The ``rel`` of every link in a comment: unendorsed, user-generated, no opener access.
LINK_REL = "nofollow ugc noopener"
_SCHEMES = {"http", "https"}


def _linkify(line: str) -> Markup:
    # A new matcher per call: LinkifyIt keeps match state on the instance (not thread-safe),
    # and building one costs a fraction of a millisecond.
    matcher = LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
    pieces: list[Markup] = []
    position = 0
    for found in matcher.match(line) or []:
        if found.schema.rstrip(":").lower() not in _SCHEMES:
            continue
        pieces.append(escape(line[position : found.index]))
        pieces.append(Markup('<a href="{}">{}</a>').format(found.url, found.text))
        position = found.last_index
    pieces.append(escape(line[position:]))
    return Markup("").join(pieces)


def render_body(text: str | None) -> Markup:
    """``text`` as safe HTML paragraphs with its links clickable and marked ``nofollow ugc``."""
    html = paragraphs(text, line=_linkify)
    # nh3 has just removed every tag and attribute not allowed.
    return Markup(  # noqa: S704  # nosec B704
        nh3.clean(
            html,
            tags={"p", "br", "a"},
            attributes={"a": {"href"}},
            url_schemes=_SCHEMES,
            link_rel=LINK_REL,
            strip_comments=True,
        )
    )
