"""What every form of the extension shares: the base class, filters and validators."""

from __future__ import annotations

import functools
import re
import typing as t
from urllib.parse import urlsplit

from babel import support
from flask import current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import EmailField, Field, StringField, TextAreaField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, Length, ValidationError

from .lookalikes import compatible

#: Control characters no visitor types (NUL among them, which PostgreSQL refuses).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")


def no_control_characters(form: FlaskForm, field: Field) -> None:
    """Refuse text holding control characters other than tab and line breaks."""
    if isinstance(field.data, str) and _CONTROL.search(field.data):
        raise ValidationError(_l("Remove the invisible control characters from this field."))


@functools.lru_cache(maxsize=64)
def _wtforms_translations(locale: str) -> t.Any:
    """WTForms' own messages for ``locale``, loaded once per process.

    Flask-WTF reads and parses the catalogue again for every request that builds a
    form; it never changes while the process runs.
    """
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


NOT_TEXT = _l("Send this field as text.")


def text_only(formdata: t.Any) -> tuple[MultiDict[str, str], set[str]]:
    """``formdata`` with every value that is not a string left out, and those fields' names.

    A browser sends every field of these forms as text. A file upload, or a JSON
    ``true``, number, ``null``, object or array, would otherwise reach validators and
    models that expect a string.
    """
    kept: MultiDict[str, str] = MultiDict()
    refused: set[str] = set()
    for name, value in formdata.items(multi=True):
        if isinstance(value, str):
            kept.add(name, value)
        else:
            refused.add(str(name))
    return kept, refused


class PrivacyForm(FlaskForm):
    """The base of every form here: CSRF from Flask-WTF, text-only fields, no control characters.

    The checks are passed as extra validators at validation time, so no field or
    class is changed.
    """

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: t.Any) -> t.Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_translations(str(get_locale()))

        def wrap_formdata(self, form: t.Any, formdata: t.Any) -> t.Any:
            automatic = formdata is not None and type(formdata) is object  # Flask-WTF's _Auto
            if automatic and form.is_submitted() and request.is_json and not request.form:
                # A JSON body that is not an object (a list, a string) has no fields.
                body = request.get_json(silent=True)
                pairs: list[tuple[str, t.Any]] = []
                for name, value in (body if isinstance(body, dict) else {}).items():
                    # An empty array would otherwise vanish, leaving the field unsent.
                    values = value if isinstance(value, list) and value else [value]
                    pairs.extend((str(name), each) for each in values)
                formdata = MultiDict(pairs)
            wrapped = super().wrap_formdata(form, formdata)
            if wrapped is None:
                return None
            wrapped, form._privacy_not_text = text_only(wrapped)
            return wrapped

    def validate(self, extra_validators: t.Mapping[str, t.Sequence[t.Any]] | None = None) -> bool:
        extra = {name: list(validators) for name, validators in (extra_validators or {}).items()}
        for field in self:
            if isinstance(field, (StringField, TextAreaField)):
                extra.setdefault(field.name, []).append(no_control_characters)
        valid = bool(super().validate(extra_validators=extra))
        not_text: set[str] = getattr(self, "_privacy_not_text", set())
        for field in self:
            if field.name in not_text:
                field.errors = [NOT_TEXT]
                valid = False
        return valid


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
        filters=[compatible],
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
