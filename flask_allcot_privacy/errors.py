"""Error pages: 400, 403, 404, 405, 429 and 500 in the site's layout, and the page
answering an emailed link that cannot be used.

With ``PRIVACY_ERROR_PAGES`` (the default) the handlers are registered app-wide at
``init_app``, except for codes the host already handles. A page is
``privacy/errors/<code>.html`` if the host has one, else ``privacy/errors/error.html``;
a client asking for JSON (``Accept: application/json``) gets
``{"error": {"code", "name", "message"}}``. Outside debug mode nobody sees a traceback:
an unhandled exception is logged and answered with the 500 page.
"""

from __future__ import annotations

import typing as t

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from . import tokens

__all__ = ["CODES", "error_response", "form_expired", "init_app", "token_problem"]

#: The codes that get a page, with the title and message each says by default.
CODES: dict[int, tuple[t.Any, t.Any]] = {
    400: (
        _l("This request could not be used"),
        _l("Something in it was missing or not right. Go back, check it and try again."),
    ),
    403: (
        _l("You cannot open this page"),
        _l("You do not have permission to see it. If you think you should, contact us."),
    ),
    404: (
        _l("Page not found"),
        _l("There is nothing at this address. It may have moved, or the link may be wrong."),
    ),
    405: (
        _l("This page cannot be used this way"),
        _l("The page exists, but not for this kind of request. Go back and use its form."),
    ),
    429: (
        _l("Too many attempts"),
        _l("For your security we paused this for a while. Please try again later."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("The error was logged and nothing you sent was half-saved. Please try again soon."),
    ),
}
FORM_EXPIRED = _l(
    "This form expired or was sent from another page. Go back, reload the page and send it again."
)


def form_expired() -> BadRequest:
    """The 400 to raise when a form's CSRF token is missing or no longer valid."""
    return BadRequest(description=str(FORM_EXPIRED))


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(
    code: int, message: t.Any = None, *, title: t.Any = None, headers: t.Any = None
) -> t.Any:
    """The error page (or JSON) for ``code``, with a message of its own if given."""
    default_title, default_message = CODES.get(code, CODES[500] if code >= 500 else CODES[400])
    title, message = str(title or default_title), str(message or default_message)
    kept = [(k, v) for k, v in (headers or []) if k.lower() != "content-type"]
    if _wants_json():
        return jsonify(error={"code": code, "name": _name(code), "message": message}), code, kept
    try:
        page = render_template(
            [f"privacy/errors/{code}.html", "privacy/errors/error.html"],
            title=title,
            message=message,
            code=code,
        )
    except Exception:
        current_app.logger.exception("The %s error page could not be rendered.", code)
        page = f"<!doctype html><title>{code}</title><h1>{code}</h1>"
    return page, code, kept


def _name(code: int) -> str:
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(code, "Error")


def _http_error(error: HTTPException) -> t.Any:
    code = error.code or 500
    # Werkzeug's own descriptions are English boilerplate; a description given on
    # purpose (abort(400, "...")) is shown instead of the default message.
    given = error.description if error.description != type(error).description else None
    return error_response(code, given, headers=error.get_headers())


def _csrf_error(error: CSRFError) -> t.Any:
    return error_response(400, FORM_EXPIRED)


def _server_error(error: InternalServerError) -> t.Any:
    # Whatever the request half-did is not committed.
    from .state import state_for

    try:
        state_for(current_app).db.session.rollback()
    except Exception:
        current_app.logger.exception("Could not roll back after a server error.")
    return error_response(500)


def init_app(app: Flask) -> None:
    """Register the error pages app-wide, leaving alone codes the host already handles."""
    if not app.config["PRIVACY_ERROR_PAGES"]:
        return
    handled = app.error_handler_spec.get(None, {})
    for code in CODES:
        if handled.get(code):
            continue
        app.register_error_handler(code, _server_error if code == 500 else _http_error)
    if CSRFError not in handled.get(400, {}):
        app.register_error_handler(CSRFError, _csrf_error)


def token_problem(
    error: tokens.TokenError,
    *,
    offer: str | None = None,
    link: tuple[str, str] | None = None,
    used: str | None = None,
) -> tuple[str, int]:
    """A page that says why an emailed link cannot be used, and offers a new one.

    :param offer: the sentence after the reason (default: ask for a new password link).
    :param link: the ``(url, label)`` of the way to a new link.
    :param used: what to say of a used link, where the default does not fit.
    """
    messages = {
        "expired": _("This link has expired."),
        "used": used or _("This link was already used, or a newer one was sent."),
        "invalid": _("This link is not valid. Check that you copied all of it."),
    }
    if offer is None:
        offer = _("You can ask for a new link below.")
    if link is None:
        link = (url_for("privacy_accounts.reset_password"), _("Send me a new link"))
    body = render_template(
        "privacy/errors/error.html",
        title=_("This link cannot be used"),
        message=f"{messages[error.reason]} {offer}".strip(),
        link=link,
    )
    return body, 410 if error.reason in ("expired", "used") else 400
