"""The account forms. Field names are part of the public contract (docs/design.rst).

The rules themselves live in :mod:`.service`; the forms only show its messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from ..forms import PrivacyForm, WebAddress, email_field, stripped
from . import service


class UsernameRules:
    """The account service's username rules, with its message beside the field."""

    def __call__(self, form: PrivacyForm, field: Field) -> None:
        problem = service.username_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class RegisterForm(PrivacyForm):
    username = StringField(
        _l("Username"),
        filters=[stripped],
        validators=[DataRequired(_l("Choose a username.")), UsernameRules()],
    )
    email = email_field()
    marketing_opt_in = BooleanField(_l("Send me news and offers by email (you can unsubscribe)"))


class SetPasswordForm(PrivacyForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    password_confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("password", _l("The two passwords differ.")),
        ],
    )


class LoginForm(PrivacyForm):
    username = StringField(
        _l("Username or email address"),
        filters=[stripped],
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


class ResetPasswordForm(PrivacyForm):
    email = email_field()


class ProfileForm(PrivacyForm):
    first_name = StringField(_l("First name"), filters=[stripped], validators=[Length(max=100)])
    last_name = StringField(_l("Last name"), filters=[stripped], validators=[Length(max=100)])
    website = StringField(
        _l("Website"), filters=[stripped], validators=[Length(max=2048), WebAddress()]
    )
    bio = TextAreaField(
        _l("Biographical info"),
        validators=[Length(max=5000, message=_l("Keep it under 5,000 characters."))],
    )
    display_name = SelectField(_l("Display name publicly as"), choices=[])
    email = email_field()
    current_password = PasswordField(
        _l("Current password (needed to change your email)"),
        validators=[Optional(), Length(max=1024)],
    )
    public_profile = BooleanField(_l("Show a public profile page"))
    allow_indexing = BooleanField(_l("Let search engines index my public profile"))
    marketing_opt_in = BooleanField(_l("Send me news and offers by email"))


class ConfirmForm(PrivacyForm):
    """A form with only a CSRF token: logout, confirmations, "log out everywhere else"."""
