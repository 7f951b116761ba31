"""The consent form: ``action`` and ``categories`` are the public contract.

It carries no CSRF token: the view checks where the POST comes from instead
(:mod:`.origin`), so the banner is the same for every visitor and sets no cookie.
"""

from __future__ import annotations

import typing as t

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import AnyOf, InputRequired, Optional

from ..forms import PrivacyForm
from . import catalogue

ACCEPT_ALL, REJECT_ALL, SAVE = "accept_all", "reject_all", "save"
ACTIONS = (ACCEPT_ALL, REJECT_ALL, SAVE)
#: The sources a form may claim; ``gpc`` comes only from the browser's signal.
FORM_SOURCES = ("banner", "settings")


class ConsentForm(PrivacyForm):
    """One decision: accept all, reject all, or save the ticked categories."""

    class Meta:
        # Protected by its Origin instead (see origin.py): no token, no session cookie.
        csrf = False

    action = StringField(
        _l("Choice"),
        validators=[
            InputRequired(message=_l("Choose Accept all, Reject all or Save choices.")),
            AnyOf(ACTIONS, message=_l("Choose Accept all, Reject all or Save choices.")),
        ],
    )
    categories = SelectMultipleField(_l("Categories"), choices=[])
    source = HiddenField(validators=[Optional(), AnyOf(FORM_SOURCES)])
    next = HiddenField()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Only optional categories can be ticked: "necessary" is not a choice.
        self.categories.choices = [
            SelectChoice(c.name, str(c.label)) for c in catalogue.categories() if not c.always_on
        ]

    def granted(self) -> list[str]:
        """The categories this decision grants, besides the necessary ones."""
        if self.action.data == ACCEPT_ALL:
            return catalogue.optional_names()
        if self.action.data == REJECT_ALL:
            return []
        return list(self.categories.data or [])
