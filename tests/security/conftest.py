"""Fixtures for the attack suite: a site with demo posts, a member of each role, a comment."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from example_site import db
from example_site.models import Post
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import (
    ROLES,
    BreachIncident,
    Comment,
    PolicyVersion,
    PrivacyRequest,
    User,
)

from ..helpers import CookieCheckingClient, log_in

#: Who asks: nobody logged in, a member without a role, then each role.
WHO = ("anonymous", "member", *ROLES)


@pytest.fixture
def seeded(app: Flask, make_member: t.Callable[..., User]) -> dict[str, User]:
    """Demo posts, one approved comment, and a member for ``member`` and each role."""
    with app.app_context():
        for slug in ("we-value-your-privacy", "cookies-explained"):
            db.session.add(Post(slug=slug, title=slug.title(), body="The post."))
        db.session.commit()
    people = {"member": make_member("reader")}
    for role in ROLES:
        people[role] = make_member(f"the-{role.replace('_', '-')}", role=role)
    with app.app_context():
        db.session.add(
            Comment(
                target="post:1",
                body="First!",
                author_name="Ann",
                author_email="ann@example.test",
                ip_address="192.0.2.1",
                user_agent="test",
                status="approved",
            )
        )
        # A row behind each id a staff URL takes (the sample id is 1), so a forged POST
        # reaches its form's CSRF check instead of stopping at "not found".
        db.session.add(
            PrivacyRequest(
                email="asker@example.test",
                email_key="asker@example.test",
                request_type="export",
                state="confirmed",
                deadline=utcnow().date(),
            )
        )
        db.session.add(BreachIncident(discovered_at=utcnow(), summary="A laptop was lost."))
        db.session.add(
            PolicyVersion(number=1, summary="First.", text="", digest="d", cookie_digest="c")
        )
        db.session.commit()
    return people


@pytest.fixture
def client_as(app: Flask, seeded: dict[str, User]) -> t.Callable[[str], CookieCheckingClient]:
    """A fresh client logged in as ``who`` (one of :data:`WHO`)."""

    def make(who: str) -> CookieCheckingClient:
        client = t.cast(CookieCheckingClient, app.test_client())
        if who != "anonymous":
            response = log_in(client, seeded[who].username)
            assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make
