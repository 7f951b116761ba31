"""Staff pages: home, directory, roles, audit trail (built by the staff-area work)."""

from __future__ import annotations

from . import bp
from .guard import require_role


@bp.route("/")
@require_role("staff")
def home() -> str:
    return "Staff area"
