"""Subscriptions: who may receive marketing email, since when, from where, and until when.

A :class:`~..models.Subscription` row per address is the record of the opt-in (time and
source) and of the opt-out (time and how). Only rows with status ``subscribed`` receive
marketing email (P20): visitors get there by confirming the emailed link (double opt-in),
members by setting their password from the emailed link (registration) or by ticking the
box on their profile. ``User.marketing_opt_in`` mirrors a member's row for the forms.
Functions here add to ``db.session``; the caller commits.
"""

from __future__ import annotations

import contextlib
import typing as t
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from email.utils import parseaddr

import sqlalchemy as sa

from .. import tokens
from ..clock import utcnow
from ..models import MailEvent, Subscription, User
from ..state import current_db

#: Where an opt-in came from.
SOURCES = ("registration", "profile", "newsletter_form", "legacy")
#: How an opt-out was made.
OPT_OUT_WAYS = ("link", "one-click", "profile")


class NotSubscribed(ValueError):
    """The outbox refused a marketing message for an address that is not a current subscriber.

    Marketing email goes only to those who opted in (P20). Send it with
    ``privacy.send_marketing()``; account, request, breach and policy notices are
    ``category="system"`` mail, which is always sent.
    """

    def __init__(self, addresses: Iterable[str]) -> None:
        self.addresses = sorted(addresses)
        super().__init__(
            f"Refused to queue marketing mail for {len(self.addresses)} recipient(s) who are not "
            "current subscribers. Use privacy.send_marketing(), which sends to subscribers only, "
            "or category='system' for mail every member must get."
        )


def email_key(address: str) -> str:
    """The form an address is stored and compared in: the bare address, lower-cased."""
    return (parseaddr(address)[1] or address).strip().lower()


def find(address: str) -> Subscription | None:
    return current_db().session.scalar(
        sa.select(Subscription).where(Subscription.email == email_key(address))
    )


#: Addresses a send in progress read as ``subscribed`` in this very transaction.
_vouched: ContextVar[frozenset[str]] = ContextVar(
    "privacy_vouched_subscribers", default=frozenset()
)


@contextlib.contextmanager
def vouched_for(addresses: Iterable[str]) -> Iterator[None]:
    """Let :func:`require_subscribed` trust a batch the caller just read as subscribed.

    ``send_marketing`` selects a batch of current subscribers and queues their messages
    in the same transaction; checking each again would cost a query per message.
    """
    reset = _vouched.set(frozenset(email_key(a) for a in addresses))
    try:
        yield
    finally:
        _vouched.reset(reset)


def require_subscribed(recipients: Iterable[str]) -> None:
    """Raise :class:`NotSubscribed` unless every recipient is a current subscriber (P20)."""
    keys = {email_key(r) for r in recipients}
    unchecked = keys - _vouched.get()
    if not unchecked:
        return
    found = set(
        current_db().session.scalars(
            sa.select(Subscription.email).where(
                Subscription.email.in_(unchecked), Subscription.status == "subscribed"
            )
        )
    )
    if unchecked - found:
        raise NotSubscribed(unchecked - found)


def _row_for(address: str, user_id: int | None) -> Subscription:
    """The address's row, a new pending one if it has none (added to the session)."""
    row = find(address)
    if row is None:
        row = Subscription(email=email_key(address), status="pending")
        current_db().session.add(row)
    if user_id is not None:
        row.user_id = user_id
    return row


def _mirror_on_member(row: Subscription) -> None:
    """Keep ``User.marketing_opt_in`` (what the profile shows) in step with the row."""
    if row.user_id is None:
        return
    user = current_db().session.get(User, row.user_id)
    if user is None:
        return
    # A registration opt-in waiting for its set-password link is the member's choice too.
    wanted = row.status == "subscribed" or (row.status, row.source) == ("pending", "registration")
    if user.marketing_opt_in != wanted:
        user.marketing_opt_in = wanted
        user.marketing_opt_in_at = row.opted_in_at if wanted else None


