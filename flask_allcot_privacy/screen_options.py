"""Screen options on staff lists (rows per page), kept in the ``privacy_screen_options`` cookie.

The policy promises that screen-options cookies last one year (P13); the cookie
registry gives this one ``PRIVACY_SCREEN_OPTIONS_LIFETIME``. Its value is signed
with itsdangerous, so a value the server did not write is ignored, and only known
keys with allowed values are read back: anything else in it is dropped. The
cookie is a ``preferences`` one: the "Screen options" form writes it because the
visitor asked, a ``?per_page=`` in an address only with consent to preferences.
"""

from __future__ import annotations

import typing as t

from flask import Response, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import SelectField
from wtforms.validators import InputRequired

from . import consent, cookies, tokens
from .forms import PrivacyForm

__all__ = ["ScreenOptionsForm", "per_page", "read", "remember", "saved"]

SALT = "flask-allcot-privacy.screen-options"


def _per_page_allowed(value: t.Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value in current_app.config["PRIVACY_PER_PAGE_CHOICES"]
    )


#: The options the cookie may hold, each with the check its value must pass.
KNOWN_OPTIONS: dict[str, t.Callable[[t.Any], bool]] = {"per_page": _per_page_allowed}


def _serializer() -> URLSafeSerializer:
    # The newest key signs; fallback keys (Flask 3.1 rotation) still verify old cookies.
    return URLSafeSerializer(tokens.signing_keys(), salt=SALT)


def _only_known(options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {
        key: value
        for key, value in options.items()
        if key in KNOWN_OPTIONS and KNOWN_OPTIONS[key](value)
    }


def read() -> dict[str, t.Any]:
    """The options in this request's cookie; unsigned, unknown or bad values are ignored."""
    raw = request.cookies.get(cookies.spec("screen_options").cookie_name())
    if not raw:
        return {}
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return {}
    return _only_known(data) if isinstance(data, dict) else {}


def remember(response: Response, **options: t.Any) -> None:
    """Keep ``options`` (merged into what the cookie already holds) for a year."""
    merged = {**read(), **_only_known(options)}
    cookies.set_cookie(response, "screen_options", _serializer().dumps(merged))


def _per_page_in_address() -> int | None:
    """A ``per_page`` offered in the list's address (``?per_page=25``), if allowed."""
    raw = request.args.get("per_page", "")
    value = int(raw) if raw.isdigit() and len(raw) < 6 else None
    return value if _per_page_allowed(value) else None


def per_page() -> int:
    """Rows per page: from the address, else the kept choice, else the first choice."""
    chosen = _per_page_in_address() or read().get("per_page")
    return int(chosen) if chosen else int(current_app.config["PRIVACY_PER_PAGE_CHOICES"][0])


def remember_address_choice(response: Response) -> Response:
    """Keep a ``per_page`` chosen in a list's address, if the visitor allows preferences.

    A display preference held by the browser, like a sort order: it changes nothing
    on the server, so honouring it on GET keeps "no state change on GET". Unlike the
    "Screen options" form (an explicit request to remember, like the comment form's
    "remember me" tick), an address only asks for that page: the ``preferences``
    cookie is written from it only with the visitor's consent to that category.
    """
    chosen = _per_page_in_address()
    asked_on_a_list = request.method == "GET" and response.status_code == 200
    if (
        asked_on_a_list
        and chosen is not None
        and read().get("per_page") != chosen
        and consent.allows(cookies.spec("screen_options").category)
    ):
        remember(response, per_page=chosen)
    return response


class ScreenOptionsForm(PrivacyForm):
    """The "Screen options" form of a staff list; ``per_page`` is part of the public contract."""

    per_page = SelectField(
        _l("Rows per page"),
        coerce=int,
        validators=[InputRequired(_l("Choose how many rows to show."))],
    )

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # Plain string values, each its own label: every WTForms version reads them alike.
        self.per_page.choices = [str(n) for n in current_app.config["PRIVACY_PER_PAGE_CHOICES"]]
        if not self.is_submitted():
            self.per_page.data = per_page()


def saved(form: ScreenOptionsForm) -> Response:
    """Redirect back to the same list (first page, same filters) with the choice remembered."""
    values: dict[str, t.Any] = dict(request.view_args or {})
    values.update((key, value) for key, value in request.args.items() if key != "page")
    assert request.endpoint is not None
    # Flask's redirect() builds the app's response class, a flask.Response.
    response = t.cast(Response, redirect(url_for(request.endpoint, **values)))
    remember(response, per_page=form.per_page.data)
    return response
