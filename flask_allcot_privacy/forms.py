"""What every form of the extension shares: the base class, filters and validators."""

from __future__ import annotations

import re
import typing as t
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

#: Control characters no visitor types (NUL among them, which PostgreSQL refuses).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")


def no_control_characters(form: FlaskForm, field: Field) -> None:
    """Refuse text holding control characters other than tab and line breaks."""
    if isinstance(field.data, str) and _CONTROL.search(field.data):
        raise ValidationError(_l("Remove the invisible control characters from this field."))


class PrivacyForm(FlaskForm):
    """The base of every form here: CSRF from Flask-WTF, and no control characters in text.

    The check is passed as an extra validator at validation time, so no field or
    class is changed.
    """

    def validate(self, extra_validators: t.Mapping[str, t.Sequence[t.Any]] | None = None) -> bool:
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for field in self:
            if isinstance(field, (StringField, TextAreaField)):
                extra.setdefault(field.name, []).append(no_control_characters)
        return bool(super().validate(extra_validators=extra))


def stripped(value: t.Any) -> t.Any:
    """Filter: surrounding white space removed."""
    return value.strip() if isinstance(value, str) else value


def one_line(value: t.Any) -> t.Any:
    """Filter: line breaks and runs of spaces collapsed; a name is one line, fit for a header."""
    return _WHITESPACE.sub(" ", value).strip() if isinstance(value, str) else value


class ValidEmail:
    """The account service's email rule: replace the data with the normalised address."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if not field.data:
            return
        from .accounts.service import AccountError, normalised_email

        try:
            field.data = normalised_email(field.data)
        except AccountError as error:
            raise ValidationError(str(error)) from None


EMAIL_LABEL = _l("Email address")
EMAIL_MISSING = _l("Enter your email address.")


def email_field(label: t.Any = EMAIL_LABEL, missing: t.Any = EMAIL_MISSING) -> t.Any:
    """A required email field: trimmed, at most 320 characters, checked and normalised."""
    return EmailField(
        label,
        filters=[stripped],
        validators=[DataRequired(missing), Length(max=320), ValidEmail()],
    )


class WebAddress:
    """An optional http or https URL with a host."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        value = (field.data or "").strip()
        field.data = value
        if not value:
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            raise ValidationError(_l("Enter a web address starting with http:// or https://."))
