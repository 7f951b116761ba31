"""Single-use links hold when N requests carry the same link at the same moment (P4, P8).

Each of N test clients opens the link's page (its own CSRF token), then all post at once
behind a barrier. Exactly one may succeed; the rest get the "already used" page. On
SQLite one writer runs at a time and the race cannot show, so these run on PostgreSQL
(CI sets ``PRIVACY_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from flask import Flask

from example_site import db
from flask_allcot_privacy.models import User

from .conftest import PASSWORD, SERVER_DATABASE, log_in
from .helpers import CookieCheckingClient, SMTPSink, form_fields, links_in, path_of, soup

pytestmark = pytest.mark.skipif(
    not SERVER_DATABASE, reason="the race needs concurrent writers: run on PostgreSQL"
)

N = 10


@pytest.fixture
def extra_config() -> dict[str, t.Any]:
    """The test logs in once per password tried, more than the per-account limit allows."""
    return {"PRIVACY_RATELIMIT_ENABLED": False}


def _race(
    app: Flask, url: str, data_for: t.Callable[[int], dict[str, str]], form_selector: str
) -> list[tuple[int, str]]:
    """N clients post ``url``'s form together; each answer's status and flashed text."""
    clients = [t.cast(CookieCheckingClient, app.test_client()) for _ in range(N)]
    pages = [c.get(url) for c in clients]
    assert all(p.status_code == 200 for p in pages)
    forms = [form_fields(p, form_selector) for p in pages]
    barrier = threading.Barrier(N)

    def post(i: int) -> tuple[int, str]:
        barrier.wait(timeout=30)
        response = clients[i].post(url, data={**forms[i], **data_for(i)})
        if response.status_code == 302:
            landing = clients[i].get(response.location)
            flashes = soup(landing).select(".privacy-flash")
            return 302, " ".join(f.get_text(" ", strip=True) for f in flashes)
        return response.status_code, soup(response).get_text(" ", strip=True)

    with ThreadPoolExecutor(N) as pool:
        return list(pool.map(post, range(N)))


def _password(i: int) -> str:
    return f"concurrent-passphrase-number-{i:02d}"


def test_a_set_password_link_works_once_among_simultaneous_uses(
    app: Flask, client: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    """P4: ten posts of one set-password link: one password is set, nine told "already used"."""
    client.submit("/account/reset-password", {"email": member.email})
    [link] = [u for u in links_in(smtp.last_to(member.email)) if "/set-password/" in u]
    answers = _race(
        app,
        path_of(link),
        lambda i: {"password": _password(i), "password_confirm": _password(i)},
        "form[method=post]",
    )
    winners = [i for i, (status, _) in enumerate(answers) if status == 302]
    assert len(winners) == 1, answers
    assert "Your password is set" in answers[winners[0]][1]
    assert all(status == 410 for i, (status, _) in enumerate(answers) if i not in winners)
    assert all("already used" in text for status, text in answers if status == 410)
    working = [
        i
        for i in range(N)
        if log_in(
            t.cast(CookieCheckingClient, app.test_client()), member.username, _password(i)
        ).status_code
        == 302
    ]
    assert working == winners, "the password that works is the one that was told it was set"
    old = log_in(t.cast(CookieCheckingClient, app.test_client()), member.username, PASSWORD)
    assert old.status_code == 400, "the old password no longer works"


def test_an_email_change_link_works_once_among_simultaneous_uses(
    app: Flask, logged_in: CookieCheckingClient, smtp: SMTPSink, member: User
) -> None:
    """P8: ten posts of one confirm-email link: one changes the address, nine are refused."""
    from .test_accounts_profile import save

    response = save(logged_in, email="moved@example.test", current_password=PASSWORD)
    assert response.status_code == 302
    [link] = [u for u in links_in(smtp.last_to("moved@example.test")) if "confirm-email" in u]
    answers = _race(app, path_of(link), lambda i: {}, "main form[method=post]")
    assert sorted(status for status, _ in answers) == [302] + [410] * (N - 1), answers
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.id == member.id))
        assert user is not None
        assert user.email == "moved@example.test"
