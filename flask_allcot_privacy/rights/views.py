"""The visitor's side: ask (``/privacy/request``), confirm from the email, download.

The answer to the form is the same page whatever the address and whether it has an
account; what happens next is told by email, to the address, and only there.
"""

from __future__ import annotations

import typing as t

from flask import (
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import ratelimit, tokens
from ..accounts.forms import ConfirmForm
from ..clock import utcnow
from ..errors import token_problem
from ..models import REQUEST_TYPES
from ..state import current_db
from . import bp, export_jobs, workflow
from .forms import RequestForm
from .subject import normalise_email

#: Links carrying a token: never sent on as a Referer, never kept by a cache.
PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/request", methods=["GET", "POST"])
def request_form() -> t.Any:
    template = "privacy/rights/request.html"
    if request.method == "GET":
        form = RequestForm(formdata=None)
        if current_user.is_authenticated:
            form.email.data = current_user.email
        asked = request.args.get("request_type")
        if asked in REQUEST_TYPES:
            form.request_type.data = asked
        return render_template(template, form=form)
    form = RequestForm()
    if not form.validate_on_submit():
        return render_template(template, form=form), 400
    ratelimit.hit_per_ip("email-forms", "PRIVACY_EMAIL_LIMIT_PER_IP")
    # Per address too, known or not, so nobody floods a mailbox with confirmation emails.
    ratelimit.hit(
        "privacy-request-address",
        "PRIVACY_EMAIL_LIMIT_PER_ADDRESS",
        normalise_email(form.email.data),
    )
    workflow.open_request(form.email.data, form.request_type.data, form.details.data or "")
    current_db().session.commit()
    return redirect(url_for(".request_sent"))


@bp.route("/request/sent")
def request_sent() -> str:
    return render_template("privacy/rights/sent.html")


def _link_problem(error: tokens.TokenError) -> tuple[str, int, dict[str, str]]:
    """A page that says why a request link cannot be used, and offers a new request."""
    body, status = token_problem(
        error,
        offer=_("You can make a new request below."),
        link=(url_for(".request_form"), _("Make a new request")),
    )
    return body, status, PRIVATE_HEADERS


@bp.route("/request/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> t.Any:
    """GET shows the button and changes nothing (mail scanners open links); POST confirms."""
    try:
        privacy_request = workflow.request_for_confirm_token(token)
    except tokens.TokenError as error:
        return _link_problem(error)
    template = "privacy/rights/confirm.html"
    if privacy_request.state == "expired":
        return _link_problem(tokens.TokenExpired())
    if privacy_request.state != "pending":
        body = render_template(template, privacy_request=privacy_request, form=None, done=True)
        return body, 200 if privacy_request.state == "confirmed" else 410, PRIVATE_HEADERS
    form = ConfirmForm()
    type_label = workflow.TYPE_LABELS[privacy_request.request_type]
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        body = render_template(
            template, privacy_request=privacy_request, form=form, type_label=type_label
        )
        return body, status, PRIVATE_HEADERS
    db = current_db()
    if not workflow.confirm(privacy_request):
        db.session.rollback()
        return _link_problem(tokens.TokenUsed())
    db.session.commit()
    if privacy_request.export_requested_at is not None:
        export_jobs.build_after_response(privacy_request.id, workflow.Actor())

    return redirect(url_for(".confirmed", token=token))


@bp.route("/request/confirmed/<token>")
def confirmed(token: str) -> t.Any:
    """After the POST: the deadline, read from the request the same token names."""
    try:
        privacy_request = workflow.request_for_confirm_token(token)
    except tokens.TokenError as error:
        return _link_problem(error)
    body = render_template(
        "privacy/rights/confirm.html", privacy_request=privacy_request, form=None, done=True
    )
    return body, 200, PRIVATE_HEADERS


@bp.route("/export/<token>")
def download_export(token: str) -> t.Any:
    """The ZIP, for as long as the link is valid; nothing is changed by opening it."""
    try:
        privacy_request, path = export_jobs.request_for_download(token)
    except tokens.TokenError as error:
        return _link_problem(error)
    site = current_app.config["PRIVACY_SITE_NAME"]
    stamp = (privacy_request.completed_at or utcnow()).strftime("%Y-%m-%d")
    response = send_file(
        path,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{site}-privacy-export-{stamp}.zip",
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers.update(PRIVATE_HEADERS)
    return response
