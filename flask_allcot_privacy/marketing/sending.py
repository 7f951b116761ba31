"""``send_marketing``: one template to every current subscriber, through the outbox, in batches.

Subscribers are read in keyset-paginated batches (``id > last``, ``LIMIT`` the batch
size) and each batch is queued and committed before the next is read, so memory stays
flat however many subscribers there are. (A ``yield_per`` cursor would be closed by the
commit between batches.) Messages are delivered by ``flask privacy send-mail``, not
after the request or command that queued them.

Marketing templates live at ``privacy/email/marketing/<name>.txt`` (and ``.html``) and
extend ``privacy/email/marketing/layout.txt`` / ``layout.html``, which add the
unsubscribe footer (P22) and, when allowed, the tracking (P23).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import current_app, has_request_context, request, url_for
from jinja2 import TemplateNotFound

from .. import logsafe, outbox
from ..models import MarketingCampaign, OutboxMessage, Subscription
from ..state import current_db
from . import subscriptions, tracking

log = logsafe.logger(__name__)


class MissingUnsubscribeLink(LookupError):
    """A marketing template rendered without its unsubscribe link (P22)."""


def template_path(template: str) -> str:
    return f"privacy/email/marketing/{template}.txt"


def check_template(template: str) -> None:
    """Raise :class:`LookupError` with the path to create when the template does not exist."""
    if "/" in template or "\\" in template or template.startswith("."):
        raise LookupError(
            f"A marketing template is a plain name such as 'newsletter', not {template!r}."
        )
    try:
        current_app.jinja_env.get_template(template_path(template))
    except TemplateNotFound:
        raise LookupError(
            f"No marketing template {template!r}: create {template_path(template)} "
            "(and optionally .html) in your templates, extending "
            "privacy/email/marketing/layout.txt."
        ) from None


def _url_options() -> dict[str, t.Any]:
    """Absolute links in the configured scheme, https unless PREFERRED_URL_SCHEME says otherwise.

    RFC 8058 wants an https ``List-Unsubscribe``; in production set
    ``PREFERRED_URL_SCHEME = "https"`` and ``SERVER_NAME``.
    """
    secure = has_request_context() and request.is_secure
    scheme = "https" if secure else current_app.config.get("PREFERRED_URL_SCHEME") or "http"
    if scheme != "https":
        log.warning(
            "Marketing unsubscribe links use %s: set PREFERRED_URL_SCHEME='https' (RFC 8058).",
            scheme,
        )
    return {"_external": True, "_scheme": scheme}


def send_marketing(template: str, **context: t.Any) -> int:
    """Queue ``template`` for every current subscriber; returns how many were queued.

    Commits once per batch (``PRIVACY_MARKETING_BATCH_SIZE``).
    """
    check_template(template)
    session = current_db().session
    subscriptions.adopt_member_opt_ins()
    campaign = MarketingCampaign(template=template)
    session.add(campaign)
    session.commit()
    campaign_id = campaign.id
    url_options = _url_options()
    track = tracking.enabled()
    batch_size = current_app.config["PRIVACY_MARKETING_BATCH_SIZE"]
    queued, last_id = 0, 0
    while True:
        batch = session.execute(
            sa.select(Subscription.id, Subscription.email, Subscription.tracking_consent)
            .where(Subscription.status == "subscribed", Subscription.id > last_id)
            .order_by(Subscription.id)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        with subscriptions.vouched_for(row.email for row in batch):
            messages = [
                _compose_one(template, row, campaign_id, url_options, track, context)
                for row in batch
            ]
        # One flush a batch: SQLAlchemy sends the batch's rows as multi-row INSERTs
        # (a flush per message was a third of the time).
        session.add_all(messages)
        queued += len(batch)
        last_id = batch[-1].id
        session.execute(
            sa.update(MarketingCampaign)
            .where(MarketingCampaign.id == campaign_id)
            .values(queued=queued)
        )
        # Mass mail goes out with 'flask privacy send-mail', not at the end of this request:
        # composed rows are not handed to the request's after-response delivery.
        session.commit()
    return queued


def _compose_one(
    template: str,
    row: t.Any,
    campaign_id: int,
    url_options: dict[str, t.Any],
    track: bool,
    context: dict[str, t.Any],
) -> OutboxMessage:
    token = subscriptions.unsubscribe_token(row.id, row.email)
    unsubscribe_url = url_for("privacy_marketing.unsubscribe", token=token, **url_options)
    message = outbox.compose(
        f"marketing/{template}",
        row.email,
        category="marketing",
        headers={
            # RFC 2369 and RFC 8058: the mail provider's own "unsubscribe" button.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        **context,
        unsubscribe_url=unsubscribe_url,
        privacy_tracking=(
            tracking.context_for(row.id, campaign_id, url_options)
            if track and row.tracking_consent
            else None
        ),
    )
    parts = [message.body_text] + ([message.body_html] if message.body_html else [])
    if not all(unsubscribe_url in part for part in parts):
        raise MissingUnsubscribeLink(
            f"The marketing email {template!r} has no unsubscribe link in every part: make "
            f"{template_path(template)} (and .html) extend privacy/email/marketing/layout.txt "
            "(layout.html), or show {{ unsubscribe_url }} in its footer."
        )
    return message
