"""The contact form. Field names are part of the public contract (docs/design.rst)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import PrivacyForm, email_field, one_line, stripped

#: The longest message accepted, in characters.
MESSAGE_MAX = 10_000


class ContactForm(PrivacyForm):
    """A message to the site's staff: who sends it, where to answer, and what it says."""

    name = StringField(
        _l("Your name"),
        filters=[one_line],
        validators=[
            DataRequired(_l("Enter your name.")),
            Length(max=100, message=_l("Keep your name under 100 characters.")),
        ],
    )
    email = email_field(_l("Your email address"), _l("Enter your email address, so we can answer."))
    message = TextAreaField(
        _l("Message"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Write your message.")),
            Length(
                max=MESSAGE_MAX,
                message=_l("Keep your message under %(max)s characters.", max=f"{MESSAGE_MAX:,}"),
            ),
        ],
    )
