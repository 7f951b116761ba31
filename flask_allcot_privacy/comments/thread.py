"""A target's comment thread: the list visitors see and the form, for any host page.

Hosts call the Jinja global ``privacy_comments(target)`` where the comments
belong; it renders ``privacy/comments/thread.html``. The form posts to
``/comments/<target>`` and carries the page's own path back in ``next``.
"""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from flask import Response, after_this_request, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from ..models import Comment
from ..state import current_db
from . import author_cookies, moderation_rules
from .forms import MemberCommentForm, VisitorCommentForm
from .targets import has_resolver, is_target

#: The query parameter of the signed link that shows a held comment to its author.
HELD_PARAM = "privacy_comment"


def approved_comments(target: str) -> list[Comment]:
    """The published comments on ``target``, oldest first, with their members loaded."""
    query = (
        sa.select(Comment)
        .where(Comment.target == target, Comment.status == moderation_rules.APPROVED)
        .options(selectinload(Comment.user))
        .order_by(Comment.created_at, Comment.id)
    )
    return list(current_db().session.scalars(query))


def blank_form(back: str) -> MemberCommentForm:
    """An empty form for the current visitor, prefilled from the author cookies if any."""
    if current_user.is_authenticated:
        return MemberCommentForm(formdata=None, next=back)
    return VisitorCommentForm(formdata=None, next=back, **author_cookies.remembered())


def bound_form() -> MemberCommentForm:
    """The submitted form for the current visitor (members write only the body)."""
    return MemberCommentForm() if current_user.is_authenticated else VisitorCommentForm()


def context(target: str, form: MemberCommentForm) -> dict[str, t.Any]:
    """What ``thread.html`` needs; a held comment is added only for its signed link."""
    comments = approved_comments(target)
    held = moderation_rules.held_comment(request.args.get(HELD_PARAM), target)
    if held is not None:
        comments = sorted([*comments, held], key=lambda c: (c.created_at, c.id))
    if held is not None or (
        not current_user.is_authenticated and any(author_cookies.remembered().values())
    ):
        after_this_request(_keep_private)
    return {"target": target, "comments": comments, "held": held, "form": form}


def _keep_private(response: Response) -> Response:
    """A page showing a held comment or a visitor's own details is for that visitor only."""
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.add("Cookie")
    # The held-comment token is in this page's address: links on it must not leak it.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def this_page() -> str:
    """The current page's path and query, without a held-comment token."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != HELD_PARAM]
    query = f"?{urlencode(args)}" if args else ""
    return f"{request.script_root}{request.path}{query}"


def with_held_link(url: str, token: str | None, comment_id: int) -> str:
    """``url`` pointing at the comment, carrying the held-comment token when there is one."""
    parts = urlsplit(url)
    args = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != HELD_PARAM]
    if token:
        args.append((HELD_PARAM, token))
    return urlunsplit(parts._replace(query=urlencode(args), fragment=f"comment-{comment_id}"))


def privacy_comments(target: str) -> Markup:
    """Render the comments on ``target`` and the form to add one (the hosts' Jinja call)."""
    if not is_target(target):
        raise ValueError(
            f"Comment target {target!r} is not valid: use up to 100 letters, digits and "
            "':._-', starting with a letter or digit, such as 'post:12'."
        )
    if not has_resolver():
        raise RuntimeError(
            "Comments need to know which targets exist: register a resolver with "
            "@privacy.comment_target (see the comments documentation)."
        )
    form = blank_form(this_page())
    return Markup(render_template("privacy/comments/thread.html", **context(target, form)))  # noqa: S704
