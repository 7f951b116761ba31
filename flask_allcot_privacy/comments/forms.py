"""The comment forms. Field names are part of the public contract (docs/design.rst)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import PrivacyForm, WebAddress, email_field, one_line, stripped

#: The policy's limits on a comment's body.
BODY_MIN, BODY_MAX = 1, 10_000


class MemberCommentForm(PrivacyForm):
    """What a logged-in member writes: the body only; the name comes from the profile."""

    body = TextAreaField(
        _l("Comment"),
        filters=[stripped],
        validators=[
            DataRequired(_l("Write your comment.")),
            Length(
                BODY_MIN,
                BODY_MAX,
                _l("Keep your comment under %(max)s characters.", max=f"{BODY_MAX:,}"),
            ),
        ],
    )
    #: The page the form was on, to go back to (same host only, checked on use).
    next = HiddenField()


class VisitorCommentForm(MemberCommentForm):
    """A visitor who is not logged in also gives a name, an email and optionally a website."""

    author_name = StringField(
        _l("Name"),
        filters=[one_line],
        validators=[
            DataRequired(_l("Enter your name.")),
            Length(max=100, message=_l("Keep your name under 100 characters.")),
        ],
    )
    author_email = email_field()
    author_url = StringField(
        _l("Website (optional)"),
        filters=[stripped],
        validators=[Length(max=2048), WebAddress()],
    )
    # Never pre-ticked: the comment-author cookies are set only when the visitor asks.
    remember_author = BooleanField(
        _l("Remember my name, email and website in this browser for the next time I comment")
    )
