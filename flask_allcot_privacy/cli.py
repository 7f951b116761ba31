"""The ``flask privacy`` command group. Later capabilities add their commands here."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from . import mail

privacy_group = AppGroup("privacy", help="Privacy tools: mail outbox, staff, requests.")


@privacy_group.command("send-mail")
@click.option("--limit", default=500, show_default=True, help="Most messages to send in one run.")
def send_mail_command(limit: int) -> None:
    """Deliver the outbox messages that are due, retrying failed ones on schedule."""
    with current_app.test_request_context(base_url=external_base_url()):
        report = mail.deliver_due(limit=limit)
    click.echo(f"Delivered {len(report.sent)}, failed {len(report.failed)}.")
    if report.failed:
        raise SystemExit(1)


def external_base_url() -> str:
    """The site's address for links built outside a request (emails sent from the CLI).

    Taken from ``SERVER_NAME`` and ``PREFERRED_URL_SCHEME``; without them links point
    at the development server.
    """
    config = current_app.config
    server = config.get("SERVER_NAME")
    if not server:
        return "http://127.0.0.1:5000"
    scheme = config.get("PREFERRED_URL_SCHEME") or "http"
    return f"{scheme}://{server}{config.get('APPLICATION_ROOT') or ''}"
