"""A target's comment thread: the list visitors see and the form, for any host page.

Hosts call the Jinja global ``privacy_comments(target)`` where the comments
belong; it renders ``privacy/comments/thread.html``. The form posts to
``/comments/<target>`` and carries the page's own path back in ``next``.
"""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from flask import Response, after_this_request, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from ..headers import keep_private
from ..models import Comment
from ..state import current_db
from . import author_cookies, moderation_rules
from .forms import MemberCommentForm, VisitorCommentForm
from .targets import has_resolver, is_target

#: The query parameter of the signed link that shows a held comment to its author.
HELD_PARAM = "privacy_comment"
#: The query parameter choosing a page of a long thread.
PAGE_PARAM = "comments_page"


@dataclass(frozen=True)
class CommentPage:
    """One page of a thread: which page, how many pages, how many published comments."""

    page: int
    pages: int
    total: int

    def url(self, page: int) -> str:
        """This page's address showing thread page ``page``, at the comments."""
        args = [
            (k, v) for k, v in request.args.items(multi=True) if k not in (PAGE_PARAM, HELD_PARAM)
        ]
        args.append((PAGE_PARAM, str(page)))
        return f"{request.script_root}{request.path}?{urlencode(args)}#comments"


def approved_comments(target: str, page: int | None = None) -> tuple[list[Comment], CommentPage]:
    """One page of the published comments on ``target``, oldest first, members loaded.

    Pages hold ``PRIVACY_COMMENTS_PER_PAGE`` comments; without ``page`` the newest page
    is shown, where a new comment appears.
    """
    session = current_db().session
    where = (Comment.target == target, Comment.status == moderation_rules.APPROVED)
    total = int(session.scalar(sa.select(sa.func.count(Comment.id)).where(*where)) or 0)
    per_page = current_app.config["PRIVACY_COMMENTS_PER_PAGE"]
    pages = max(1, math.ceil(total / per_page))
    chosen = pages if page is None else min(max(page, 1), pages)
    query = (
        sa.select(Comment)
        .where(*where)
        .options(selectinload(Comment.user))
        .order_by(Comment.created_at, Comment.id)
        .limit(per_page)
        .offset((chosen - 1) * per_page)
    )
    return list(session.scalars(query)), CommentPage(page=chosen, pages=pages, total=total)


def requested_page() -> int | None:
    """The thread page asked for in the address, or None for the newest."""
    return request.args.get(PAGE_PARAM, type=int)


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
    comments, pager = approved_comments(target, requested_page())
    held = moderation_rules.held_comment(request.args.get(HELD_PARAM), target)
    if held is not None:
        comments = sorted([*comments, held], key=lambda c: (c.created_at, c.id))
    # A member sees their own name and email in the form; a visitor their remembered details.
    if (
        held is not None
        or current_user.is_authenticated
        or any(author_cookies.remembered().values())
    ):
        after_this_request(_keep_private)
    return {
        "target": target,
        "comments": comments,
        "held": held,
        "form": form,
        "pager": pager,
    }


def _keep_private(response: Response) -> Response:
    """A page showing a held comment or a visitor's own details is for that visitor only."""
    keep_private(response)
    if request.args.get(HELD_PARAM):
        # The held-comment token is in this page's address: no Referer may carry it.
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def this_page() -> str:
    """The current page's path and query, without a held-comment token."""
    # Without the page number either: a new comment appears on the newest page.
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in (HELD_PARAM, PAGE_PARAM)]
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
    # An autoescaped template's output.
    html = render_template("privacy/comments/thread.html", **context(target, form))
    return Markup(html)  # noqa: S704  # nosec B704
