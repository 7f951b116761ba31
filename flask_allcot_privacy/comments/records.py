"""Finding a person's comments, for data exports (P28) and erasure (P30)."""

from __future__ import annotations

import sqlalchemy as sa

from ..models import Comment
from ..state import current_db


def comments_by(email: str, user_id: int | None = None) -> list[Comment]:
    """Every comment written from ``email`` (any case) or by member ``user_id``, oldest first."""
    who = sa.func.lower(Comment.author_email) == email.strip().lower()
    if user_id is not None:
        who = sa.or_(who, Comment.user_id == user_id)
    query = sa.select(Comment).where(who).order_by(Comment.created_at, Comment.id)
    return list(current_db().session.scalars(query))
