"""Erasure: anonymise what others rely on, delete the rest, keep what law needs (P6, P30, P37)."""

from __future__ import annotations

import shutil
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db, privacy
from flask_allcot_privacy.models import (
    Comment,
    ConsentRecord,
    ContactMessage,
    ErasureLog,
    ErasureProgress,
    LoginSession,
    OutboxMessage,
    User,
)
from flask_allcot_privacy.rights.erasure import ErasureError, erase
from flask_allcot_privacy.rights.registry import Erased
from flask_allcot_privacy.rights.subject import Subject

from .conftest import SERVER_DATABASE, log_in
from .helpers import CookieCheckingClient, form_error, soup
from .rights_data import COMMENT_IP, add_comments, add_correspondence, log_in_from

EMAIL = "ann@example.test"
#: Smaller than the member's comments, so erasure needs several batches.
BATCH = 4
MEMBER_COMMENTS, VISITOR_COMMENTS = 11, 6


@pytest.fixture
def extra_config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, t.Any]]:
    config: dict[str, t.Any] = {
        "PRIVACY_ERASURE_BATCH_SIZE": BATCH,
        "PRIVACY_EXPORT_DIR": str(tmp_path / "exports"),
    }
    if not request.node.name.startswith("test_replay"):
        yield config
        return
    # The log in its own database, which restoring the site's backup leaves alone.
    config["SQLALCHEMY_BINDS"] = {"erasure_log": f"sqlite:///{tmp_path / 'log.sqlite'}"}
    config["PRIVACY_ERASURE_LOG_BIND"] = "erasure_log"
    yield config
    # Flask-SQLAlchemy keeps a MetaData per bind key on the shared db object.
    db.metadatas.pop("erasure_log", None)


@pytest.fixture
def ann(app: Flask, client: CookieCheckingClient, make_member: t.Callable[..., User]) -> User:
    user = make_member(
        "ann", EMAIL, first_name="Ann", last_name="Lee", website="https://ann.test", bio="Hi"
    )
    log_in_from(client, "ann")
    # Interleaved with Bob's, so Ann's ids are not one contiguous range.
    for _ in range(3):
        add_comments(app, 1, email="bob@example.test", body="bob")
        add_comments(app, MEMBER_COMMENTS // 3, user_id=user.id)
        add_comments(app, VISITOR_COMMENTS // 3, email="ANN@example.test", body="visitor")
    add_comments(app, MEMBER_COMMENTS % 3, user_id=user.id)
    add_correspondence(app, user.id, EMAIL)
    return user


def _erase(app: Flask, request_id: int | None = None) -> t.Any:
    with app.app_context():
        return erase(Subject.for_email(EMAIL, request_id=request_id))


def _anns_comments(app: Flask, user_id: int) -> list[Comment]:
    with app.app_context():
        query = sa.select(Comment).where(
            sa.or_(Comment.user_id == user_id, Comment.body.startswith("visitor"))
        )
        comments = list(db.session.scalars(query.options(sa.orm.joinedload(Comment.user))))
        for comment in comments:
            comment.public_name  # noqa: B018 - load while the session is open
        db.session.expunge_all()
        return comments


def _assert_forgotten(app: Flask, user_id: int) -> None:
    comments = _anns_comments(app, user_id)
    assert len(comments) == MEMBER_COMMENTS + VISITOR_COMMENTS, "comments stay"
    for comment in comments:
        assert (comment.author_email, comment.author_url, comment.user_agent) == ("", "", "")
        assert comment.ip_address == COMMENT_IP.rsplit(".", 1)[0] + ".0", "IP anonymised"
        assert comment.public_name == "Anonymous"
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        assert user.erased_at is not None
        assert EMAIL not in (user.email, user.email_key)
        assert "ann" not in user.username_key
        assert (user.first_name, user.last_name, user.website, user.bio) == ("", "", "", "")
        assert user.password_hash is None
        assert not user.is_active
        for model, column in (
            (LoginSession, LoginSession.user_id == user_id),
            (ContactMessage, sa.func.lower(ContactMessage.email) == EMAIL),
            (OutboxMessage, sa.cast(OutboxMessage.recipients, sa.Text).contains(EMAIL)),
            (ConsentRecord, ConsentRecord.user_id == user_id),
        ):
            assert (
                db.session.scalar(sa.select(sa.func.count()).select_from(model).where(column)) == 0
            )
        (consent,) = db.session.scalars(sa.select(ConsentRecord))
        assert (consent.ip_address, consent.user_agent) == ("", ""), "proof kept, identity gone"
        assert consent.granted == ["necessary", "analytics"]


def test_erasure_anonymises_more_comments_than_a_batch_and_reports_P30_P37(
    app: Flask, ann: User
) -> None:
    report = _erase(app)
    _assert_forgotten(app, ann.id)
    erased = dict(report.erased)
    assert erased["Comments"] == MEMBER_COMMENTS + VISITOR_COMMENTS > BATCH
    assert erased["Contact messages"] == 1
    assert erased["Login sessions"] == 1
    assert erased["Emails we sent you"] == 1
    assert erased["Account and profile"] == 1
    assert ("1 consent record", "proof of consent is a legal obligation") in report.retained
    with app.app_context():
        bobs = db.session.scalars(sa.select(Comment).where(Comment.body == "bob 0")).all()
        assert [(c.author_email, c.ip_address) for c in bobs] == [
            ("bob@example.test", COMMENT_IP)
        ] * 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ErasureProgress)) == 0


