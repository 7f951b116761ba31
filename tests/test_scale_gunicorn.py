"""The example site under gunicorn, 4 sync workers, on PostgreSQL with Redis (P12, P15).

One deployment for the module, as an operator runs it: settings from ``FLASK_``
variables, rate limits in Redis, and a mail server that accepts connections and never
answers (``PRIVACY_MAIL_TIMEOUT`` 10 s). Which worker served a request is read from
gunicorn's access log (``%(p)s``), so "on every worker" is shown, not assumed.
"""

from __future__ import annotations

import threading
import time
import typing as t
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import create_app, db
from example_site.models import Post
from flask_allcot_privacy.accounts.passwords import hash_password
from flask_allcot_privacy.models import Comment, OutboxMessage, User

from .conftest import PASSWORD, SERVER_DATABASE, app_settings
from .services import REDIS_URL, Gunicorn, forget_redis_keys, gunicorn, need_services, site_env
from .stalls import StallingServer

requests = pytest.importorskip("requests")

pytestmark = pytest.mark.services

WORKERS = 4


@dataclass
class Deployment:
    app: Flask
    server: Gunicorn
    stall: StallingServer

    @property
    def url(self) -> str:
        return self.server.url


class Page:
    """A requests response seen as the test helpers see a Flask test response."""

    def __init__(self, response: t.Any) -> None:
        self.response = response

    def get_data(self, as_text: bool = True) -> str:
        return str(self.response.text)


