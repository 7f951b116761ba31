"""The blog's shop orders, and how they are exported and erased (P25, P29, P30).

This is the host side of the personal-data registry, written as any site would:
an exporter that yields a customer's orders, and an eraser that deletes what the
shop no longer needs but keeps invoices, which accounting law requires for ten
years, telling the requester so.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from flask_allcot_privacy import Erased, Subject
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import User, UTCDateTime

from . import db, privacy

#: Why invoices survive an erasure request; the requester is told this.
INVOICE_RETENTION_REASON = "kept 10 years for accounting law"


class Order(db.Model):
    """An order; the customer is a member, or a visitor known by email."""

    __tablename__ = "blog_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey(User.id, ondelete="SET NULL"), index=True
    )
    #: Lower-cased, like the extension's ``User.email_key``.
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    customer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    item: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    currency: Mapped[str] = mapped_column(sa.String(3), default="CHF")
    #: Set once the order is paid and invoiced; invoices are financial records.
    invoice_number: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    #: Delivery instructions: personal, and no part of the invoice.
    delivery_note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: Orders are financial records: ``flask privacy purge`` deletes them after
#: ``PRIVACY_RETAIN_FINANCIAL_RECORDS`` (10 years, P25), and not before.
privacy.financial_records("orders", Order.created_at)


def _customer_orders(subject: Subject) -> sa.ColumnElement[bool]:
    by_email = Order.email == subject.email
    if subject.user_id is None:
        return by_email
    return sa.or_(Order.user_id == subject.user_id, by_email)


@privacy.exporter("orders", "Orders")
def export_orders(subject: Subject) -> Iterator[dict[str, t.Any]]:
    """Every order of the customer, streamed."""
    query = (
        sa.select(Order)
        .where(_customer_orders(subject))
        .order_by(Order.id)
        .execution_options(yield_per=500)
    )
    for order in db.session.scalars(query):
        yield {
            "invoice_number": order.invoice_number,
            "created_at": order.created_at,
            "customer_name": order.customer_name,
            "email": order.email,
            "item": order.item,
            "amount": order.amount,
            "currency": order.currency,
            "delivery_note": order.delivery_note,
        }


@privacy.eraser("orders", addresses=lambda: sa.select(Order.email).distinct())
def erase_orders(subject: Subject) -> Erased:
    """Delete orders never invoiced; keep invoices, without their delivery notes."""
    mine = _customer_orders(subject)
    deleted = t.cast(
        sa.CursorResult[t.Any],
        db.session.execute(sa.delete(Order).where(mine, Order.invoice_number.is_(None))),
    ).rowcount
    cleared = t.cast(
        sa.CursorResult[t.Any],
        db.session.execute(
            sa.update(Order).where(mine, Order.delivery_note != "").values(delivery_note="")
        ),
    ).rowcount
    invoices = db.session.scalar(sa.select(sa.func.count()).where(mine)) or 0
    retained = [(f"{invoices} invoice(s)", INVOICE_RETENTION_REASON)] if invoices else []
    return Erased(removed=deleted + cleared, retained=retained)


#: Demo orders for ``init-db --demo``: a visitor customer with two invoices and a cart.
DEMO_ORDERS: list[dict[str, t.Any]] = [
    {
        "email": "ann@example.test",
        "customer_name": "Ann Example",
        "item": "Privacy by Design (paperback)",
        "amount": Decimal("29.00"),
        "invoice_number": "DEMO-2026-0001",
        "delivery_note": "Leave with the neighbour at number 12.",
    },
    {
        "email": "ann@example.test",
        "customer_name": "Ann Example",
        "item": "ALLCOT mug",
        "amount": Decimal("12.50"),
        "invoice_number": "DEMO-2026-0002",
    },
    {
        "email": "ann@example.test",
        "customer_name": "Ann Example",
        "item": "Cookie-consent stickers (in the cart, not paid)",
        "amount": Decimal("4.00"),
        "invoice_number": None,
        "delivery_note": "Ring twice.",
    },
]


def add_demo_orders() -> int:
    """Add the demo orders once (recognised by invoice number or item); returns how many."""
    existing = set(
        db.session.scalars(sa.select(Order.item).where(Order.email == "ann@example.test"))
    )
    added = 0
    for entry in DEMO_ORDERS:
        if entry["item"] not in existing:
            db.session.add(Order(**entry))
            added += 1
    return added