def test_erasure_is_safe_to_run_again(app: Flask, ann: User) -> None:
    _erase(app)
    again = _erase(app)
    _assert_forgotten(app, ann.id)
    assert "Account and profile" not in dict(again.erased), "nobody has that address any more"


@pytest.fixture
def flaky_eraser() -> Iterator[list[int]]:
    """A host eraser that crashes on its first run, as a killed process would."""
    calls: list[int] = []

    def erase_flaky(subject: Subject) -> Erased:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("killed halfway")
        return Erased(removed=1, messages=["flaky finished"])

    privacy.eraser("flaky", title="Flaky")(erase_flaky)
    yield calls
    del privacy.personal_data.erasers["flaky"]


def test_killed_erasure_finishes_when_rerun_P30(
    app: Flask, ann: User, flaky_eraser: list[int]
) -> None:
    with pytest.raises(ErasureError, match=r"'flaky' eraser failed .*run the erasure again"):
        _erase(app, request_id=7)
    with app.app_context():
        done = set(db.session.scalars(sa.select(ErasureProgress.eraser)))
        assert {"comments", "contact_messages", "consent"} <= done
        assert "account" not in done
        assert db.session.get(User, ann.id).erased_at is None, "the account eraser runs last"
    report = _erase(app, request_id=7)
    _assert_forgotten(app, ann.id)
    erased = dict(report.erased)
    assert erased["Comments"] == MEMBER_COMMENTS + VISITOR_COMMENTS, "from progress"
    assert erased["Contact messages"] == 1, "reported from the first run's progress"
    assert ("1 consent record", "proof of consent is a legal obligation") in report.retained
    assert report.messages == ["flaky finished"]
    assert len(flaky_eraser) == 2


def test_erased_member_cannot_log_in_and_leaves_the_staff_directory_P6(
    app: Flask, ann: User, make_member: t.Callable[..., User]
) -> None:
    make_member("boss", role="staff")
    _erase(app)
    for identifier in ("ann", EMAIL):
        visitor = t.cast(CookieCheckingClient, app.test_client())
        refused = log_in(visitor, identifier)
        assert refused.status_code != 302
        assert "username or password is not right" in form_error(refused)
    staff = t.cast(CookieCheckingClient, app.test_client())
    assert log_in(staff, "boss").status_code == 302
    for term in ("ann", "example.test", "erased"):
        page = staff.get("/staff/", query_string={"q": term})
        assert page.status_code == 200
        rows = soup(page).select("table.privacy-staff-directory tbody tr")
        assert all("ann" not in row.get_text() for row in rows)
        assert all("erased" not in row.get_text() for row in rows)


def test_erased_members_copied_cookie_stops_working_P6(
    app: Flask, ann: User, client: CookieCheckingClient
) -> None:
    assert client.get("/account/profile").status_code == 200
    _erase(app)
    assert client.get("/account/profile").status_code == 302


@pytest.mark.skipif(bool(SERVER_DATABASE), reason="copies the SQLite file as a backup")
def test_replay_after_restoring_a_backup_forgets_again_P30(
    app: Flask, ann: User, tmp_path: Path
) -> None:
    log_file = tmp_path / "log.sqlite"
    database = tmp_path / "test.sqlite"
    backup = tmp_path / "backup.sqlite"
    shutil.copy(database, backup)

    _erase(app)
    _dispose(app)
    shutil.copy(backup, database)  # the restore: Ann is back
    with app.app_context():
        assert db.session.get(User, ann.id).email_key == EMAIL
    assert EMAIL.encode() not in log_file.read_bytes(), "the log keeps only a keyed hash"

    result = app.test_cli_runner().invoke(args=["privacy", "replay-erasures"])
    assert result.exit_code == 0, result.output
    assert "1 address" in result.output
    _assert_forgotten(app, ann.id)


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def test_log_holds_a_keyed_hash_and_rotation_keeps_it_usable(app: Flask, ann: User) -> None:
    from flask_allcot_privacy.rights import erasure_log

    _erase(app)
    with app.app_context():
        (entry,) = db.session.scalars(sa.select(ErasureLog))
        assert entry.address_hash == erasure_log.address_hash(EMAIL)
        assert EMAIL not in entry.address_hash
        assert erasure_log.logged([EMAIL, "bob@example.test"]) == {EMAIL}
    old_secret = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="rotated", SECRET_KEY_FALLBACKS=[old_secret])
    with app.app_context():
        assert erasure_log.logged([EMAIL]) == {EMAIL}, "an old key in the fallbacks still matches"
        assert erasure_log.entries_without_key() == 0
    app.config["SECRET_KEY_FALLBACKS"] = []
    with app.app_context():
        assert erasure_log.logged([EMAIL]) == set()
        assert erasure_log.entries_without_key() == 1


