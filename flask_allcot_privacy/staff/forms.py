"""The staff area's forms. Filters and searches are sent by GET (no CSRF: they change
nothing); the role form is a POST with a CSRF token like every form that does."""

from __future__ import annotations

import typing as t
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SearchField,
    SelectChoice,
    SelectField,
    ValidationError,
)
from wtforms.validators import Length, NumberRange, Optional

from ..forms import PrivacyForm, stripped
from .screens import ROLE_LABELS


def option(value: str, label: t.Any) -> SelectChoice:
    """One option of a select (WTForms 3.3's ``SelectChoice``)."""
    return SelectChoice(value=value, label=label)


class SearchForm(PrivacyForm):
    """The directory's search box."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Username or email"),
        filters=[stripped],
        validators=[Length(max=320, message=_l("Use at most 320 characters."))],
    )


class RoleForm(PrivacyForm):
    """An admin gives a member a role, or ``none``; removing one's own admin role needs a tick."""

    role = SelectField(
        _l("Role"),
        choices=[
            option("none", _l("No role (a member)")),
            *(option(role, label) for role, label in ROLE_LABELS.items()),
        ],
    )
    confirm_own = BooleanField(_l("Yes, remove my own admin role"))


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


class DateRangeForm(PrivacyForm):
    """A ``since``/``until`` range of whole days in UTC, both ends included (sent by GET).

    Either end may be left out; a form that needs both overrides the fields with
    ``InputRequired``. The last day there is (``9999-12-31``) means "no end".
    """

    class Meta:
        csrf = False

    since = DateField(_l("From (UTC)"), validators=[Optional()])
    until = DateField(_l("To (UTC)"), validators=[Optional()])

    def validate_until(self, field: t.Any) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))

    def start(self) -> datetime | None:
        """The first moment in the range, or ``None`` for no start."""
        return start_of(self.since.data) if self.since.data else None

    def end_exclusive(self) -> datetime | None:
        """The first moment after the range, or ``None`` for no end.

        The day after ``date.max`` does not exist (``OverflowError``): that range has no end.
        """
        until: date | None = self.until.data
        if until is None or until >= date.max:
            return None
        return start_of(until + timedelta(days=1))

    def conditions(self, column: t.Any) -> list[sa.ColumnElement[bool]]:
        """The ``WHERE`` conditions keeping ``column`` (a UTC timestamp) inside the range."""
        start, end = self.start(), self.end_exclusive()
        return [
            *([column >= start] if start is not None else []),
            *([column < end] if end is not None else []),
        ]


class AuditFilterForm(DateRangeForm):
    """The audit trail's filters; dates are whole days in UTC, both ends included."""

    actor = SelectField(_l("Staff member"), default="")
    subject = IntegerField(
        _l("About member id"),
        # The upper bound is the largest id a 64-bit integer column holds.
        validators=[Optional(), NumberRange(1, 2**63 - 1, _l("Enter a member id."))],
    )
