"""The export file: everything held about a person, readable and escaped (P28, P29)."""

from __future__ import annotations

import json
import typing as t
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask

from example_site import privacy
from flask_allcot_privacy.models import User
from flask_allcot_privacy.rights.export import ExportError, write_export
from flask_allcot_privacy.rights.subject import Subject

from .helpers import CookieCheckingClient
from .rights_data import (
    COMMENT_AGENT,
    COMMENT_IP,
    LOGIN_AGENT,
    LOGIN_IP,
    SCRIPT,
    add_comments,
    add_correspondence,
    log_in_from,
)

EMAIL = "ann@example.test"


@pytest.fixture
def ann(app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]) -> User:
    """A member with a profile, a login, comments (as member and as visitor), mail."""
    user = make_member(
        "ann",
        EMAIL,
        first_name="Ann",
        last_name=f"Lee {SCRIPT}",
        website="https://ann.example.test",
        bio=f"I write about privacy. {SCRIPT}",
    )
    log_in_from(client, "ann")
    add_comments(app, 3, user_id=user.id, body=SCRIPT)
    add_comments(app, 2, email="Ann@Example.test", body="as a visitor")
    add_comments(app, 4, email="bob@example.test", body="not ann's")
    add_correspondence(app, user.id, EMAIL)
    return user


def _export(app: Flask, path: Path, **options: t.Any) -> tuple[dict[str, t.Any], BeautifulSoup]:
    with app.app_context():
        write_export(Subject.for_email(EMAIL), path, **options)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["export.json", "index.html"]
        data = json.loads(archive.read("export.json"))
        report = BeautifulSoup(archive.read("index.html"), "html.parser")
    return data, report


def _group(data: dict[str, t.Any], name: str) -> list[dict[str, t.Any]]:
    (group,) = [g for g in data["groups"] if g["name"] == name]
    assert group["count"] == len(group["items"])
    return t.cast(list[dict[str, t.Any]], group["items"])


def test_export_json_holds_every_field_the_policy_names_P28_P29(
    app: Flask, ann: User, tmp_path: Path
) -> None:
    data, _ = _export(app, tmp_path / "ann.zip")
    assert data["email"] == EMAIL
    assert data["site"] == "ALLCOT Blog"
    (account,) = _group(data, "account")
    assert account["username"] == "ann"
    assert account["email"] == EMAIL
    assert account["first_name"] == "Ann"
    assert account["website"] == "https://ann.example.test"
    assert account["bio"].startswith("I write about privacy.")
    assert "password_hash" not in account
    sessions = _group(data, "login_sessions")
    assert [(s["ip_address"], s["user_agent"]) for s in sessions] == [(LOGIN_IP, LOGIN_AGENT)]
    comments = _group(data, "comments")
    assert len(comments) == 5, "3 as a member and 2 as a visitor, none of Bob's"
    assert {c["ip_address"] for c in comments} == {COMMENT_IP}
    assert {c["user_agent"] for c in comments} == {COMMENT_AGENT}
    assert sum(c["author_email"] == "Ann@Example.test" for c in comments) == 2
    (message,) = _group(data, "contact_messages")
    assert message["email"] == EMAIL
    assert message["ip_address"] == "192.0.2.5"
    (consent,) = _group(data, "consent")
    assert consent["granted"] == ["necessary", "analytics"]
    assert consent["ip_address"] == "192.0.2.6"
    assert consent["user_agent"] == "ConsentBrowser/4.0"
    (sent,) = _group(data, "outbox")
    assert sent["recipients"] == [EMAIL]
    (marketing,) = _group(data, "marketing")
    assert marketing["marketing_opt_in"] is False


def test_report_escapes_visitor_text_and_says_what_and_when_P28(
    app: Flask, ann: User, tmp_path: Path
) -> None:
    data, report = _export(app, tmp_path / "ann.zip")
    assert report.find("script") is None, "visitor text must never become markup"
    text = report.get_text()
    assert text.count(SCRIPT) >= 3 + 1 + 1 + 1, "comments, bio, last name, message shown as text"
    assert "ALLCOT Blog" in report.find("h1").get_text()
    assert data["generated_at"][:16].replace("T", " ") in text
    headings = [h2.get_text() for h2 in report.find_all("h2")]
    assert headings[:4] == ["Account and profile", "Marketing email", "Login sessions", "Comments"]
    assert "Orders" in headings
    for value in (
        EMAIL,
        LOGIN_IP,
        LOGIN_AGENT,
        COMMENT_IP,
        COMMENT_AGENT,
        "https://ann.example.test",
    ):
        assert value in text


def test_correspondence_export_holds_only_messages_and_mail(
    app: Flask, ann: User, tmp_path: Path
) -> None:
    data, report = _export(app, tmp_path / "mail.zip", only=("contact_messages", "outbox"))
    assert [g["name"] for g in data["groups"]] == ["contact_messages", "outbox"]
    assert [h2.get_text() for h2 in report.find_all("h2")] == [
        "Contact messages",
        "Emails we sent you",
    ]


@pytest.fixture
def broken_exporter() -> Iterator[None]:
    """A host exporter that fails after its first item."""

    def export_broken(subject: Subject) -> Iterator[dict[str, str]]:
        yield {"first": "fine"}
        raise RuntimeError("the shop database went away")

    privacy.exporter("broken", "Broken")(export_broken)
    yield
    del privacy.personal_data.exporters["broken"]


def test_failing_exporter_fails_loudly_and_leaves_no_file_P28(
    app: Flask, ann: User, tmp_path: Path, broken_exporter: None
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    with app.app_context(), pytest.raises(ExportError, match="'broken' exporter failed"):
        write_export(Subject.for_email(EMAIL), folder / "ann.zip")
    assert list(folder.iterdir()) == [], "neither the export nor its temporary file is left"


def test_unknown_exporter_name_is_refused(app: Flask, tmp_path: Path) -> None:
    with app.app_context(), pytest.raises(ExportError, match="contact_mesages"):
        write_export(Subject.for_email(EMAIL), tmp_path / "x.zip", only=("contact_mesages",))
    assert not (tmp_path / "x.zip").exists()


def test_visitor_without_account_gets_their_comments(app: Flask, tmp_path: Path) -> None:
    add_comments(app, 2, email="visitor@example.test", body="drive-by")
    with app.app_context():
        subject = Subject.for_email(" Visitor@Example.TEST ")
        assert subject.user is None
        assert subject.email == "visitor@example.test"
        summary = write_export(subject, tmp_path / "v.zip")
    assert ("Comments", 2) in summary.groups
    assert ("Account and profile", 0) in summary.groups
    assert summary.size == (tmp_path / "v.zip").stat().st_size
