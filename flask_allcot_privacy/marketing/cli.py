"""``flask privacy send-marketing TEMPLATE``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..cli import external_base_url, privacy_group


@click.command("send-marketing")
@click.argument("template")
@with_appcontext
def send_marketing_command(template: str) -> None:
    """Queue the marketing email TEMPLATE for current subscribers only, in batches.

    TEMPLATE names privacy/email/marketing/TEMPLATE.txt (and .html); 'flask privacy
    send-mail' delivers the messages.
    """
    from .sending import send_marketing

    with current_app.test_request_context(base_url=external_base_url()):
        try:
            queued = send_marketing(template)
        except LookupError as error:
            raise click.ClickException(str(error)) from None
    click.echo(
        f"Queued {queued} marketing email(s) from {template!r} for current subscribers; "
        "'flask privacy send-mail' delivers them."
    )


def register() -> None:
    """Attach the command to ``flask privacy`` (once, however many apps are made)."""
    if "send-marketing" not in privacy_group.commands:
        privacy_group.add_command(send_marketing_command)
