"""The example blog: its pages, init-db, the demo outbox and its own model on the same db."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from example_site import create_app, db
from example_site.models import Post
from flask_allcot_privacy.models import User

from .helpers import CookieCheckingClient, app_settings, soup


def _seed(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output


def test_init_db_is_idempotent(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db", "--demo"])
    second = runner.invoke(args=["init-db", "--demo"])
    assert "3 demo post(s) added" in first.output
    assert "0 demo post(s) added" in second.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 3


def test_home_lists_posts_and_post_page_shows_it(app: Flask, client: CookieCheckingClient) -> None:
    _seed(app)
    home = client.get("/")
    assert home.status_code == 200
    links = [a["href"] for a in soup(home).select(".site-post-card h2 a")]
    assert len(links) == 3
    post = client.get(links[0])
    assert post.status_code == 200
    assert soup(post).select_one("article h1").get_text()
    assert client.get("/posts/no-such-post").status_code == 404


def test_post_author_is_a_privacy_member(app: Flask, member: User) -> None:
    with app.app_context():
        db.session.add(Post(slug="mine", title="Mine", body="x", author_id=member.id))
        db.session.commit()
        post = db.session.scalar(sa.select(Post).where(Post.slug == "mine"))
        assert post.author.username == member.username
        fk = next(iter(Post.__table__.c.author_id.foreign_keys))
        assert fk.column.table.name == "privacy_user"


def test_outbox_is_shown_in_demo_mode_with_clickable_links(
    tmp_path: Path,
) -> None:
    member_email = "new@example.test"
    app = create_app({**app_settings(tmp_path), "DEMO_MAIL": True})
    app.test_client_class = CookieCheckingClient
    with app.app_context():
        db.create_all()
    client = app.test_client()
    response = client.submit("/account/register", {"username": "newbie", "email": member_email})
    assert response.status_code == 302
    outbox = client.get("/outbox")
    assert outbox.status_code == 200
    message = soup(outbox).select_one(".outbox-message")
    assert member_email in message.select_one(".outbox-message__to").get_text()
    link = message.select_one(".outbox-message__body a[href*='/account/set-password/']")
    assert link is not None, "the set-password link is clickable"
    assert client.get(link["href"]).status_code == 200


def test_outbox_is_hidden_outside_demo_mode(client: CookieCheckingClient) -> None:
    assert client.get("/outbox").status_code == 404


def test_demo_mode_shares_per_ip_limits_but_keeps_per_account_ones(tmp_path: Path) -> None:
    """Everyone reaches the demo from 127.0.0.1; guessing one account is still limited."""
    from example_site import DEMO_PER_IP_LIMITS

    demo = create_app({**app_settings(tmp_path), "DEMO_MAIL": True})
    for key, limit in DEMO_PER_IP_LIMITS.items():
        assert demo.config[key] == limit
    plain = create_app(app_settings(tmp_path))
    assert plain.config["PRIVACY_EMAIL_LIMIT_PER_IP"] == "20 per hour"
    for key in ("PRIVACY_LOGIN_LIMIT_PER_ACCOUNT", "PRIVACY_EMAIL_LIMIT_PER_ADDRESS"):
        assert demo.config[key] == plain.config[key]
