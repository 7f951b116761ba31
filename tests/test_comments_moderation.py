"""Moderation: none, first_time, all; a held comment shown to its author; the staff queue."""

from __future__ import annotations

import typing as t
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from example_site import db
from example_site.models import Post
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import AuditEvent, Comment, User

from .helpers import PASSWORD, CookieCheckingClient, log_in, soup

FORM = "form.privacy-comment-form"
VISITOR = {
    "author_name": "Ann Example",
    "author_email": "ann.private@example.test",
    "author_url": "",
    "body": "A first comment.",
}
SECRET_IP = "198.51.100.77"
SECRET_UA = "SecretBrowser/9.1 (marker-ua-5f2c)"


@pytest.fixture
def moderation() -> str:
    """Parametrize ``moderation`` to choose PRIVACY_COMMENT_MODERATION."""
    return "all"


@pytest.fixture
def config(config: dict[str, t.Any], moderation: str) -> dict[str, t.Any]:
    return {**config, "PRIVACY_COMMENT_MODERATION": moderation}


@pytest.fixture
def post_url(app: Flask) -> str:
    with app.app_context():
        db.session.add(Post(slug="hello", title="Hello", body="The post."))
        db.session.commit()
    return "/posts/hello"


@pytest.fixture
def officer(app: Flask, make_member: t.Callable[..., User]) -> CookieCheckingClient:
    make_member("olivia", role="privacy_officer")
    client = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(client, "olivia", PASSWORD).status_code == 302
    return client


def fresh_client(app: Flask) -> CookieCheckingClient:
    return t.cast(CookieCheckingClient, app.test_client())


def comment(client: CookieCheckingClient, url: str, **changes: t.Any) -> t.Any:
    return client.submit(
        url,
        {**VISITOR, **changes},
        form_selector=FORM,
        environ_base={"REMOTE_ADDR": SECRET_IP},
        headers={"User-Agent": SECRET_UA},
    )


def statuses(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Comment.status).order_by(Comment.id)))


def shown_bodies(client: CookieCheckingClient, url: str) -> list[str]:
    page = soup(client.get(url))
    return [b.get_text(strip=True) for b in page.select(".privacy-comment__body")]


# -- Modes ---------------------------------------------------------------------------


@pytest.mark.parametrize("moderation", ["none"])
def test_without_moderation_comments_are_published_at_once(
    app: Flask, client: CookieCheckingClient, post_url: str
) -> None:
    response = comment(client, post_url)
    assert "privacy_comment" not in response.headers["Location"]
    assert statuses(app) == ["approved"]
    assert shown_bodies(fresh_client(app), post_url) == [VISITOR["body"]]


def test_with_all_every_comment_waits_and_is_hidden_from_others(
    app: Flask, client: CookieCheckingClient, post_url: str
) -> None:
    comment(client, post_url)
    comment(client, post_url, body="Another.")
    assert statuses(app) == ["held", "held"]
    assert shown_bodies(fresh_client(app), post_url) == []
    # The comment count shows published comments only.
    heading = soup(fresh_client(app).get(post_url)).select_one(".privacy-comments__title")
    assert heading.get_text(strip=True) == "0 comments"


def test_with_all_a_privacy_officers_own_comment_is_published(
    app: Flask, officer: CookieCheckingClient, post_url: str
) -> None:
    officer.submit(post_url, {"body": "Moderators are trusted."}, form_selector=FORM)
    assert statuses(app) == ["approved"]


@pytest.mark.parametrize("moderation", ["first_time"])
def test_first_time_holds_only_authors_without_an_approved_comment(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, post_url: str
) -> None:
    comment(client, post_url)
    assert statuses(app) == ["held"]
    comment(client, post_url, body="Still waiting for my first.")
    assert statuses(app) == ["held", "held"]
    with app.app_context():
        first_id = db.session.scalar(sa.select(sa.func.min(Comment.id)))
    officer.submit("/staff/comments", form_selector=f"form[action$='/comments/{first_id}/approve']")
    # The same address in another case is the same author.
    comment(client, post_url, author_email="Ann.Private@example.test", body="Trusted now.")
    comment(client, post_url, author_email="someone.else@example.test", body="New here.")
    assert statuses(app) == ["approved", "held", "approved", "held"]


