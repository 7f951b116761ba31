"""The exporter and eraser registry, as the example site's shop uses it (P25, P29, P30)."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db, privacy
from example_site.orders import INVOICE_RETENTION_REASON, Order
from flask_allcot_privacy.rights.erasure import ErasureError, erase, replay_erasures
from flask_allcot_privacy.rights.export import write_export
from flask_allcot_privacy.rights.registry import erasers_for, exporters_for
from flask_allcot_privacy.rights.subject import Subject

from .conftest import make_host_app

CUSTOMER = "ann@example.test"


@pytest.fixture
def shop(app: Flask) -> Flask:
    """The example site with its demo content, orders included."""
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    assert "3 demo order(s) added" in result.output
    again = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert "demo order" not in again.output, "demo orders are added once"
    return app


def _orders(app: Flask) -> list[tuple[str | None, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Order.invoice_number, Order.delivery_note).order_by(Order.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_host_orders_are_exported_with_the_built_in_data_P29(shop: Flask, tmp_path: Path) -> None:
    with shop.app_context():
        summary = write_export(Subject.for_email(CUSTOMER), tmp_path / "ann.zip")
    assert ("Orders", 3) in summary.groups
    with zipfile.ZipFile(tmp_path / "ann.zip") as archive:
        data = json.loads(archive.read("export.json"))
    (orders,) = [g for g in data["groups"] if g["name"] == "orders"]
    assert orders["title"] == "Orders"
    assert [o["amount"] for o in orders["items"]] == ["29.00", "12.50", "4.00"], "Decimal as text"
    assert orders["items"][0]["invoice_number"] == "DEMO-2026-0001"


def test_orders_eraser_keeps_invoices_with_the_reason_P25_P30(shop: Flask) -> None:
    with shop.app_context():
        report = erase(Subject.for_email(CUSTOMER))
    assert _orders(shop) == [("DEMO-2026-0001", ""), ("DEMO-2026-0002", "")], (
        "the unpaid cart is deleted, invoices kept without their delivery notes"
    )
    assert ("2 invoice(s)", INVOICE_RETENTION_REASON) in report.retained
    assert INVOICE_RETENTION_REASON == "kept 10 years for accounting law"
    assert dict(report.erased)["Orders"] == 2, "one cart deleted, one delivery note cleared"
    with shop.app_context():
        again = erase(Subject.for_email(CUSTOMER))
    assert "Orders" not in dict(again.erased)
    assert ("2 invoice(s)", INVOICE_RETENTION_REASON) in again.retained


def test_replay_finds_people_only_a_host_table_knows(shop: Flask) -> None:
    """Ann has no account: the orders eraser's ``addresses`` query lets replay find her."""
    with shop.app_context():
        erase(Subject.for_email(CUSTOMER))
        db.session.add(Order(email=CUSTOMER, item="restored cart", amount=Decimal("1.00")))
        db.session.commit()
        assert replay_erasures() == 1
    assert [note for number, note in _orders(shop) if number is None] == []


def test_every_app_gets_the_built_ins_and_only_its_own_host_data(tmp_path: Path) -> None:
    host = make_host_app(tmp_path)
    names = [e.name for e in exporters_for(host)]
    assert names[:3] == ["account", "marketing", "login_sessions"]
    assert {"comments", "contact_messages", "consent", "outbox", "privacy_requests"} <= set(names)
    assert "orders" not in names
    assert [e.name for e in erasers_for(host)][-1] == "account", "the account is erased last"


def test_names_are_checked_when_registering() -> None:
    with pytest.raises(ValueError, match="already registered"):
        privacy.exporter("orders", "Orders again")(lambda subject: iter(()))
    with pytest.raises(ValueError, match="already registered"):
        privacy.eraser("comments")(lambda subject: None)
    with pytest.raises(ValueError, match="identifier"):
        privacy.exporter("my orders", "Orders")(lambda subject: iter(()))


def test_an_eraser_must_say_what_it_did(app: Flask) -> None:
    privacy.eraser("sloppy")(lambda subject: 3)
    try:
        with app.app_context(), pytest.raises(ErasureError, match=r"'sloppy'.*not an Erased"):
            erase(Subject.for_email(CUSTOMER))
    finally:
        del privacy.personal_data.erasers["sloppy"]
