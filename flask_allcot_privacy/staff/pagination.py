"""Pages of rows for staff lists.

Flask-SQLAlchemy's ``db.paginate`` returns scalars (one entity per row); staff lists
select only the columns they may show, so they page whole rows with this instead.
"""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa
from flask import request

from ..state import current_db


@dataclass(frozen=True)
class Page:
    """One page of rows, with what the pager needs."""

    items: list[sa.Row[*tuple[t.Any, ...]]]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """The 1-based position of the first row shown, 0 when there are none."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0


def paginate(query: sa.Select[*tuple[t.Any, ...]], page: int, per_page: int) -> Page:
    """Run ``query`` for one page; a page past the end shows the last one."""
    session = current_db().session
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    total = int(total or 0)
    last = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), last)
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)


def page_number() -> int:
    """The ``page`` query argument, 1 when missing or not a positive number."""
    return max(1, request.args.get("page", 1, type=int) or 1)
