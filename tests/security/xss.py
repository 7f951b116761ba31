"""An XSS corpus, and a parser-based check that none of it became markup.

Every payload carries the marker ``xss``: if one broke out of its context it would
create an element, an attribute or a URL holding that marker, which :func:`breakouts`
finds in the parsed page. Escaped, a payload is only text and finds nothing.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from markupsafe import escape

PAYLOADS = [
    "<script>xss()</script>",
    "<SCRIPT SRC=//x.test/xss.js></SCRIPT>",
    "<img src=x onerror=xss()>",
    "<img src=x onerror='xss()'>",
    '<img src="x" onerror="xss()">',
    "<svg onload=xss()>",
    "<svg/onload=xss()>",
    "<body onload=xss()>",
    "<iframe src=javascript:xss()>",
    "<iframe srcdoc='<script>xss()</script>'>",
    "<a href=javascript:xss()>x</a>",
    "<a href='jav&#x09;ascript:xss()'>x</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=xss()>",
    "<details open ontoggle=xss()>",
    "<video><source onerror=xss()>",
    "<audio src=x onerror=xss()>",
    "<input autofocus onfocus=xss()>",
    "<select autofocus onfocus=xss()>",
    "<textarea autofocus onfocus=xss()>",
    "<marquee onstart=xss()>",
    "<object data=javascript:xss()>",
    "<embed src=javascript:xss()>",
    "<form action=javascript:xss()><button>x</button></form>",
    "<button formaction=javascript:xss()>x</button>",
    "<meta http-equiv=refresh content='0;url=javascript:xss()'>",
    "<link rel=stylesheet href=//x.test/xss.css>",
    "<base href=//x.test/xss/>",
    "<style>@import '//x.test/xss.css';</style>",
    "<div style=background:url(javascript:xss())>",
    "<xss-element>",
    '"><img src=x onerror=xss()>',
    "'><img src=x onerror=xss()>",
    '" onmouseover="xss()',
    "' onmouseover='xss()",
    '" autofocus onfocus="xss()" x="',
    "</textarea><img src=x onerror=xss()>",
    "</title><img src=x onerror=xss()>",
    "</script><img src=x onerror=xss()>",
    "</style><img src=x onerror=xss()>",
    "<!--<img src=x onerror=xss()>-->",
    "]]><img src=x onerror=xss()>",
    "{{ 7*7 }}<img src=x onerror=xss()>",
    "{% raw %}<img src=x onerror=xss()>",
    "${xss}<img src=x onerror=xss()>",
    "&lt;img src=x onerror=xss()&gt;",
    "&#60;img src=x onerror=xss()&#62;",
    "%3Cimg%20src%3Dx%20onerror%3Dxss()%3E",
    "<img src=x onerror=xss() <!--",
    "<scr<script>ipt>xss()</scr</script>ipt>",
    "<IMG SRC=x OnErRoR=xss()>",
    "<img\nsrc=x\nonerror=xss()>",
    "<img/src=x/onerror=xss()>",
    "javascript:xss()",
    "data:text/html,<script>xss()</script>",
    "[x](javascript:xss())",
    '<https://x.test/"onmouseover="xss()>',
    'https://x.test/"><img src=x onerror=xss()>',
]
#: For fields that must hold an address: the characters email-validator lets through.
EMAIL_PAYLOADS = [
    "x'onfocus=xss'@example.test",
    "x'><xss-element@example.test",
    "x{xss}'\"@example.test",
]
#: For fields that must hold a web address.
URL_PAYLOADS = [
    "https://x.test/'onmouseover='xss()",
    'https://x.test/"onmouseover="xss()',
    "https://x.test/?q=<img src=x onerror=xss()>",
    "javascript:xss()",
]

_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "content", "poster"}
_MARKER = re.compile("xss", re.IGNORECASE)


def _plainly_escaped(html: str) -> bool:
    """True when every marker in ``html`` sits in a payload escaped whole: nothing to parse.

    A shortcut only: any other appearance of the marker (a payload cut, transformed,
    or raw) leads to the full parse below.
    """
    for payload in (*PAYLOADS, *EMAIL_PAYLOADS, *URL_PAYLOADS):
        html = html.replace(str(escape(payload)), "")
    return _MARKER.search(html) is None


def breakouts(html: str) -> list[str]:
    """Elements, attributes and URLs in ``html`` that a payload created."""
    if _plainly_escaped(html):
        return []
    found = []
    for element in BeautifulSoup(html, "html.parser").find_all(True):
        assert isinstance(element, Tag)
        if _MARKER.search(element.name):
            found.append(f"<{element.name}>")
        if (
            element.name in ("script", "style")
            and _MARKER.search(element.get_text())
            and element.get("type") not in ("application/json", "text/plain")
        ):
            found.append(f"<{element.name}>{element.get_text()[:60]}")
        for name, value in element.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if _MARKER.search(name):
                found.append(f"<{element.name} {name}>")
            elif name.startswith("on") and _MARKER.search(text):
                found.append(f"<{element.name} {name}={text[:60]}>")
            elif name in _URL_ATTRIBUTES and _MARKER.search(text):
                stripped = re.sub(r"[\s\x00-\x1f]", "", text).lower()
                if stripped.startswith(("javascript:", "data:", "//")):
                    found.append(f"<{element.name} {name}={text[:60]}>")
    return found
