"""Held comments: privacy officers approve or delete them, and every look and act is audited.

The queue shows what a moderator needs to judge a comment: where it was posted, the
author's name, email address and website, the time and the text. Not the IP address
or user agent: employees see a person's name and email and no more (P10, P33).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import audit, screen_options
from ..accounts.forms import ConfirmForm
from ..errors import form_expired
from ..models import Comment
from ..state import current_db
from . import bp
from .guard import require_role
from .pagination import page_number, paginate


@bp.route("/comments", methods=["GET", "POST"])
@require_role("privacy_officer")
def moderation() -> t.Any:
    """The held comments, oldest first. POST only saves the screen options and comes back."""
    options = screen_options.ScreenOptionsForm()
    if options.validate_on_submit():
        return screen_options.saved(options)
    query = (
        sa.select(Comment)
        .where(Comment.status == "held")
        .options(selectinload(Comment.user))
        .order_by(Comment.created_at, Comment.id)
    )
    held = paginate(query, page_number(), screen_options.per_page())
    audit.record(
        "comments.moderation_view",
        detail=f"page={held.page} ids=" + ",".join(str(row.Comment.id) for row in held.items),
    )
    current_db().session.commit()
    body = render_template("privacy/staff/moderation.html", held=held, options=options)
    return body, 400 if request.method == "POST" else 200


def _decide(comment_id: int, action: str) -> t.Any:
    """Approve or delete one held comment (POST with a CSRF token), then back to the queue."""
    if not ConfirmForm().validate_on_submit():
        raise form_expired()
    db = current_db()
    comment = db.session.get(Comment, comment_id)
    if comment is None or not comment.is_held:
        flash(_("That comment was already handled by someone else."), "error")
        return redirect(url_for(".moderation"))
    audit.record(
        f"comment.{action}",
        subject_id=comment.user_id,
        detail=f"comment={comment.id} target={comment.target}",
    )
    if action == "approve":
        comment.status = "approved"
        flash(_("The comment is approved and published."), "success")
    else:
        db.session.delete(comment)
        flash(_("The comment is deleted."), "success")
    db.session.commit()
    return redirect(url_for(".moderation"))


# The bound keeps ids a 64-bit column cannot hold out of the query: 404, not an error.
@bp.route("/comments/<int(max=9223372036854775807):comment_id>/approve", methods=["POST"])
@require_role("privacy_officer")
def moderation_approve(comment_id: int) -> t.Any:
    return _decide(comment_id, "approve")


@bp.route("/comments/<int(max=9223372036854775807):comment_id>/delete", methods=["POST"])
@require_role("privacy_officer")
def moderation_delete(comment_id: int) -> t.Any:
    return _decide(comment_id, "delete")