def form_of(response: t.Any, selector: str = "main form[method=post]") -> dict[str, str]:
    from .helpers import form_fields

    return form_fields(t.cast(t.Any, Page(response)), selector)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    need_services("requests")
    forget_redis_keys("LIMITS*")
    tmp = tmp_path_factory.mktemp("gunicorn")
    schema = f"scale_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(str(SERVER_DATABASE))
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    uri = f"{SERVER_DATABASE}?options=-csearch_path%3D{schema}"
    app = create_app({**app_settings(tmp), "SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        db.create_all()
    stall = StallingServer()
    env = site_env(
        uri,
        stall.port,
        PRIVACY_MAIL_TIMEOUT="10",
        # Every request here comes from 127.0.0.1: per-IP limits would be shared by all.
        PRIVACY_COMMENT_LIMIT_PER_IP="1000 per minute",
        PRIVACY_EMAIL_LIMIT_PER_IP="1000 per hour",
    )
    try:
        with gunicorn(env, tmp, workers=WORKERS) as server:
            yield Deployment(app, server, stall)
    finally:
        stall.close()
        with app.app_context():
            db.engine.dispose()
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
        forget_redis_keys("LIMITS*")


def add_member(app: Flask, username: str) -> None:
    with app.app_context():
        db.session.add(
            User(
                username=username,
                username_key=username,
                email=f"{username}@example.test",
                email_key=f"{username}@example.test",
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()


def log_in(url: str, username: str, password: str = PASSWORD) -> tuple[t.Any, t.Any]:
    """A fresh browser-like session posting the login form; (session, answer)."""
    session = requests.Session()
    page = session.get(f"{url}/account/login")
    fields = {**form_of(page), "username": username, "password": password}
    return session, session.post(f"{url}/account/login", data=fields, allow_redirects=False)


def on_every_worker(
    deployment: Deployment, path: str, fetch: t.Callable[[str], t.Any], rounds: int = 10
) -> list[t.Any]:
    """Fetch ``path`` concurrently until every worker has served it (bounded); the answers."""
    answers: list[t.Any] = []
    with ThreadPoolExecutor(8) as pool:
        for _ in range(rounds):
            answers += pool.map(lambda _: fetch(f"{deployment.url}{path}"), range(16))
            if len(set(_logged(deployment, path, len(answers)))) == WORKERS:
                return answers
    pytest.fail(f"{path} did not reach all {WORKERS} workers in {rounds} rounds")


def _logged(deployment: Deployment, path: str, count: int) -> list[int]:
    """The pids that served ``path``, once the log holds all ``count`` requests (bounded)."""
    for _ in range(50):
        pids = deployment.server.worker_pids(path)
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    return deployment.server.worker_pids(path)


def test_a_login_is_honoured_by_every_worker_and_logout_ends_it_everywhere(
    deployment: Deployment,
) -> None:
    """P12/P15: one login, recognised by all 4 workers; after logout, a copied cookie is dead."""
    add_member(deployment.app, "everywhere")
    session, answer = log_in(deployment.url, "everywhere")
    assert answer.status_code == 302
    copied = requests.utils.dict_from_cookiejar(session.cookies)

    def as_copy(url: str) -> t.Any:
        return requests.get(url, cookies=copied, allow_redirects=False)

    before = on_every_worker(deployment, "/account/profile?phase=logged-in", as_copy)
    assert {a.status_code for a in before} == {200}

    profile = session.get(f"{deployment.url}/account/profile")
    logout = form_of(profile, "form[action$='/account/logout']")
    assert session.post(f"{deployment.url}/account/logout", data=logout).status_code == 200

    after = on_every_worker(deployment, "/account/profile?phase=logged-out", as_copy)
    assert {a.status_code for a in after} == {302}
    assert all("/account/login" in a.headers["Location"] for a in after)


def test_200_concurrent_comments_are_all_stored(deployment: Deployment) -> None:
    """P26: every comment is stored with its IP and agent, none lost or refused."""
    with deployment.app.app_context():
        # Only targets the site's resolver knows take comments: a real post.
        post = Post(slug="scale-test", title="Scale test", body="A post.")
        db.session.add(post)
        db.session.commit()
        target = post.comment_target
    page = requests.get(f"{deployment.url}/comments/{target}")
    cookies, fields = page.cookies.get_dict(), form_of(page)
    barrier = threading.Barrier(50)

    def post(i: int) -> int:
        if i < 50:
            barrier.wait(timeout=30)
        data = {
            **fields,
            "body": f"Comment number {i}",
            "author_name": f"Reader {i}",
            "author_email": f"reader{i}@example.test",
        }
        answer = requests.post(
            f"{deployment.url}/comments/{target}",
            data=data,
            cookies=cookies,
            allow_redirects=False,
            headers={"User-Agent": "scale-test"},
        )
        return int(answer.status_code)

    started = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(post, range(200)))
    elapsed = time.monotonic() - started
    assert statuses == [302] * 200
    with deployment.app.app_context():
        rows = db.session.scalars(sa.select(Comment).where(Comment.target == target)).all()
    assert sorted(r.body for r in rows) == sorted(f"Comment number {i}" for i in range(200))
    assert {r.user_agent for r in rows} == {"scale-test"}
    print(f"200 comments on {WORKERS} workers in {elapsed:.2f} s")


def test_the_login_limit_per_account_holds_across_workers(deployment: Deployment) -> None:
    """10 wrong passwords spread over the workers; the 11th try is refused, right or not."""
    add_member(deployment.app, "limited")
    barrier = threading.Barrier(10)

    def wrong(_: int) -> int:
        session = requests.Session()
        page = session.get(f"{deployment.url}/account/login")
        fields = {**form_of(page), "username": "limited", "password": "not-the-password-1"}
        barrier.wait(timeout=30)
        return int(session.post(f"{deployment.url}/account/login", data=fields).status_code)

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(wrong, range(10))) == [400] * 10
    assert len(set(_logged(deployment, "/account/login", 0))) > 1, "spread over workers"
    session, eleventh = log_in(deployment.url, "limited", PASSWORD)
    # Past the limit a login fails as a wrong password does, not with a 429 that would
    # link a username to its email or lock the owner out (docs/accounts.rst).
    assert eleventh.status_code == 400, "the 11th attempt is refused even with the password"
    profile = session.get(f"{deployment.url}/account/profile", allow_redirects=False)
    assert profile.status_code == 302, "the right password did not log in past the limit"
    assert "/account/login" in profile.headers["Location"]
    import redis

    assert redis.Redis.from_url(REDIS_URL).keys("LIMITS*"), "the counters are in Redis"


def test_a_stalled_mail_server_does_not_delay_other_requests(deployment: Deployment) -> None:
    """8 registrations at once while SMTP never answers; a plain page stays fast."""

    def register(i: int) -> tuple[int, float]:
        session = requests.Session()
        page = session.get(f"{deployment.url}/account/register")
        fields = {**form_of(page), "username": f"stalled{i}", "email": f"stalled{i}@example.test"}
        started = time.monotonic()
        answer = session.post(
            f"{deployment.url}/account/register", data=fields, allow_redirects=False
        )
        return int(answer.status_code), time.monotonic() - started

    with ThreadPoolExecutor(8) as pool:
        registrations = list(pool.map(register, range(8)))
    assert [status for status, _ in registrations] == [302] * 8
    assert deployment.stall.accepted.wait(10), "the background threads are waiting on SMTP"
    slowest_get = 0.0
    for _ in range(8):
        started = time.monotonic()
        assert requests.get(f"{deployment.url}/").status_code == 200
        slowest_get = max(slowest_get, time.monotonic() - started)
    slowest_post = max(seconds for _, seconds in registrations)
    print(f"stall 10 s: slowest registration {slowest_post:.3f} s, slowest GET {slowest_get:.3f} s")
    # Generous bounds: this checks "does not wait for SMTP", not speed.
    assert slowest_post < 2
    assert slowest_get < 2
    with deployment.app.app_context():
        waiting = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.template == "set_password_welcome")
        ).all()
    assert len(waiting) == 8, "the mail waits in the outbox for a retry, none lost"
    assert all(m.sent_at is None for m in waiting)
