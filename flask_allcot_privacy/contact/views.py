"""``/privacy/contact``: the message is stored, then copied to staff by email.

The policy says contact-form senders' email, IP address and message are stored
(P17) and that correspondence is kept and copies given on request (P18): each
message is a :class:`~..models.ContactMessage` row, kept until retention says
otherwise, and ``correspondence.correspondence_for`` finds a person's messages.
"""

from __future__ import annotations

import typing as t

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user

from .. import ipaddr, outbox, ratelimit
from ..models import ContactMessage
from ..state import current_db
from . import bp
from .forms import ContactForm


def recipients() -> list[str]:
    """Who receives contact messages: PRIVACY_CONTACT_RECIPIENTS, else PRIVACY_CONTACT_EMAIL."""
    config = current_app.config
    named = list(config["PRIVACY_CONTACT_RECIPIENTS"])
    if not named and config["PRIVACY_CONTACT_EMAIL"]:
        named = [config["PRIVACY_CONTACT_EMAIL"]]
    return named


@bp.route("/contact", methods=["GET", "POST"])
def contact() -> t.Any:
    template = "privacy/contact/contact.html"
    if request.method == "GET":
        form = ContactForm(formdata=None)
        if current_user.is_authenticated:
            form.name.data, form.email.data = current_user.display_name, current_user.email
        return render_template(template, form=form)
    form = ContactForm()
    if not form.validate_on_submit():
        return render_template(template, form=form), 400
    ip_address = ipaddr.request_ip()
    ratelimit.hit_per_ip("contact", "PRIVACY_CONTACT_LIMIT_PER_IP")
    message = ContactMessage(
        user_id=current_user.id if current_user.is_authenticated else None,
        name=form.name.data,
        email=form.email.data,
        message=form.message.data,
        ip_address=ip_address,
        user_agent=ipaddr.request_user_agent(),
    )
    db = current_db()
    db.session.add(message)
    db.session.flush()
    to = recipients()
    if to:
        # Staff answer with "Reply": it goes to the sender, not to the site's address.
        outbox.queue("contact_message", to, reply_to=message.email, message=message)
    else:
        current_app.logger.warning(
            "Contact message %s stored but not emailed: set PRIVACY_CONTACT_RECIPIENTS.",
            message.id,
        )
    db.session.commit()
    return redirect(url_for(".sent"))


@bp.route("/contact/sent")
def sent() -> str:
    return render_template("privacy/contact/sent.html")
