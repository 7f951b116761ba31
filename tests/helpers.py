"""Test helpers (no fixtures): settings and host apps, a real SMTP sink, forms read from
the HTML, a cookie-checking client, logging in through the form."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from email.message import EmailMessage
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup
from flask import Flask
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from werkzeug.test import TestResponse

from flask_allcot_privacy import Privacy, PrivacyTestClient, background, cookies

#: Cheap argon2id parameters: tests stay fast; every other setting uses OWASP's.
FAST_HASHING = {
    "PRIVACY_ARGON2_TIME_COST": 1,
    "PRIVACY_ARGON2_MEMORY_COST": 8,
    "PRIVACY_ARGON2_PARALLELISM": 1,
}
PASSWORD = "correct-horse-battery-staple"
#: The test apps' SERVER_NAME: the test client files cookies under this domain.
HOST = "blog.test"


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parsed["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.arrived:
            self.messages.append(t.cast(EmailMessage, parsed))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SMTPSink:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it receives."""

    def __init__(self) -> None:
        self.port = free_port()
        self._collector = _Collector()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self._collector.messages

    def start(self) -> None:
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope went to ``address``."""
        return [m for m in self.messages if address.lower() in m["X-Envelope-To"].lower()]

    def wait_for(self, address: str, timeout: float = 10) -> EmailMessage:
        """The newest message to ``address``, waiting for a live server to deliver it."""
        with self._collector.arrived:
            self._collector.arrived.wait_for(lambda: bool(self.to(address)), timeout)
        return self.last_to(address)

    def last_to(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no email to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the email has no text part"
    return t.cast(str, part.get_content())


def html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the email has no HTML part"
    return t.cast(str, part.get_content())


def links_in(message: EmailMessage) -> list[str]:
    """Every http(s) link in the text part, in order."""
    return re.findall(r"https?://[^\s<>\"]+", text_body(message))


def path_of(url: str) -> str:
    """The path and query of an absolute link, for the test client."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def soup(response: TestResponse) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def main_text(response: TestResponse) -> str:
    """The visible text of the page's main content (CSRF tokens elsewhere vary per render)."""
    main = soup(response).select_one("main")
    assert main is not None, "the page has no <main>"
    return " ".join(main.get_text(" ").split())


def form_fields(response: TestResponse, form_selector: str = "form[method=post]") -> dict[str, str]:
    """The values a browser would send for the first matching form, hidden fields included."""
    form = soup(response).select_one(form_selector)
    assert form is not None, f"no form matches {form_selector!r}"
    values: dict[str, str] = {}
    for field in form.select("input[name], textarea[name], select[name]"):
        name = str(field["name"])
        kind = field.get("type", "text")
        if field.name == "textarea":
            # Browsers drop the newline that may follow <textarea>.
            text = field.get_text()
            values[name] = text[1:] if text.startswith("\n") else text
        elif field.name == "select":
            chosen = field.select_one("option[selected]") or field.select_one("option")
            values[name] = str(chosen["value"]) if chosen else ""
        elif kind in ("checkbox", "radio"):
            if field.has_attr("checked"):
                values[name] = str(field.get("value", "y"))
        elif kind not in ("submit", "button"):
            values[name] = str(field.get("value", ""))
    return values


def field_error(response: TestResponse, field_id: str) -> str:
    """The message shown beside a field, or an empty string."""
    error = soup(response).select_one(f"#{field_id}-error")
    return error.get_text(" ", strip=True) if error else ""


def form_error(response: TestResponse) -> str:
    return " ".join(
        e.get_text(" ", strip=True) for e in soup(response).select(".privacy-error--form")
    )


