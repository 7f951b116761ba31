"""The ``flask privacy`` command group. Later capabilities add their commands here."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from . import outbox
from .models import ROLES
from .state import current_db

#: ``set-role`` takes a role, or ``none`` to remove it.
ROLE_CHOICES = (*ROLES, "none")

privacy_group = AppGroup("privacy", help="Privacy tools: mail outbox, staff, requests.")


@privacy_group.command("send-mail")
@click.option("--limit", default=500, show_default=True, help="Most messages to send in one run.")
def send_mail_command(limit: int) -> None:
    """Deliver the outbox messages that are due, retrying failed ones on schedule."""
    with current_app.test_request_context(base_url=external_base_url()):
        report = outbox.deliver_due(limit=limit)
    click.echo(f"Delivered {len(report.sent)}, failed {len(report.failed)}.")
    if report.failed:
        raise SystemExit(1)


@privacy_group.command("create-staff")
@click.argument("username")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="staff",
    show_default=True,
    help="The role to give; the least that the member's work needs.",
)
def create_staff_command(username: str, email: str, role: str) -> None:
    """Create a staff account without a password and email its set-password link."""
    from .staff import members

    with current_app.test_request_context(base_url=external_base_url()):
        try:
            user = members.create_staff(username, email, role, via_cli=True)
        except members.StaffError as error:
            raise click.ClickException(str(error)) from None
        current_db().session.commit()
        report = outbox.deliver_due()
        click.echo(f"Created {user.username} ({role}); a set-password link went to {user.email}.")
    if report.failed:
        click.echo(
            "The email could not be sent now; 'flask privacy send-mail' retries it.", err=True
        )


@privacy_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLE_CHOICES))
def set_role_command(username: str, role: str) -> None:
    """Give a member a staff role, or 'none' to remove it; their logins end at once."""
    from .staff import members

    user = members.find(username)
    if user is None:
        raise click.ClickException(f"No account has the username {username!r}.")
    new_role = None if role == "none" else role
    if user.role == new_role:
        click.echo(f"{user.username} already has the role {role}; nothing changed.")
        return
    was_admin = user.role == "admin"
    # The recovery path: no last-admin guard here, but the operator is told plainly.
    ended = members.change_role(user, new_role, via_cli=True, keep_an_admin=False)
    current_db().session.commit()
    click.echo(f"{user.username} now has the role {role}; {ended} login session(s) ended.")
    if was_admin and members.admin_count() == 0:
        click.echo(
            f"Warning: {user.username} was the last admin; nobody can assign roles on screen "
            "until 'flask privacy set-role USERNAME admin' makes someone admin.",
            err=True,
        )


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


@privacy_group.command("replay-erasures")
def replay_erasures_command() -> None:
    """Erase again everyone in the erasure log; run it after restoring a database backup."""
    from .rights import erasure, erasure_log

    with current_app.test_request_context(base_url=external_base_url()):
        try:
            count = erasure.replay_erasures()
            unmatched = erasure_log.entries_without_key()
        except (erasure.ErasureError, erasure_log.ErasureLogError) as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Replayed the erasure of {count} address(es) found in the database.")
    if unmatched:
        click.echo(
            f"{unmatched} log entr(y/ies) were hashed with a key no longer configured: put the "
            "old SECRET_KEY in SECRET_KEY_FALLBACKS and run this again.",
            err=True,
        )


# Commands of their own modules, attached to privacy_group when they are imported.
from . import cli_policy  # noqa: E402, F401
