"""Which comment targets exist: the host says so with ``@privacy.comment_target``.

.. code-block:: python

    @privacy.comment_target
    def find_target(key: str) -> CommentTarget | None:
        kind, _, number = key.partition(":")
        post = db.session.get(Post, int(number)) if kind == "post" and number.isdigit() else None
        return CommentTarget(post.title, url_for("blog.post", slug=post.slug)) if post else None

A comment posted to a target the resolver does not know is answered with a 404 and
nothing is stored, so visitors cannot file personal data under pages that do not exist.
Without a resolver no target exists: register one to use comments.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from flask import current_app

from ..state import state_for

__all__ = ["CommentTarget", "Resolver", "is_target", "resolve"]

#: A target key such as ``post:12``: letters, digits and ``:._-``, up to 100 characters.
TARGET_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,99}")


@dataclass(frozen=True)
class CommentTarget:
    """A page that takes comments: its title, and the address the comments belong on."""

    title: str
    url: str


#: The host's callback: the target for a key, or ``None`` when there is no such page.
Resolver = t.Callable[[str], "CommentTarget | None"]


def is_target(target: str) -> bool:
    """True when ``target`` has the shape of a target key (whether or not it exists)."""
    return TARGET_PATTERN.fullmatch(target) is not None


def has_resolver() -> bool:
    return state_for(current_app).privacy.comment_target_resolver is not None


def resolve(target: str) -> CommentTarget | None:
    """The page behind ``target``, as the host's resolver says; ``None`` if none."""
    resolver = state_for(current_app).privacy.comment_target_resolver
    if resolver is None or not is_target(target):
        return None
    found = resolver(target)
    if found is not None and not isinstance(found, CommentTarget):
        raise TypeError(
            f"The comment target resolver returned {found!r} for {target!r}; "
            "return a CommentTarget(title, url) or None."
        )
    return found