@pytest.mark.skipif(not SERVER_DATABASE, reason="needs PostgreSQL for concurrent writers")
def test_simultaneous_erasures_of_one_address_log_it_once_P30(app: Flask, ann: User) -> None:
    """Officer and command line erase the same person at once: both finish, one log entry."""
    import threading

    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            subject = Subject.for_email(EMAIL)
            barrier.wait()
            try:
                erase(subject)
            except BaseException as error:  # noqa: BLE001 - counted below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_forgotten(app, ann.id)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ErasureLog)) == 1


def test_answered_requests_lose_the_address_open_ones_are_kept_P30(
    app: Flask, ann: User, tmp_path: Path
) -> None:
    from flask_allcot_privacy.models import PrivacyRequest
    from flask_allcot_privacy.rights.export_jobs import export_dir

    with app.app_context():
        old_export = export_dir() / "0123abcd.zip"
        old_export.write_bytes(b"an earlier export")
        rows = {
            "answered": PrivacyRequest(
                email=EMAIL,
                email_key=EMAIL,
                user_id=ann.id,
                request_type="export",
                state="completed",
                details="Everything, please.",
                export_file=old_export.name,
                export_token_hash="0" * 64,
            ),
            "open": PrivacyRequest(
                email=EMAIL, email_key=EMAIL, request_type="correct", state="pending"
            ),
            "this": PrivacyRequest(
                email=EMAIL, email_key=EMAIL, request_type="erase", state="confirmed"
            ),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        ids = {name: row.id for name, row in rows.items()}
    report = _erase(app, request_id=ids["this"])
    assert not old_export.exists(), "the earlier export's file is deleted"
    with app.app_context():
        answered = db.session.get(PrivacyRequest, ids["answered"])
        assert (answered.email, answered.details, answered.user_id) == ("", "", None)
        assert answered.email_key == f"erased-request-{answered.id}"
        assert (answered.export_file, answered.export_token_hash) == (None, None)
        assert db.session.get(PrivacyRequest, ids["open"]).email == EMAIL
        assert db.session.get(PrivacyRequest, ids["this"]).email == EMAIL
    assert dict(report.erased)["Privacy requests"] == 1
    assert ("1 open privacy request", "it will still be answered") in report.retained
    assert ("this erasure request", "the record that we answered it in time") in report.retained


def test_audit_trail_is_exported_and_kept_with_its_reason_P29_P30(
    app: Flask, ann: User, make_member: t.Callable[..., User], tmp_path: Path
) -> None:
    import json
    import zipfile

    from flask_allcot_privacy.models import AuditEvent
    from flask_allcot_privacy.rights.export import write_export

    boss = make_member("boss", role="privacy_officer")
    with app.app_context():
        db.session.add_all(
            [
                AuditEvent(
                    actor_id=boss.id,
                    action="member.view",
                    subject_id=ann.id,
                    ip_address="192.0.2.99",
                ),
                AuditEvent(actor_id=ann.id, action="directory.search", ip_address="192.0.2.7"),
            ]
        )
        db.session.commit()
        write_export(Subject.for_email(EMAIL), tmp_path / "ann.zip")
    with zipfile.ZipFile(tmp_path / "ann.zip") as archive:
        groups = json.loads(archive.read("export.json"))["groups"]
    (trail,) = [g["items"] for g in groups if g["name"] == "audit_trail"]
    assert [(e["action"], e["by"], e["ip_address"]) for e in trail] == [
        ("member.view", "staff", ""),
        ("directory.search", "you", "192.0.2.7"),
    ], "the staff member's own address is not the requester's to see"
    report = _erase(app)
    assert (
        "2 audit trail entries",
        "kept for security: who saw or changed data, and when",
    ) in report.retained
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 2


@pytest.mark.parametrize("extra_config", [{"PRIVACY_ERASURE_LOG_BIND": "nowhere"}])
def test_replay_with_a_missing_log_database_says_how_to_fix_it(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["privacy", "replay-erasures"])
    assert result.exit_code == 1
    assert "SQLALCHEMY_BINDS has no such key" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("stored", "anonymised"),
    [
        ("203.0.113.42", "203.0.113.0"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ("::1", "::"),
        ("", "0.0.0.0"),  # noqa: S104 - a stored value
    ],
)
def test_ip_addresses_are_anonymised_in_the_database_as_ipaddr_does_P30(
    app: Flask, stored: str, anonymised: str
) -> None:
    """The SQL expression (PostgreSQL inet functions, or SQLite calling Python) agrees."""
    from flask_allcot_privacy import ipaddr

    assert ipaddr.anonymise(stored) == anonymised
    with app.app_context():
        db.session.add(Comment(target="post:1", author_email=EMAIL, body="hi", ip_address=stored))
        db.session.commit()
    _erase(app)
    with app.app_context():
        assert db.session.scalar(sa.select(Comment.ip_address)) == anonymised
