"""Finding a person's correspondence, for copies on request (P18) and erasure."""

from __future__ import annotations

import sqlalchemy as sa

from ..models import ContactMessage
from ..state import current_db


def correspondence_for(email: str, user_id: int | None = None) -> list[ContactMessage]:
    """Every message sent from ``email`` (any case) or by member ``user_id``, oldest first."""
    who = sa.func.lower(ContactMessage.email) == email.strip().lower()
    if user_id is not None:
        who = sa.or_(who, ContactMessage.user_id == user_id)
    query = (
        sa.select(ContactMessage).where(who).order_by(ContactMessage.created_at, ContactMessage.id)
    )
    return list(current_db().session.scalars(query))