def _opt_in(row: Subscription, source: str, *, confirmed: bool) -> None:
    now = utcnow()
    row.source = source
    row.opted_in_at = now
    row.status = "subscribed" if confirmed else "pending"
    row.confirmed_at = now if confirmed else None
    if confirmed:
        row.opted_out_at, row.opted_out_how = None, ""


def record_registration(user: User, *, opted_in: bool) -> None:
    """A new member's registration choice (``marketing_opt_in``, never pre-checked).

    The opt-in stays ``pending`` until the member sets a password from the emailed
    link, which proves the address: that is the registration's double opt-in.
    """
    existing = find(user.email)
    if not opted_in:
        if existing is not None:
            existing.user_id = user.id
            _mirror_on_member(existing)
        return
    row = _row_for(user.email, user.id)
    if row.status != "subscribed":
        _opt_in(row, "registration", confirmed=False)
    _mirror_on_member(row)


def confirm_by_password_link(user: User) -> None:
    """The member used a set-password link: a pending registration opt-in is confirmed."""
    row = find(user.email)
    if row is not None and row.status == "pending" and row.source == "registration":
        row.status, row.confirmed_at = "subscribed", utcnow()
        row.opted_out_at, row.opted_out_how = None, ""


def record_member_choice(user: User, opted_in: bool) -> None:
    """The member ticked or unticked ``marketing_opt_in`` on the profile.

    A logged-in member's address was proven by the link that set their password, so
    ticking subscribes at once.
    """
    row = _row_for(user.email, user.id)
    if opted_in and row.status != "subscribed":
        _opt_in(row, "profile", confirmed=True)
    elif not opted_in and row.status != "unsubscribed":
        mark_unsubscribed(row, "profile")
    _mirror_on_member(row)


def request_by_visitor(address: str) -> Subscription:
    """The newsletter form: a pending row (a new confirmation) unless already subscribed."""
    row = _row_for(address, _member_id(address))
    if row.status != "subscribed":
        _opt_in(row, "newsletter_form", confirmed=False)
    return row


def _member_id(address: str) -> int | None:
    return current_db().session.scalar(
        sa.select(User.id).where(User.email_key == email_key(address))
    )


def confirm_token(row: Subscription) -> str:
    """The double opt-in link's token: only the latest request's link works."""
    assert row.opted_in_at is not None
    return tokens.make(
        tokens.CONFIRM_SUBSCRIPTION,
        {"sid": row.id, "stamp": tokens.stamp(row.email, row.opted_in_at.isoformat())},
    )


def for_confirm_token(token: str) -> Subscription:
    """The row a confirmation link is for; :class:`~..tokens.TokenError` if it cannot be used."""
    payload = tokens.read(tokens.CONFIRM_SUBSCRIPTION, token)
    row = current_db().session.get(Subscription, payload.get("sid"))
    if row is None or row.opted_in_at is None:
        raise tokens.TokenInvalid()
    tokens.check_stamp(payload, row.email, row.opted_in_at.isoformat())
    return row


def confirm(row: Subscription, *, tracking: bool) -> None:
    """Double opt-in done: the address receives marketing email from now on."""
    now = utcnow()
    row.status, row.confirmed_at = "subscribed", now
    row.opted_out_at, row.opted_out_how = None, ""
    set_tracking(row, tracking)
    _mirror_on_member(row)


def set_tracking(row: Subscription, consent: bool) -> None:
    """Record the subscriber's answer on open and click tracking (P23), with its time."""
    if row.tracking_consent != consent or row.tracking_consent_at is None:
        row.tracking_consent, row.tracking_consent_at = consent, utcnow()


def unsubscribe_token(subscription_id: int, email: str) -> str:
    """The long-lived token of the unsubscribe link, bound to the row and its address."""
    return tokens.make(tokens.UNSUBSCRIBE, {"sid": subscription_id, "stamp": tokens.stamp(email)})


