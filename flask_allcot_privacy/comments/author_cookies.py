"""The comment-author cookies: set only when a visitor ticks "remember", deleted otherwise."""

from __future__ import annotations

from flask import Response, request

from .. import cookies

#: Form field -> cookie registry key (the cookies are declared in cookies.py, category
#: preferences, lifetime PRIVACY_COMMENT_AUTHOR_LIFETIME).
FIELDS = {
    "author_name": "comment_author",
    "author_email": "comment_author_email",
    "author_url": "comment_author_url",
}


def remembered() -> dict[str, str]:
    """The details this browser asked us to remember, to prefill the form."""
    found: dict[str, str] = {}
    for field, key in FIELDS.items():
        value = request.cookies.get(cookies.spec(key).cookie_name())
        if value:
            found[field] = value
    return found


def remember(response: Response, details: dict[str, str]) -> None:
    """Keep the visitor's name, email and website in their browser for the next comment."""
    for field, key in FIELDS.items():
        cookies.set_cookie(response, key, details.get(field) or "")


def forget(response: Response) -> None:
    """Delete any comment-author cookies this browser sent."""
    for key in FIELDS.values():
        if cookies.spec(key).cookie_name() in request.cookies:
            cookies.delete_cookie(response, key)
