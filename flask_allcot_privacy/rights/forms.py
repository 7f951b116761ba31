"""The privacy-request form and the staff forms answering a request.

The request form's field names are part of the public contract (DESIGN.md).
"""

from __future__ import annotations

import typing as t

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from ..forms import PrivacyForm, email_field, stripped
from ..models import REQUEST_TYPES

#: The longest text accepted in a request's details or an officer's note.
TEXT_MAX = 5_000


def _type_choices() -> list[tuple[str, t.Any]]:
    from .workflow import TYPE_LABELS

    return [(kind, TYPE_LABELS[kind]) for kind in REQUEST_TYPES]


class RequestForm(PrivacyForm):
    """Who asks (the address we confirm and answer), what for, and anything to add."""

    email = email_field(
        _l("Your email address"), _l("Enter the email address your data is held under.")
    )
    request_type = RadioField(
        _l("What would you like us to do?"),
        choices=_type_choices,
        validators=[DataRequired(_l("Choose what you would like us to do."))],
    )
    details = TextAreaField(
        _l("Details"),
        filters=[stripped],
        validators=[
            Length(
                max=TEXT_MAX,
                message=_l("Keep the details under %(max)s characters.", max=f"{TEXT_MAX:,}"),
            )
        ],
    )

    def validate_details(self, field: t.Any) -> None:
        if self.request_type.data == "correct" and not field.data:
            raise ValidationError(
                _l("Tell us which data is wrong and what it should say, so we can correct it.")
            )


class NoteForm(PrivacyForm):
    """An officer's note: what was corrected, or why the request is rejected."""

    note = TextAreaField(
        _l("What was changed"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Write what you changed: the requester is told.")),
            Length(max=TEXT_MAX),
        ],
    )


class RejectForm(PrivacyForm):
    """Rejecting a request needs a reason; the requester is told it."""

    reason = TextAreaField(
        _l("Reason for rejecting"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Give the reason: the requester is told.")),
            Length(max=TEXT_MAX),
        ],
    )
