"""The staff home and directory: four fields and nothing more, searched and paged (P10)."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from bs4 import BeautifulSoup
from flask import Flask

from example_site import db
from flask_allcot_privacy.clock import utcnow
from flask_allcot_privacy.models import AuditEvent, Comment, User
from flask_allcot_privacy.staff import directory, screens

from .helpers import CookieCheckingClient, field_error, log_in, soup

FOUR_HEADINGS = ["Username", "First name", "Last name", "Email"]


def _staff_client(app: Flask, make_member: t.Callable[..., User], role: str = "staff") -> t.Any:
    make_member(f"desk-{role}".replace("_", "-"), role=role)
    client = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(client, f"desk-{role}".replace("_", "-")).status_code == 302
    return client


def _table(response: t.Any) -> tuple[list[str], list[list[str]]]:
    table = soup(response).select_one("table.privacy-staff-directory")
    assert table is not None, "no directory table"
    headings = [th.get_text(strip=True) for th in table.select("thead th")]
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in table.select("tbody tr")]
    return headings, rows


def _everything_in(html: BeautifulSoup) -> str:
    """The page's text and every attribute value, where a leak could hide."""
    parts = [html.get_text(" ")]
    for tag in html.find_all(True):
        for value in tag.attrs.values():
            parts.append(" ".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


def test_directory_shows_only_the_four_fields_of_a_full_profile(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P10: staff see username, first name, last name and email, and no more.

    The member fills in every profile field through the real profile form, logs in
    from a known address and comments; none of that reaches the directory's HTML.
    """
    member = make_member("reader7", email="reader7@example.test")
    own = t.cast(CookieCheckingClient, app.test_client())
    own.environ_base.update(
        {"REMOTE_ADDR": "203.0.113.77", "HTTP_USER_AGENT": "SecretAgent/9.9 (Profile)"}
    )
    log_in(own, "reader7")
    saved = own.submit(
        "/account/profile",
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "website": "https://ann-private.example/journal",
            "bio": "Bio only for my public page: likes gliding.",
            "display_name": "last_first",
            "public_profile": True,
            "allow_indexing": True,
            "marketing_opt_in": True,
        },
        form_selector="form[action$='/account/profile']",
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        db.session.add(
            Comment(
                target="post:1",
                user_id=member.id,
                body="A comment",
                ip_address="198.51.100.23",
                user_agent="CommentAgent/1.0",
            )
        )
        db.session.commit()
        stored = db.session.get(User, member.id)
        assert stored.website
        assert stored.bio
        assert stored.display_name == "Lee Ann"
        hidden_values = [
            str(getattr(stored, column.key))
            for column in User.__table__.columns
            if column.key
            not in {
                "id",
                "username",
                "username_key",
                "first_name",
                "last_name",
                "email",
                "email_key",
            }
            and isinstance(getattr(stored, column.key), str)
            and len(getattr(stored, column.key)) > 3
        ]
    hidden_values += [
        "Lee Ann",  # the chosen display name
        "203.0.113.77",
        "SecretAgent",
        "198.51.100.23",
        "CommentAgent",
        "A comment",
    ]
    assert "https://ann-private.example/journal" in hidden_values
    assert "$argon2" in " ".join(hidden_values)  # the password hash is checked too

    for role in ("staff", "admin"):
        page = _staff_client(app, make_member, role).get("/staff/?q=reader7")
        assert page.status_code == 200
        headings, rows = _table(page)
        assert headings[:4] == FOUR_HEADINGS
        assert rows[0][:4] == ["reader7", "Ann", "Lee", "reader7@example.test"]
        if role == "staff":
            assert headings == FOUR_HEADINGS
            assert len(rows[0]) == 4
        everything = _everything_in(soup(page))
        leaked = [value for value in hidden_values if value in everything]
        assert leaked == [], f"the directory shows more than the four fields: {leaked}"


def test_the_limit_is_kept_where_the_data_is_read(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P10: the directory query selects the four fields (and the id), not whole members."""
    make_member("reader8", first_name="Bo", bio="never selected", website="https://x.example")
    statements: list[str] = []
    with app.test_request_context():
        engine = db.engine

        def capture(*args: t.Any) -> None:
            statements.append(str(args[2]))

        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            page = directory.search("reader8", 1, 10)
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
    [row] = page.items
    assert row._fields == ("id", "username", "first_name", "last_name", "email")
    selects = " ".join(statements).lower()
    for column in ("bio", "website", "display_name_choice", "password_hash", "ip_address"):
        assert column not in selects


def test_search_by_username_or_email_ignores_case_and_wildcards(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    make_member("a_b", email="first@example.test")
    make_member("axb", email="second@Example.test")
    make_member("percent", email="100%@example.test")
    client = _staff_client(app, make_member)

    def found(term: str) -> list[str]:
        return [row[0] for row in _table(client.get("/staff/", query_string={"q": term}))[1]]

    assert found("A_B") == ["a_b"]  # "_" matches only itself, not any character
    assert found("SECOND@example") == ["axb"]
    assert found("%") == ["percent"]
    assert found("nobody-here") == []
    assert soup(client.get("/staff/?q=nobody-here")).select_one("[role=status]").get_text(
        strip=True
    ) == ("Nothing matches.")


def test_directory_pages_through_members(app: Flask, make_member: t.Callable[..., User]) -> None:
    for n in range(12):
        make_member(f"member{n:02d}")
    client = _staff_client(app, make_member)  # 13 members in all

    first = client.get("/staff/")
    assert len(_table(first)[1]) == 10
    next_link = soup(first).select_one(".privacy-pager a[rel=next]")
    assert next_link is not None
    second = client.get(next_link["href"])
    assert len(_table(second)[1]) == 3
    assert soup(second).select_one(".privacy-pager a[rel=next]") is None
    assert client.get("/staff/?page=99").status_code == 200  # past the end: the last page
    assert _table(client.get("/staff/?page=99"))[1] == _table(second)[1]
    assert client.get("/staff/?page=abc").status_code == 200


def test_erased_accounts_are_not_listed(app: Flask, make_member: t.Callable[..., User]) -> None:
    make_member("gone-member", erased_at=utcnow())
    client = _staff_client(app, make_member)
    assert _table(client.get("/staff/?q=gone"))[1] == []


def test_too_long_a_search_is_refused_beside_the_field(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    client = _staff_client(app, make_member)
    term = "x" * 321
    response = client.get("/staff/", query_string={"q": term})
    assert response.status_code == 400
    assert field_error(response, "q") == "Use at most 320 characters."
    assert soup(response).select_one("input[name=q]")["value"] == term
    assert soup(response).select_one("table.privacy-staff-directory") is None


def test_a_nul_byte_in_a_search_is_refused_beside_the_field_and_not_audited(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """A control character no one types is bad input: no query, no audit event, no 500."""
    client = _staff_client(app, make_member)
    response = client.get("/staff/", query_string={"q": "a\x00b"})
    assert response.status_code == 400
    assert field_error(response, "q") == "Remove the invisible control characters from this field."
    assert soup(response).select_one("table.privacy-staff-directory") is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


def test_every_directory_page_shown_is_audited(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    """P33: a directory search records who searched, for what, and whom they saw."""
    target = make_member("findme")
    client = _staff_client(app, make_member)
    client.get("/staff/?q=FindMe")
    client.get("/staff/")
    with app.app_context():
        staff_id = db.session.scalar(sa.select(User.id).where(User.username == "desk-staff"))
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    search, browse = events[-2:]
    assert (search.action, search.actor_id, search.subject_id) == (
        "directory.search",
        staff_id,
        target.id,
    )
    assert "q='FindMe'" in search.detail
    assert f"ids={target.id}" in search.detail
    assert search.ip_address == "127.0.0.1"
    assert browse.action == "directory.browse"
    assert browse.subject_id is None  # two members shown
    assert str(target.id) in browse.detail.split("ids=")[1].split(",")


def test_admins_get_role_and_audit_links_staff_do_not(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    member = make_member("linked")
    staff_page = _staff_client(app, make_member, "staff").get("/staff/?q=linked")
    admin_page = _staff_client(app, make_member, "admin").get("/staff/?q=linked")
    assert soup(staff_page).select("table.privacy-staff-directory a[href*='/role']") == []
    links = [a["href"] for a in soup(admin_page).select(".privacy-staff-actions a")]
    assert links == [f"/staff/members/{member.id}/role", f"/staff/audit?subject={member.id}"]


def test_home_says_what_each_role_reaches(app: Flask, make_member: t.Callable[..., User]) -> None:
    """P33: staff see what their role reaches, and links only to screens they may open."""
    staff_page = soup(_staff_client(app, make_member, "staff").get("/staff/"))
    rows = staff_page.select("table.privacy-staff-roles tbody tr")
    assert [r.select_one("th").get_text(" ", strip=True) for r in rows] == [
        "Staff (your role)",
        "Privacy officer",
        "Admin",
    ]
    assert rows[0]["aria-current"] == "true"
    # Screens other parts add are listed under the role their guard needs.
    with app.test_request_context():
        staff_level = {str(s.title) for s in screens.all_screens() if s.role == "staff"}
    linked = {a.get_text(strip=True) for a in staff_page.select("table.privacy-staff-roles a")}
    assert "Directory" in linked
    assert linked == staff_level
    listed = rows[2].get_text(" ", strip=True)
    assert "Roles" in listed
    assert "Audit trail" in listed
    assert "Held comments" in rows[1].get_text(" ", strip=True)
    nav = [a.get_text(strip=True) for a in staff_page.select(".privacy-staff-nav a")]
    assert set(nav) == staff_level

    admin_page = soup(_staff_client(app, make_member, "admin").get("/staff/"))
    nav = [a.get_text(strip=True) for a in admin_page.select(".privacy-staff-nav a")]
    assert nav[0] == "Directory"
    assert nav[-2:] == ["Roles", "Audit trail"]
    assert admin_page.select_one(".privacy-staff-nav a[aria-current=page]").get_text() == (
        "Directory"
    )


def test_privacy_officers_see_how_many_comments_are_held(
    app: Flask, make_member: t.Callable[..., User]
) -> None:
    with app.app_context():
        for status in ("held", "held", "approved"):
            db.session.add(Comment(target="post:1", body="b", status=status))
        db.session.commit()
    officer_page = soup(_staff_client(app, make_member, "privacy_officer").get("/staff/"))
    [count] = [
        li
        for li in officer_page.select(".privacy-staff-counts li")
        if "Held comments" in li.get_text()
    ]
    assert count.select_one(".privacy-staff-counts__value").get_text() == "2"
    assert "Held comments" in count.get_text()
    staff_page = soup(_staff_client(app, make_member, "staff").get("/staff/"))
    assert staff_page.select(".privacy-staff-counts li") == []
