"""Whether a new comment is published or held, and the signed link to a held comment.

``PRIVACY_COMMENT_MODERATION``: ``none`` publishes every comment, ``first_time`` holds a
comment unless its author (the member, or for visitors the email address) already has
an approved one, and ``all`` holds every comment. Privacy officers, who moderate, are
never held.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from .. import tokens
from ..models import Comment, User
from ..state import current_db

APPROVED, HELD = "approved", "held"


def initial_status(member: User | None, email: str) -> str:
    """``approved`` or ``held`` for a new comment by ``member`` (or a visitor with ``email``)."""
    mode = current_app.config["PRIVACY_COMMENT_MODERATION"]
    if mode == "none" or (member is not None and member.has_role("privacy_officer")):
        return APPROVED
    if mode == "all":
        return HELD
    same_author = (
        Comment.user_id == member.id
        if member is not None
        else sa.and_(
            Comment.user_id.is_(None), sa.func.lower(Comment.author_email) == email.lower()
        )
    )
    approved_before = current_db().session.scalar(
        sa.select(Comment.id).where(same_author, Comment.status == APPROVED).limit(1)
    )
    return APPROVED if approved_before is not None else HELD


def held_link_token(comment: Comment) -> str:
    """A token that shows ``comment`` to whoever holds the link while it awaits moderation."""
    return tokens.make(tokens.HELD_COMMENT, {"cid": comment.id, "target": comment.target})


def held_comment(token: str | None, target: str) -> Comment | None:
    """The held comment on ``target`` that ``token`` opens, or ``None`` (bad, old or other)."""
    if not token:
        return None
    try:
        payload = tokens.read(tokens.HELD_COMMENT, token)
    except tokens.TokenError:
        return None
    if payload.get("target") != target or not isinstance(payload.get("cid"), int):
        return None
    comment = current_db().session.get(Comment, payload["cid"])
    if comment is None or comment.target != target or comment.status != HELD:
        return None
    return comment