def for_unsubscribe_token(token: str) -> Subscription | None:
    """The row an unsubscribe link is for, or None when no row holds that address any more.

    An invalid or expired token raises :class:`~..tokens.TokenError`.
    """
    payload = tokens.read(tokens.UNSUBSCRIBE, token)
    row = current_db().session.get(Subscription, payload.get("sid"))
    if row is None or payload.get("stamp") != tokens.stamp(row.email):
        return None
    return row


def mark_unsubscribed(row: Subscription, how: str) -> bool:
    """Opt the row out, recording when and how; False when it already was (idempotent)."""
    if how not in OPT_OUT_WAYS:
        raise ValueError(f"how must be one of {OPT_OUT_WAYS}, not {how!r}.")
    if row.status == "unsubscribed":
        return False
    row.status, row.opted_out_at, row.opted_out_how = "unsubscribed", utcnow(), how
    _mirror_on_member(row)
    return True


def follow_email_change(user: User, old_email: str) -> None:
    """A member confirmed a new address: their subscription moves with them."""
    session = current_db().session
    row = find(old_email)
    if row is None or row.user_id != user.id:
        return
    other = find(user.email)
    if other is not None and other is not row:
        session.delete(other)  # the member's own, later choice wins
        session.flush()
    row.email = email_key(user.email)


def adopt_member_opt_ins() -> int:
    """Give members who opted in before subscriptions existed a row, set-based.

    Only members who set a password (which proved the address) are adopted, with
    source ``legacy``.
    """
    now = utcnow()
    has_row = sa.exists().where(
        sa.or_(Subscription.user_id == User.id, Subscription.email == User.email_key)
    )
    chosen = sa.select(
        User.email_key,
        User.id,
        sa.literal("subscribed"),
        sa.func.coalesce(User.marketing_opt_in_at, User.created_at),
        sa.literal("legacy"),
        User.password_set_at,
        sa.literal(now, Subscription.created_at.type),
    ).where(
        User.marketing_opt_in.is_(True),
        User.erased_at.is_(None),
        User.password_set_at.is_not(None),
        ~has_row,
    )
    result = current_db().session.execute(
        sa.insert(Subscription).from_select(
            ["email", "user_id", "status", "opted_in_at", "source", "confirmed_at", "created_at"],
            chosen,
        )
    )
    return max(t.cast(sa.CursorResult[t.Any], result).rowcount, 0)


# --- the person's data, for the privacy-request exporters and erasers ---

EXPORTED_FIELDS = (
    "email",
    "status",
    "source",
    "opted_in_at",
    "confirmed_at",
    "opted_out_at",
    "opted_out_how",
    "tracking_consent",
    "tracking_consent_at",
    "created_at",
)


def subscription_export_items(email: str) -> Iterator[dict[str, t.Any]]:
    """The address's subscription, then each tracked open or click, streamed."""
    session = current_db().session
    row = find(email)
    if row is None:
        return
    yield {
        "kind": "marketing_subscription",
        **{name: _plain(getattr(row, name)) for name in EXPORTED_FIELDS},
    }
    events = (
        sa.select(MailEvent)
        .where(MailEvent.subscription_id == row.id)
        .order_by(MailEvent.id)
        .execution_options(yield_per=500)
    )
    for event in session.scalars(events):
        yield {
            "kind": f"marketing_{event.kind}",
            "campaign_id": event.campaign_id,
            "url": event.url,
            "created_at": _plain(event.created_at),
        }


def erase_subscription(email: str) -> int:
    """Delete the address's subscription and tracking events, set-based; rows removed."""
    session = current_db().session
    key = email_key(email)
    ids = sa.select(Subscription.id).where(Subscription.email == key)
    events = session.execute(sa.delete(MailEvent).where(MailEvent.subscription_id.in_(ids)))
    rows = session.execute(sa.delete(Subscription).where(Subscription.email == key))
    session.execute(
        sa.update(User)
        .where(User.email_key == key)
        .values(marketing_opt_in=False, marketing_opt_in_at=None)
    )
    return sum(t.cast(sa.CursorResult[t.Any], r).rowcount for r in (events, rows))


def _plain(value: t.Any) -> t.Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
