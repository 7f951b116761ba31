"""Consent records for privacy officers: look one visitor's up, export a date range as CSV.

The CSV is safe to open in a spreadsheet: a cell a visitor could influence (the
user agent above all) never starts with a character a spreadsheet reads as a
formula (OWASP "CSV injection"). Both screens are recorded in the audit trail.
"""

from __future__ import annotations

import csv
import io
import typing as t
import unicodedata
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField, ValidationError
from wtforms.validators import InputRequired

from .. import audit
from ..forms import PrivacyForm
from ..models import ConsentRecord
from ..state import current_db
from . import bp
from .forms import DateRangeForm
from .guard import require_role

#: A cell starting with one of these is read as a formula by spreadsheet software.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

CSV_COLUMNS = (
    "created_at",
    "consent_id",
    "member_id",
    "granted",
    "refused",
    "revision",
    "policy_version",
    "ip_address",
    "user_agent",
    "source",
)


class LookupForm(PrivacyForm):
    """Find one visitor's decisions by the consent id they quote (sent by GET)."""

    class Meta:
        csrf = False

    consent_id = StringField(
        _l("Consent id"), validators=[InputRequired(message=_l("Enter a consent id."))]
    )

    def validate_consent_id(self, field: t.Any) -> None:
        value = (field.data or "").strip()
        try:
            field.data = str(uuid.UUID(value))
        except ValueError:
            raise ValidationError(
                _l("Enter a consent id as shown on the cookie settings page, such as 0f8e1c2a-...")
            ) from None


class ExportForm(DateRangeForm):
    """The export's date range: both ends needed."""

    since = DateField(_l("From (UTC)"), validators=[InputRequired()])
    until = DateField(_l("To (UTC)"), validators=[InputRequired()])


def safe_cell(value: object) -> str:
    """``value`` as CSV text that no spreadsheet evaluates as a formula."""
    text = "" if value is None else str(value)
    # Spreadsheets skip leading blanks and read full-width signs (U+FF1D for =) as the
    # ASCII ones, so the check looks at the first visible character of the NFKC form too.
    visible = unicodedata.normalize("NFKC", text).lstrip()
    if text.startswith(FORMULA_STARTS) or visible.startswith(FORMULA_STARTS):
        return f"'{text}"
    return text


def _row(record: ConsentRecord) -> list[str]:
    values: list[object] = [
        record.created_at.isoformat(),
        record.consent_id,
        record.user_id,
        " ".join(record.granted),
        " ".join(record.refused),
        record.revision,
        record.policy_version,
        record.ip_address,
        record.user_agent,
        record.source,
    ]
    return [safe_cell(value) for value in values]


@bp.route("/consent", endpoint="consent_records")
@require_role("privacy_officer")
def consent_records() -> t.Any:
    """The lookup and export forms; with a consent id, that visitor's decisions, oldest first."""
    searched = "consent_id" in request.args
    lookup = LookupForm(formdata=request.args if searched else None)
    export = ExportForm(formdata=None)
    records: list[ConsentRecord] | None = None
    status = 200
    if searched:
        if lookup.validate():
            records = list(
                current_db().session.scalars(
                    sa.select(ConsentRecord)
                    .where(ConsentRecord.consent_id == lookup.consent_id.data)
                    .order_by(ConsentRecord.created_at, ConsentRecord.id)
                )
            )
            members = {r.user_id for r in records if r.user_id is not None}
            audit.record(
                "consent.lookup",
                subject_id=members.pop() if len(members) == 1 else None,
                detail=f"consent_id={lookup.consent_id.data} found={len(records)}",
            )
            current_db().session.commit()
        else:
            status = 400
    body = render_template(
        "privacy/staff/consent_records.html", lookup=lookup, export=export, records=records
    )
    return body, status


@bp.route("/consent/export", endpoint="consent_export")
@require_role("privacy_officer")
def consent_export() -> t.Any:
    """The records of a date range as CSV, streamed; bad dates get the form again.

    Opened without dates (a bookmark, an old link), it shows the form, not errors.
    """
    asked = "since" in request.args or "until" in request.args
    export = ExportForm(formdata=request.args if asked else None)
    if not asked or not export.validate():
        body = render_template(
            "privacy/staff/consent_records.html",
            lookup=LookupForm(formdata=None),
            export=export,
            records=None,
        )
        return body, 400 if asked else 200
    since, until = export.since.data, export.until.data
    audit.record("consent.export", detail=f"since={since} until={until}")
    current_db().session.commit()
    query = (
        sa.select(ConsentRecord)
        .where(*export.conditions(ConsentRecord.created_at))
        .order_by(ConsentRecord.created_at, ConsentRecord.id)
        .execution_options(yield_per=500)
    )

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
        writer.writerow(CSV_COLUMNS)
        for record in current_db().session.scalars(query):
            writer.writerow(_row(record))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    filename = f"consent-records-{since.isoformat()}-to-{until.isoformat()}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Part of the consent records screen, not a screen of its own in the staff navigation.
consent_export.privacy_screen = False  # type: ignore[attr-defined]
