"""A subscriber's data for the privacy requests: export and erasure, set-based; concurrency."""

from __future__ import annotations

import functools
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy.marketing.subscriptions import (
    erase_subscription,
    subscription_export_items,
)
from flask_allcot_privacy.models import MailEvent, Subscription, User

from .conftest import SERVER_DATABASE
from .helpers import CookieCheckingClient, SMTPSink, at_once, links_in, path_of
from .marketing_helpers import HTTPS, subscribe_visitor, subscription


@pytest.fixture
def extra_config() -> dict[str, t.Any]:
    return {**HTTPS, "PRIVACY_MAIL_TRACKING": True}


def _add_events(app: Flask, address: str, count: int) -> None:
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription).where(Subscription.email == address))
        assert row is not None
        for n in range(count):
            db.session.add(
                MailEvent(subscription_id=row.id, kind="click", url=f"https://x.test/{n}")
            )
        db.session.commit()


def test_export_lists_the_subscription_and_its_events(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink
) -> None:
    subscribe_visitor(client, smtp, "ann@example.test", tracking=True)
    _add_events(app, "ann@example.test", 2)
    with app.app_context():
        items = list(subscription_export_items("ANN@example.test"))
        assert list(subscription_export_items("nobody@example.test")) == []
    assert items[0]["kind"] == "marketing_subscription"
    assert items[0]["email"] == "ann@example.test"
    assert items[0]["status"] == "subscribed"
    assert items[0]["source"] == "newsletter_form"
    assert items[0]["tracking_consent"] is True
    assert isinstance(items[0]["opted_in_at"], str)
    assert [i["url"] for i in items[1:]] == ["https://x.test/0", "https://x.test/1"]


def test_erasure_removes_the_subscription_and_events_only_of_that_address(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, make_member: t.Callable[..., User]
) -> None:
    subscribe_visitor(client, smtp, "ann@example.test", tracking=True)
    subscribe_visitor(t.cast(CookieCheckingClient, app.test_client()), smtp, "bob@example.test")
    _add_events(app, "ann@example.test", 3)
    _add_events(app, "bob@example.test", 1)
    with app.app_context():
        removed = erase_subscription("Ann@Example.test")
        db.session.commit()
        assert removed == 4
        assert erase_subscription("ann@example.test") == 0
        remaining = db.session.scalars(sa.select(Subscription.email)).all()
        events = db.session.scalar(sa.select(sa.func.count()).select_from(MailEvent))
    assert remaining == ["bob@example.test"]
    assert events == 1


def test_a_members_subscription_follows_their_email_change(
    app: Flask, logged_in: CookieCheckingClient, smtp: SMTPSink
) -> None:
    logged_in.submit(
        "/account/profile",
        {
            "marketing_opt_in": True,
            "email": "new@example.test",
            "current_password": "correct-horse-battery-staple",
        },
        form_selector="form[action$='/account/profile']",
    )
    [link] = [u for u in links_in(smtp.last_to("new@example.test")) if "/confirm-email/" in u]
    logged_in.submit(path_of(link), form_selector="main form[method=post]")
    assert subscription(app, "reader@example.test") is None
    row = subscription(app, "new@example.test")
    assert row is not None
    assert row.status == "subscribed"
    assert row.user_id is not None


@pytest.mark.skipif(not SERVER_DATABASE, reason="concurrency is proven on PostgreSQL")
def test_concurrent_subscriptions_of_one_address_make_one_row(app: Flask, smtp: SMTPSink) -> None:
    """Eight requests at once for one address: one row, no error page."""
    app.config["PRIVACY_RATELIMIT_ENABLED"] = False
    clients = [t.cast(CookieCheckingClient, app.test_client()) for _ in range(8)]
    forms = []
    for each in clients:
        page = each.get("/privacy/subscribe")
        from .helpers import form_fields

        forms.append({**form_fields(page), "email": "ann@example.test"})

    def post(each: CookieCheckingClient, data: dict[str, str]) -> int:
        return each.post("/privacy/subscribe", data=data).status_code

    statuses = at_once([functools.partial(post, c, d) for c, d in zip(clients, forms, strict=True)])
    assert statuses == [302] * len(clients)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 1


def test_a_hosts_csrf_protect_lets_the_one_click_post_through(tmp_path: t.Any) -> None:
    """RFC 8058: with Flask-WTF's CSRFProtect on the host, the one-click POST still works."""
    from flask_mail import Mail
    from flask_sqlalchemy import SQLAlchemy
    from flask_wtf.csrf import CSRFProtect

    from flask_allcot_privacy import Privacy
    from flask_allcot_privacy.marketing import subscriptions

    from .helpers import FAST_HASHING

    host = Flask("host")
    host.config.update(
        SECRET_KEY="host-secret",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite'}",
        SERVER_NAME="host.test",
        PRIVACY_EMAIL_ALLOW_TEST_DOMAINS=True,
        **FAST_HASHING,
    )
    host_db, host_mail = SQLAlchemy(), Mail()
    host_db.init_app(host)
    host_mail.init_app(host)
    CSRFProtect(host)
    Privacy().init_app(host, db=host_db, mail=host_mail)
    with host.test_request_context():
        host_db.create_all()
        row = subscriptions.request_by_visitor("ann@example.test")
        host_db.session.flush()
        subscriptions.confirm(row, tracking=False)
        host_db.session.commit()
        token = subscriptions.unsubscribe_token(row.id, row.email)
    client = host.test_client()
    assert client.post("/privacy/subscribe", data={"email": "x@example.test"}).status_code == 400
    response = client.post(f"/privacy/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with host.app_context():
        assert host_db.session.scalar(sa.select(Subscription.status)) == "unsubscribed"
        host_db.engine.dispose()


def test_a_privacy_request_exports_and_erases_a_visitors_subscription_P20_P30(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, tmp_path: t.Any
) -> None:
    """The rights registry's marketing exporter and eraser cover the subscription table."""
    import json
    import zipfile

    from flask_allcot_privacy.rights.erasure import erase
    from flask_allcot_privacy.rights.export import write_export
    from flask_allcot_privacy.rights.subject import Subject

    subscribe_visitor(client, smtp, "cy@example.test", tracking=True)
    _add_events(app, "cy@example.test", 2)
    with app.app_context():
        write_export(Subject.for_email("cy@example.test"), tmp_path / "cy.zip")
    with zipfile.ZipFile(tmp_path / "cy.zip") as archive:
        data = json.loads(archive.read("export.json"))
    (group,) = [g for g in data["groups"] if g["name"] == "marketing"]
    kinds = [item["kind"] for item in group["items"]]
    assert kinds == ["marketing_subscription", "marketing_click", "marketing_click"]
    with app.app_context():
        erase(Subject.for_email("cy@example.test"))
        db.session.commit()
    assert subscription(app, "cy@example.test") is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MailEvent)) == 0
