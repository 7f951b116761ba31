"""The staff home: what each role reaches, the counts that matter, and the directory."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit, screen_options
from ..models import Comment
from ..state import current_db
from . import bp, directory, screens
from .forms import SearchForm
from .guard import require_role
from .pagination import Page, page_number


@bp.route("/", methods=["GET", "POST"])
@require_role("staff")
def home() -> t.Any:
    """The directory (the one screen every role has) under an overview of the staff area.

    POST only saves the screen options (rows per page) and comes back here.
    """
    options = screen_options.ScreenOptionsForm()
    if options.validate_on_submit():
        return screen_options.saved(options)
    status = 400 if request.method == "POST" else 200

    form = SearchForm(formdata=request.args)
    results: Page | None = None
    if form.validate():
        term = form.q.data or ""
        results = directory.search(term, page_number(), screen_options.per_page())
        _record_directory_view(term, results)
        current_db().session.commit()
    else:
        status = 400
    body = render_template(
        "privacy/staff/home.html",
        form=form,
        options=options,
        results=results,
        roles=screens.by_role(),
        role_label=screens.ROLE_LABELS.get(current_user.role or ""),
        counts=_counts(),
    )
    return body, status


def _record_directory_view(term: str, results: Page) -> None:
    """Audit every page of the directory shown: who searched for what, and whom they saw."""
    ids = [row.id for row in results.items]
    parts = [f"q={term!r}"] if term else []
    parts += [f"page={results.page}", "ids=" + ",".join(map(str, ids))]
    audit.record(
        "directory.search" if term else "directory.browse",
        subject_id=ids[0] if len(ids) == 1 else None,
        detail=" ".join(parts),
    )


def _counts() -> list[dict[str, t.Any]]:
    """The numbers that call for work, each linked to its screen when the screen exists."""
    counts: list[dict[str, t.Any]] = []
    linkable = {screen.endpoint for screen in screens.reachable()}
    if current_user.has_role("privacy_officer"):
        held = current_db().session.scalar(
            sa.select(sa.func.count(Comment.id)).where(Comment.status == "held")
        )
        counts.append(
            {
                "label": _("Held comments"),
                "value": int(held or 0),
                "url": (
                    url_for("privacy_staff.moderation")
                    if "privacy_staff.moderation" in linkable
                    else None
                ),
            }
        )
        # The privacy-request queue: open requests and the nearest answer deadline (P32).
        from .requests import open_summary

        open_count, nearest = open_summary()
        counts.append(
            {
                "label": _("Open privacy requests"),
                "value": open_count,
                "url": url_for("privacy_staff.requests"),
                "deadline": nearest,
            }
        )
    return counts
