"""The newsletter forms. ``email`` on the subscribe form is the public contract (DESIGN.md)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..forms import PrivacyForm, email_field


class SubscribeForm(PrivacyForm):
    """The newsletter form for visitors; a confirmation link is emailed (double opt-in)."""

    email = email_field()


class ConfirmSubscriptionForm(PrivacyForm):
    """The button of the emailed confirmation link; tracking is asked only when it is used."""

    #: Never pre-checked; shown only when PRIVACY_MAIL_TRACKING is on (P23).
    tracking = BooleanField(
        _l("Also let us see when you open our emails and which of their links you follow")
    )