class CookieCheckingClient(PrivacyTestClient):
    """A test client that fails any response setting a cookie the registry does not declare."""

    def open(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        # Like a server: the body is read and the response closed, which runs the
        # close callbacks (outbox delivery) before the test looks at the result.
        kwargs.setdefault("buffered", True)
        response = super().open(*args, **kwargs)
        # Mail goes out on the background thread; let it finish before the test looks.
        assert background.wait_idle(timeout=30), "background jobs still running after 30 s"
        with self.application.app_context():
            for header in response.headers.getlist("Set-Cookie"):
                name = header.split("=", 1)[0].strip()
                assert cookies.is_declared_name(name, self.application), (
                    f"cookie {name!r} is set but not declared in the cookie registry"
                )
        return response

    def submit(
        self,
        url: str,
        data: dict[str, t.Any] | None = None,
        *,
        form_selector: str = "form[method=post]",
        **kwargs: t.Any,
    ) -> TestResponse:
        """GET ``url``, fill its form like a browser (CSRF token included), POST it."""
        page = self.get(url)
        assert page.status_code == 200, f"GET {url} answered {page.status_code}"
        fields = form_fields(page, form_selector)
        for name, value in (data or {}).items():
            if value is None or value is False:
                fields.pop(name, None)
            else:
                fields[name] = "y" if value is True else value
        action = soup(page).select_one(form_selector)
        target = str(action.get("action") or url) if action is not None else url
        return self.post(target, data=fields, **kwargs)


def set_cookie(response: TestResponse, name: str) -> dict[str, t.Any] | None:
    """The attributes of the ``Set-Cookie`` header for ``name``, or None if not set."""
    from datetime import datetime
    from email.utils import parsedate_to_datetime
    from http.cookies import SimpleCookie

    for header in response.headers.getlist("Set-Cookie"):
        if header.split("=", 1)[0].strip() != name:
            continue
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        morsel = jar[name]
        expires = parsedate_to_datetime(morsel["expires"]) if morsel["expires"] else None
        flags = {part.strip().lower() for part in header.split(";")[1:]}
        return {
            "value": morsel.value,
            "expires": expires.astimezone(UTC) if expires else None,
            "max_age": int(morsel["max-age"]) if morsel["max-age"] else None,
            "httponly": "httponly" in flags,
            "secure": "secure" in flags,
            "samesite": morsel["samesite"],
            "deleted": bool(expires and expires < datetime.now(UTC)),
        }
    return None


def app_settings(tmp_path: Path, smtp: SMTPSink | None = None) -> dict[str, t.Any]:
    """Settings for a test app: its own SQLite file, real SMTP to the sink."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite'}",
        "DEMO_MAIL": False,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port if smtp else 1,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_DEFAULT_SENDER": "site@allcot.test",
        "SERVER_NAME": HOST,
        "PRIVACY_EMAIL_ALLOW_TEST_DOMAINS": True,
        # Export files in the test's own folder, never the repository's instance folder.
        "PRIVACY_EXPORT_DIR": str(tmp_path / "privacy-exports"),
        **FAST_HASHING,
    }


def make_host_app(tmp_path: Path, **config: t.Any) -> Flask:
    """A bare host app (not the example site) with its own db and mail objects."""
    app = Flask("host")
    app.config.update(
        SECRET_KEY="host-secret",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite'}",
        TESTING=True,
        **FAST_HASHING,
    )
    app.config.update(config)
    host_db, host_mail = SQLAlchemy(), Mail()
    host_db.init_app(app)
    host_mail.init_app(app)
    Privacy().init_app(app, db=host_db, mail=host_mail)
    return app


def log_in(
    client: CookieCheckingClient, username: str, password: str = PASSWORD, remember: bool = False
) -> t.Any:
    """Log in through the real login form (test cookie, CSRF and all)."""
    return client.submit(
        "/account/login", {"username": username, "password": password, "remember": remember}
    )


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """The standard library's WSGI server, a thread per request.

    Like gunicorn, it closes each response as soon as it is written, which is when the
    outbox delivers. Werkzeug's development server first drains the socket with a
    blocking read, so a browser that keeps its connection open delays the close.
    """

    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: t.Any) -> None:
        """No access log on stderr."""


T = t.TypeVar("T")


def at_once(calls: t.Sequence[t.Callable[[], T]]) -> list[T]:
    """Run ``calls`` in threads released together by a barrier; their results, in order.

    For the races single use and counting must survive (on PostgreSQL). An exception in
    any call is raised here, once every thread has finished.
    """
    barrier = threading.Barrier(len(calls))

    def run(call: t.Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
    return [future.result() for future in futures]
