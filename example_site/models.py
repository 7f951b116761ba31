"""The blog's own model, on the same ``db`` as the extension's tables."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import User, UTCDateTime

from . import db


class Post(db.Model):
    """A blog post; its author is a member of the privacy extension's user table."""

    __tablename__ = "blog_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(400), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int | None] = mapped_column(
        # Referencing the column itself works whatever the import order.
        sa.ForeignKey(User.id, ondelete="SET NULL")
    )
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship(User)

    @property
    def comment_target(self) -> str:
        """The key this post's comments are filed under."""
        return f"post:{self.id}"
