"""Newsletter pages: subscribe (double opt-in), unsubscribe (RFC 8058), tracked opens and clicks.

Every link sent by email opens a page whose button POSTs: a GET alone changes nothing,
so a mail scanner that follows links neither subscribes nor unsubscribes anyone.
"""

from __future__ import annotations

import contextlib
import typing as t

import sqlalchemy as sa
from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import outbox, ratelimit, tokens
from ..accounts.forms import ConfirmForm
from ..errors import token_problem
from ..models import MailEvent, Subscription
from ..state import current_db
from . import bp, subscriptions, tracking
from .forms import ConfirmSubscriptionForm, SubscribeForm


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-store"
    # The token in these pages' URLs must not leak to other sites through Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/subscribe", methods=["GET", "POST"])
def subscribe() -> t.Any:
    form = SubscribeForm()
    template = "privacy/marketing/subscribe.html"
    if not form.validate_on_submit():
        return render_template(template, form=form), 400 if request.method == "POST" else 200
    address = form.email.data
    ratelimit.hit_per_ip("email-forms", "PRIVACY_EMAIL_LIMIT_PER_IP")
    # Per address too, known or not, so nobody can flood someone's inbox with confirmations.
    ratelimit.hit(
        "subscribe-address", "PRIVACY_EMAIL_LIMIT_PER_ADDRESS", subscriptions.email_key(address)
    )
    session = current_db().session
    try:
        row = subscriptions.request_by_visitor(address)
        session.flush()
    except sa.exc.IntegrityError:
        # The same address was submitted a moment ago; that request sends the email.
        session.rollback()
        return redirect(url_for(".subscribe_sent"))
    # The same page whatever the address: subscribed, pending, a member's or unknown.
    if row.status == "subscribed":
        token = subscriptions.unsubscribe_token(row.id, row.email)
        outbox.queue(
            "subscription_active",
            row.email,
            unsubscribe_url=url_for(".unsubscribe", token=token, _external=True),
        )
    else:
        hours = int(current_app.config["PRIVACY_SUBSCRIBE_CONFIRM_WITHIN"].total_seconds() // 3600)
        outbox.queue(
            "subscription_confirm",
            row.email,
            link=url_for(".confirm", token=subscriptions.confirm_token(row), _external=True),
            valid_hours=hours,
        )
    session.commit()
    return redirect(url_for(".subscribe_sent"))


@bp.route("/subscribe/sent")
def subscribe_sent() -> str:
    return render_template("privacy/marketing/check_email.html")


def _link_problem(error: tokens.TokenError) -> tuple[str, int]:
    return token_problem(
        error,
        offer="",
        link=(url_for(".subscribe"), _("Subscribe to the newsletter")),
        used=_("A newer confirmation link was sent; please use that one."),
    )


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> t.Any:
    try:
        row = subscriptions.for_confirm_token(token)
    except tokens.TokenError as error:
        return _link_problem(error)
    if row.status == "subscribed":
        return render_template("privacy/marketing/confirmed.html", subscription=row)
    form = ConfirmSubscriptionForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template(
            "privacy/marketing/confirm.html",
            form=form,
            subscription=row,
            ask_tracking=tracking.enabled(),
        ), status
    subscriptions.confirm(row, tracking=tracking.enabled() and bool(form.tracking.data))
    current_db().session.commit()
    return render_template("privacy/marketing/confirmed.html", subscription=row)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> t.Any:
    """The footer link (GET: a page with a button) and the RFC 8058 one-click POST.

    Exempt from CSRF on purpose: the mail provider's one-click POST carries no cookies
    and no CSRF token (RFC 8058, section 3.2). The signed token in the URL, which only
    the recipient of the email holds, is the proof; the page's own button POSTs the
    same way. A second POST changes nothing and says the address is unsubscribed.
    """
    try:
        row = subscriptions.for_unsubscribe_token(token)
    except tokens.TokenError as error:
        if error.reason == "expired":
            message = _(
                "This unsubscribe link has expired. Use the link in a newer email, "
                "or log in and untick the newsletter on your profile."
            )
        else:
            message = _("This link is not valid. Check that you copied all of it.")
        body = render_template(
            "privacy/errors/error.html",
            title=_("This link cannot be used"),
            message=message,
            link=None,
        )
        return body, 410 if error.reason == "expired" else 400
    if request.method == "POST":
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        if row is not None:
            subscriptions.mark_unsubscribed(row, "one-click" if one_click else "link")
            current_db().session.commit()
        return render_template("privacy/marketing/unsubscribe.html", done=True)
    done = row is None or row.status == "unsubscribed"
    return render_template(
        "privacy/marketing/unsubscribe.html",
        done=done,
        tracking_form=_tracking_form_for(row),
        token=token,
    )


def _tracking_form_for(row: Subscription | None) -> ConfirmForm | None:
    """The "stop tracking" form, offered while the subscriber's tracking consent holds."""
    if row is None or row.status != "subscribed" or not row.tracking_consent:
        return None
    return ConfirmForm(prefix="tracking")


@bp.route("/subscription/<token>/stop-tracking", methods=["POST"])
def stop_tracking(token: str) -> t.Any:
    """Withdraw the tracking consent (P23) and keep the newsletter; a form with CSRF."""
    try:
        row = subscriptions.for_unsubscribe_token(token)
    except tokens.TokenError:
        abort(400)
    if not ConfirmForm(prefix="tracking").validate_on_submit():
        abort(400)
    if row is not None and row.tracking_consent:
        subscriptions.set_tracking(row, False)
        current_db().session.commit()
    return render_template("privacy/marketing/tracking_stopped.html")


def _record(payload: dict[str, t.Any], kind: str, url: str = "") -> None:
    """Record an open or click while the site tracks and the subscriber's consent holds."""
    if not tracking.enabled():
        return
    session = current_db().session
    row = session.get(Subscription, payload.get("sid"))
    if row is None or row.status != "subscribed" or not row.tracking_consent:
        return
    session.add(
        MailEvent(subscription_id=row.id, campaign_id=payload.get("cid"), kind=kind, url=url[:2048])
    )
    session.commit()


@bp.route("/m/open/<token>")
def mail_open(token: str) -> Response:
    """The open pixel: always a transparent GIF; counted only when the token is valid."""
    with contextlib.suppress(tokens.TokenError):
        _record(tokens.read(tokens.MAIL_OPEN, token), "open")
    return Response(tracking.PIXEL, mimetype="image/gif")


@bp.route("/m/click/<token>")
def mail_click(token: str) -> t.Any:
    """A tracked link: redirects only to the http(s) URL signed into its token."""
    try:
        payload = tokens.read(tokens.MAIL_CLICK, token)
    except tokens.TokenError:
        abort(400)
    target = payload.get("url")
    if not isinstance(target, str) or not tracking.is_web_url(target):
        abort(400)
    _record(payload, "click", target)
    return redirect(target, 302)
