"""Smaller hardening of issue #14 (finding 7): lookalike addresses, long threads."""

from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import Comment, User

from ..helpers import CookieCheckingClient, field_error, soup

#: "reader" in full-width letters.
FULL_WIDTH_READER = "\uff52\uff45\uff41\uff44\uff45\uff52"
LOOKALIKES = [
    "re\u0430der@example.test",  # a Cyrillic a
    "r\u0435ader@example.test",  # a Cyrillic e
    "reader@ex\u0430mple.test",  # a Cyrillic a in the domain
    "\u03c1aypal@example.test",  # a Greek rho
]


@pytest.mark.parametrize("address", LOOKALIKES)
def test_a_lookalike_address_is_refused_at_registration(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], address: str
) -> None:
    response = client_as("anonymous").submit(
        "/account/register", {"username": "lookalike", "email": address}
    )
    assert response.status_code == 400
    assert "alphabets" in field_error(response, "email")
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "lookalike")) is None


def test_full_width_letters_are_the_ascii_address_they_look_like(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    """NFKC: the member's address in full-width letters is theirs, not a new account."""
    response = client_as("anonymous").submit(
        "/account/register",
        {"username": "newname", "email": FULL_WIDTH_READER + "@example.test"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "newname")) is None


def test_a_full_width_username_is_the_ascii_username(
    client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    response = client_as("anonymous").submit(
        "/account/register",
        {"username": FULL_WIDTH_READER, "email": "other@example.test"},
    )
    assert response.status_code == 400
    assert "taken" in field_error(response, "username")


@pytest.mark.parametrize("address", ["müller@example.test", "用户@example.test"])
def test_addresses_in_one_alphabet_are_welcome(
    client_as: t.Callable[[str], CookieCheckingClient], address: str
) -> None:
    response = client_as("anonymous").submit(
        "/account/register", {"username": "intl", "email": address}
    )
    assert response.status_code == 302


def test_a_thread_of_470_comments_is_shown_a_page_at_a_time(
    app: Flask, client_as: t.Callable[[str], CookieCheckingClient], seeded: dict[str, User]
) -> None:
    start = utcnow() - timedelta(days=1)
    with app.app_context():
        db.session.execute(
            sa.insert(Comment),
            [
                {
                    "target": "post:2",
                    "body": f"Comment number {n}",
                    "author_name": f"A{n}",
                    "created_at": start + timedelta(seconds=n),
                    "status": "approved",
                }
                for n in range(470)
            ],
        )
        db.session.commit()
    client = client_as("anonymous")
    per_page = app.config["PRIVACY_COMMENTS_PER_PAGE"]
    newest = client.get("/posts/cookies-explained")
    shown = soup(newest).select(".privacy-comment__body")
    assert 0 < len(shown) <= per_page
    assert "Comment number 469" in shown[-1].get_text()
    assert "470 comments" in soup(newest).select_one(".privacy-comments__title").get_text()
    older = soup(newest).select_one(".privacy-comments__pager a[rel=prev]")
    assert older is not None
    first = client.get("/posts/cookies-explained?comments_page=1")
    bodies = [b.get_text(strip=True) for b in soup(first).select(".privacy-comment__body")]
    assert bodies[0] == "Comment number 0"
    assert len(bodies) == per_page
    # A page number past the end, or nonsense, shows a real page.
    for query in ("comments_page=999", "comments_page=-3", "comments_page=x"):
        assert client.get(f"/posts/cookies-explained?{query}").status_code == 200
