"""The account forms. Field names are part of the public contract (DESIGN.md)."""

from __future__ import annotations

import typing as t

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

USERNAME_PATTERN = r"^[A-Za-z0-9._-]+$"


class ValidEmail:
    """Validate with email-validator and replace the data with the normalised address."""

    def __call__(self, form: FlaskForm, field: t.Any) -> None:
        if not field.data:
            return
        try:
            field.data = validate_email(
                field.data,
                check_deliverability=False,
                test_environment=current_app.config["PRIVACY_EMAIL_ALLOW_TEST_DOMAINS"],
            ).normalized
        except EmailNotValidError as error:
            raise ValidationError(str(error)) from None


class WebAddress:
    """An optional http or https URL with a host."""

    def __call__(self, form: FlaskForm, field: t.Any) -> None:
        from urllib.parse import urlsplit

        value = (field.data or "").strip()
        field.data = value
        if not value:
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            raise ValidationError(_l("Enter a web address starting with http:// or https://."))


def _strip(value: t.Any) -> t.Any:
    return value.strip() if isinstance(value, str) else value


class RegisterForm(FlaskForm):
    username = StringField(
        _l("Username"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Choose a username.")),
            Length(3, 60, _l("Use 3 to 60 characters.")),
            Regexp(
                USERNAME_PATTERN,
                message=_l("Use only letters, digits, '.', '_' and '-'."),
            ),
        ],
    )
    email = EmailField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=320),
            ValidEmail(),
        ],
    )
    marketing_opt_in = BooleanField(_l("Send me news and offers by email (you can unsubscribe)"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    password_confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", _l("The two passwords differ.")),
        ],
    )


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username or email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your username or email address.")),
            Length(max=320),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
    )
    remember = BooleanField(_l("Remember Me"))


class ResetPasswordForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=320),
            ValidEmail(),
        ],
    )


class ProfileForm(FlaskForm):
    first_name = StringField(_l("First name"), filters=[_strip], validators=[Length(max=100)])
    last_name = StringField(_l("Last name"), filters=[_strip], validators=[Length(max=100)])
    website = StringField(
        _l("Website"), filters=[_strip], validators=[Length(max=2048), WebAddress()]
    )
    bio = TextAreaField(
        _l("Biographical info"),
        validators=[Length(max=5000, message=_l("Keep it under 5,000 characters."))],
    )
    display_name = SelectField(_l("Display name publicly as"), choices=[])
    email = EmailField(
        _l("Email address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=320),
            ValidEmail(),
        ],
    )
    current_password = PasswordField(
        _l("Current password (needed to change your email)"),
        validators=[Optional(), Length(max=1024)],
    )
    public_profile = BooleanField(_l("Show a public profile page"))
    allow_indexing = BooleanField(_l("Let search engines index my public profile"))
    marketing_opt_in = BooleanField(_l("Send me news and offers by email"))


class ConfirmForm(FlaskForm):
    """A form with only a CSRF token: logout, confirmations, "log out everywhere else"."""