@pytest.mark.parametrize("moderation", ["first_time"])
def test_first_time_goes_by_the_member_account(
    app: Flask,
    logged_in: CookieCheckingClient,
    member: User,
    officer: CookieCheckingClient,
    post_url: str,
) -> None:
    logged_in.submit(post_url, {"body": "First."}, form_selector=FORM)
    assert statuses(app) == ["held"], "a member's first comment waits too"
    assert shown_bodies(fresh_client(app), post_url) == []
    with app.app_context():
        first = db.session.scalar(sa.select(Comment))
        first.status = "approved"
        db.session.commit()
    logged_in.submit(post_url, {"body": "Second."}, form_selector=FORM)
    assert statuses(app) == ["approved", "approved"]


def test_with_all_a_members_comments_wait_even_after_one_was_approved(
    app: Flask, logged_in: CookieCheckingClient, post_url: str
) -> None:
    logged_in.submit(post_url, {"body": "First."}, form_selector=FORM)
    assert statuses(app) == ["held"]
    with app.app_context():
        db.session.scalar(sa.select(Comment)).status = "approved"
        db.session.commit()
    logged_in.submit(post_url, {"body": "Second."}, form_selector=FORM)
    assert statuses(app) == ["approved", "held"]
    assert shown_bodies(fresh_client(app), post_url) == ["First."]


# -- The held comment, shown to its author only --------------------------------------


def test_the_author_sees_the_held_comment_through_the_signed_link_alone(
    app: Flask, client: CookieCheckingClient, post_url: str
) -> None:
    response = comment(client, post_url)
    link = response.headers["Location"]
    assert parse_qs(urlsplit(link).query)["privacy_comment"]
    # No cookie needed: a browser with none (another device, cookies cleared) sees it too.
    page = fresh_client(app).get(link)
    held = soup(page).select_one(".privacy-comment--held")
    assert held is not None
    assert held.select_one(".privacy-comment__body").get_text(strip=True) == VISITOR["body"]
    assert "awaiting moderation" in held.select_one(".privacy-comment__held").get_text()
    html = page.get_data(as_text=True)
    for secret in (VISITOR["author_email"], SECRET_IP, SECRET_UA):
        assert secret not in html
    # The address carries the token: no cache keeps the page, no link leaks it.
    assert "no-store" in page.headers["Cache-Control"]
    assert page.headers["Referrer-Policy"] == "same-origin"
    # Without the link, nobody sees it.
    assert shown_bodies(fresh_client(app), post_url) == []


def test_a_tampered_or_expired_held_link_shows_nothing(
    app: Flask, client: CookieCheckingClient, post_url: str
) -> None:
    link = comment(client, post_url).headers["Location"]
    token = parse_qs(urlsplit(link).query)["privacy_comment"][0]
    assert shown_bodies(fresh_client(app), f"{post_url}?privacy_comment={token}x") == []
    assert shown_bodies(fresh_client(app), f"/comments/other:1?privacy_comment={token}") == []
    with time_machine.travel(utcnow() + timedelta(days=31)):
        assert shown_bodies(fresh_client(app), link) == []


def test_once_approved_the_comment_is_public_and_the_link_shows_it_once(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, post_url: str
) -> None:
    link = comment(client, post_url).headers["Location"]
    with app.app_context():
        held = db.session.scalar(sa.select(Comment))
        held.status = "approved"
        db.session.commit()
    assert shown_bodies(fresh_client(app), link) == [VISITOR["body"]]
    assert shown_bodies(fresh_client(app), post_url) == [VISITOR["body"]]


# -- The staff queue -----------------------------------------------------------------


