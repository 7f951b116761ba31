"""Sending one message over SMTP with a timeout on every socket operation.

Flask-Mail's :class:`~flask_mail.Connection` opens :class:`smtplib.SMTP` without a
timeout, so a mail server that accepts the connection and never answers holds the
sender forever (a web worker, until gunicorn kills it). :class:`TimedConnection`
is the same connection with ``PRIVACY_MAIL_TIMEOUT`` on connect, TLS, login and
each command. The host's Flask-Mail settings (``MAIL_SERVER``, ``MAIL_USE_TLS``,
``MAIL_SUPPRESS_SEND``...) apply as they are.
"""

from __future__ import annotations

import smtplib
import typing as t

from flask import current_app
from flask_mail import Connection, Message


class TimedConnection(Connection):  # type: ignore[misc]
    """A Flask-Mail connection whose socket gives up after ``timeout`` seconds."""

    def __init__(self, mail: t.Any, timeout: float) -> None:
        super().__init__(mail)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        mail = self.mail
        host: smtplib.SMTP
        if mail.use_ssl:
            host = smtplib.SMTP_SSL(mail.server, mail.port, timeout=self.timeout)
        else:
            host = smtplib.SMTP(mail.server, mail.port, timeout=self.timeout)
        host.set_debuglevel(int(mail.debug))
        if mail.use_tls:
            host.starttls()
        if mail.username and mail.password:
            host.login(mail.username, mail.password)
        return host

    def __exit__(self, exc_type: t.Any, exc_value: t.Any, tb: t.Any) -> None:
        if self.host is not None and exc_type is not None:
            # After a failure, do not wait a second timeout for QUIT to be answered.
            self.host.close()
            self.host = None
        super().__exit__(exc_type, exc_value, tb)


def timeout_seconds() -> float:
    """``PRIVACY_MAIL_TIMEOUT`` in seconds."""
    return float(current_app.config["PRIVACY_MAIL_TIMEOUT"].total_seconds())


def send(message: Message) -> None:
    """Send ``message`` with the app's Flask-Mail settings, giving up after the timeout."""
    with TimedConnection(current_app.extensions["mail"], timeout_seconds()) as connection:
        message.send(connection)
