"""The accounts service hosts call (create, find, set a password), and the logged-in
test client hosts use in their own tests."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy import (
    AccountError,
    EmailTaken,
    PrivacyTestClient,
    User,
    UsernameTaken,
    create_member,
    find_by_email,
    find_by_username,
    outbox,
    set_password,
)
from flask_allcot_privacy.models import LoginSession, OutboxMessage

from .helpers import CookieCheckingClient, SMTPSink, field_error, links_in, soup


def _count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_create_member_from_an_import_script(app: Flask, smtp: SMTPSink) -> None:
    with app.test_request_context():
        user = create_member(" Ada.L ", "Ada@Example.test", send_link="welcome")
        db.session.commit()
        assert (user.username, user.username_key) == ("Ada.L", "ada.l")
        assert user.email_key == "ada@example.test"
        assert user.password_hash is None
        assert find_by_username("ADA.l") == user
        assert find_by_email(" ada@EXAMPLE.test") == user
        assert _count(OutboxMessage) == 1
    with app.test_request_context():
        outbox.deliver_due()
    [link] = [x for x in links_in(smtp.last_to("Ada@example.test")) if "set-password" in x]
    assert "/account/set-password/" in link


@pytest.mark.parametrize(
    ("username", "email", "field", "message"),
    [
        ("ab", "ok@example.test", "username", "Use 3 to 60 characters."),
        ("has space", "ok@example.test", "username", "Use only letters"),
        ("", "ok@example.test", "username", "Choose a username."),
        ("fine", "not-an-address", "email", "@-sign"),
        ("fine", "", "email", "Enter your email address."),
    ],
)
def test_the_rules_are_the_registration_form_s(
    app: Flask, username: str, email: str, field: str, message: str
) -> None:
    with app.test_request_context():
        with pytest.raises(AccountError) as error:
            create_member(username, email)
        assert error.value.field == field
        assert message in str(error.value)
        assert _count(User) == 0
    client = t.cast(CookieCheckingClient, app.test_client())
    page = client.submit("/account/register", {"username": username, "email": email})
    assert page.status_code == 400
    assert message in field_error(page, field), "the form shows the service's message"


def test_taken_names_and_addresses_are_refused_whatever_their_case(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    make_member("taken", email="taken@example.test")
    with app.test_request_context():
        with pytest.raises(UsernameTaken):
            create_member("TAKEN", "new@example.test")
        with pytest.raises(EmailTaken):
            create_member("newname", "TAKEN@example.test")
        assert _count(User) == 1


def test_a_weak_password_or_an_unknown_role_is_refused(app: Flask) -> None:
    with app.test_request_context():
        with pytest.raises(AccountError) as weak:
            create_member("weakling", "weak@example.test", password="password1234")
        assert weak.value.field == "password"
        with pytest.raises(AccountError) as role:
            create_member("rooted", "root@example.test", role="root")
        assert role.value.field == "role"
        assert _count(User) == 0


def test_set_password_ends_every_login(app: Flask, make_member: t.Callable[..., User]) -> None:
    member = make_member("changer")
    client = t.cast(PrivacyTestClient, app.test_client(user=member))
    assert client.get("/account/profile").status_code == 200
    with app.test_request_context():
        user = db.session.get(User, member.id)
        assert user is not None
        version = user.credential_version
        assert set_password(user, "another-long-passphrase-42") is False
        db.session.commit()
        assert user.credential_version == version + 1
    assert client.get("/account/profile").status_code == 302, "the old login ended"


def test_the_test_client_logs_in_with_a_real_server_side_session(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    member = make_member("tester")
    app.test_client_class = PrivacyTestClient
    with app.test_client(user=member) as client:
        page = client.get("/account/profile")
        assert page.status_code == 200
        assert soup(page).select_one("input[name=email]")["value"] == member.email  # type: ignore[index]
    with app.app_context():
        [row] = db.session.scalars(sa.select(LoginSession)).all()
        assert row.user_id == member.id
        assert row.revoked_at is None
        row.revoked_at = row.created_at
        db.session.commit()
    assert client.get("/account/profile").status_code == 302, "revoking the row logs out"


def test_the_test_client_can_remember(app: Flask, make_member: t.Callable[..., User]) -> None:
    member = make_member("keeper")
    client = t.cast(PrivacyTestClient, app.test_client(user=member, remember=True))
    response = client.get("/account/profile")
    assert response.status_code == 200
    assert any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))


def test_the_test_client_refuses_a_member_never_committed(app: Flask) -> None:
    with pytest.raises(LookupError, match="commit the member first"):
        app.test_client(user=User(id=999_999, username="ghost"))
