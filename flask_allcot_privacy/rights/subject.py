"""Who a privacy request is about: an email address, and the member with it if any."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..models import User
from ..state import current_db


def normalise_email(email: str) -> str:
    """The form addresses are compared in: trimmed and lower-cased, like ``User.email_key``."""
    return email.strip().lower()


@dataclass(frozen=True)
class Subject:
    """The person a request is about; exporters and erasers receive one.

    ``email`` is normalised (see :func:`normalise_email`); ``user`` is the member
    whose address it is, or ``None`` for a visitor who only commented or wrote.
    """

    email: str
    user: User | None
    request_id: int | None = None
    #: The member's id, read once so erasers can use it after a commit expires ``user``.
    user_id: int | None = field(init=False, default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))
        object.__setattr__(self, "user_id", None if self.user is None else self.user.id)

    @classmethod
    def for_email(cls, email: str, request_id: int | None = None) -> Subject:
        """The subject for ``email``, with the member who has it, if any."""
        address = normalise_email(email)
        user = current_db().session.scalar(sa.select(User).where(User.email_key == address))
        return cls(email=address, user=user, request_id=request_id)