def test_the_queue_needs_a_privacy_officer(
    app: Flask, make_member: t.Callable[..., User], client: CookieCheckingClient
) -> None:
    anonymous = client.get("/staff/comments")
    assert anonymous.status_code == 302
    assert urlsplit(anonymous.headers["Location"]).path == "/account/login"
    make_member("sam", role="staff")
    log_in(client, "sam", PASSWORD)
    assert client.get("/staff/comments").status_code == 403
    with app.app_context():
        db.session.add(Comment(target="post:1", body="x", status="held"))
        db.session.commit()
    assert client.post("/staff/comments/1/approve").status_code == 403
    assert statuses(app) == ["held"]


def test_the_queue_shows_name_email_and_text_but_not_ip_or_browser(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, post_url: str
) -> None:
    """P10/P33: staff see what they need to judge a comment, and no more."""
    comment(client, post_url, body="Please <b>approve</b> me.")
    page = officer.get("/staff/comments")
    assert page.status_code == 200
    assert "no-store" in page.headers["Cache-Control"]
    item = soup(page).select_one(".privacy-moderation .privacy-comment")
    assert item.select_one(".privacy-comment__author").get_text(strip=True) == "Ann Example"
    assert item.select_one(".privacy-moderation__email").get_text() == VISITOR["author_email"]
    assert item.select_one(".privacy-comment__body").get_text() == "Please <b>approve</b> me."
    html = page.get_data(as_text=True)
    assert SECRET_IP not in html
    assert SECRET_UA not in html
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["comments.moderation_view"]


def test_approving_publishes_and_is_audited(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, post_url: str
) -> None:
    comment(client, post_url)
    done = officer.submit("/staff/comments", form_selector="form[action$='/approve']")
    assert done.status_code == 302
    assert statuses(app) == ["approved"]
    assert shown_bodies(fresh_client(app), post_url) == [VISITOR["body"]]
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "comment.approve")
        )
        assert event is not None
        assert "comment=1" in event.detail
        officer_id = db.session.scalar(sa.select(User.id).where(User.username == "olivia"))
        assert event.actor_id == officer_id
    queue = soup(officer.get(done.headers["Location"]))
    assert "approved" in queue.select_one(".privacy-flash").get_text()
    assert queue.select(".privacy-moderation .privacy-comment") == []


def test_deleting_removes_the_comment_and_is_audited(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, post_url: str
) -> None:
    comment(client, post_url)
    officer.submit("/staff/comments", form_selector="form[action$='/delete']")
    assert statuses(app) == []
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "comment.delete" in actions


def test_actions_need_post_and_the_csrf_token(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, post_url: str
) -> None:
    comment(client, post_url)
    assert officer.get("/staff/comments/1/approve").status_code == 405
    assert officer.post("/staff/comments/1/approve").status_code == 400
    assert officer.post("/staff/comments/1/delete").status_code == 400
    assert statuses(app) == ["held"]


@pytest.mark.parametrize("action", ["approve", "delete"])
def test_an_id_too_big_for_the_column_is_not_found(
    app: Flask,
    client: CookieCheckingClient,
    officer: CookieCheckingClient,
    post_url: str,
    action: str,
) -> None:
    """2**63 overflows a 64-bit id: the route refuses it (404) before any query (no 500)."""
    comment(client, post_url)
    queue = officer.get("/staff/comments")
    token = soup(queue).select_one("form[action$='/approve'] input[name=csrf_token]")["value"]
    huge = officer.post(f"/staff/comments/{2**63}/{action}", data={"csrf_token": token})
    assert huge.status_code == 404
    assert statuses(app) == ["held"]


def test_a_comment_already_handled_is_reported_not_an_error(
    app: Flask, client: CookieCheckingClient, officer: CookieCheckingClient, post_url: str
) -> None:
    comment(client, post_url)
    queue = officer.get("/staff/comments")
    token = soup(queue).select_one("form[action$='/approve'] input[name=csrf_token]")["value"]
    assert officer.post("/staff/comments/1/delete", data={"csrf_token": token}).status_code == 302
    again = officer.post("/staff/comments/1/approve", data={"csrf_token": token})
    assert again.status_code == 302
    assert "already handled" in soup(officer.get("/staff/comments")).get_text()
