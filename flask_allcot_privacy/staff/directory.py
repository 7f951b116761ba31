"""The staff directory: members' username, first name, last name and email, and no more.

The policy lets employees see those four fields (P10) and nothing else, so the limit
is kept where the data is read: the query selects only those columns (and the id,
which links to the audit trail and the role screen). Bio, website, display name,
IP addresses and the rest never leave the database on this path.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..models import User
from .pagination import Page, paginate

#: The only columns the directory reads.
COLUMNS = (User.id, User.username, User.first_name, User.last_name, User.email)


def search(term: str, page: int, per_page: int) -> Page:
    """One page of live members whose username or email contains ``term`` (any case).

    LIKE wildcards in the term are escaped, so ``_`` or ``%`` match only themselves.
    """
    query = sa.select(*COLUMNS).where(User.erased_at.is_(None))
    needle = term.strip().lower()
    if needle:
        query = query.where(
            sa.or_(
                User.username_key.contains(needle, autoescape=True),
                User.email_key.contains(needle, autoescape=True),
            )
        )
    return paginate(query.order_by(User.username_key), page, per_page)
