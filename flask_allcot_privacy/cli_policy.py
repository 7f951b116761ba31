"""``flask privacy publish-policy``, ``breach open|notify`` and ``purge``.

Each command works without prompting and exits non-zero with a one-line reason on
bad input. Notices are queued in the outbox; ``flask privacy send-mail`` (from cron)
delivers them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from sqlalchemy.exc import IntegrityError

from . import breaches, policy_versions, retention
from .cli import external_base_url, privacy_group
from .state import current_db

DELIVERY_HINT = "'flask privacy send-mail' delivers them."


@privacy_group.command("publish-policy")
@click.option("--summary", required=True, help="What changed, quoted in the email to members.")
def publish_policy_command(summary: str) -> None:
    """Publish the policy as it now renders as a new version and email every member once.

    Run it again after an interruption: the notices resume where they stopped.
    """
    db = current_db()
    with current_app.test_request_context(base_url=external_base_url()):
        unfinished = policy_versions.latest()
        try:
            version = policy_versions.publish(summary, via_cli=True)
            db.session.commit()
        except policy_versions.PolicyUnchanged as error:
            db.session.rollback()
            if unfinished is None or unfinished.notices_completed_at is not None:
                raise click.ClickException(str(error)) from None
            version = unfinished
            click.echo(f"Version {version.number} was published already; resuming its notices.")
        except policy_versions.PublishError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        except IntegrityError:
            db.session.rollback()
            raise click.ClickException(
                "Another version was published at the same moment; run the command again."
            ) from None
        else:
            click.echo(f"Version {version.number} published.")
        number, version_id = version.number, version.id
        queued = policy_versions.queue_notices(version_id)
    click.echo(f"Version {number}: {queued} notice(s) queued; {DELIVERY_HINT}")


@privacy_group.group("breach")
def breach_group() -> None:
    """Record a personal-data breach and notify the members it affects (48 hours)."""


@breach_group.command("open")
@click.option("--summary", required=True, help="What happened, in words a member understands.")
@click.option("--member", "members", multiple=True, metavar="USERNAME", help="An affected member.")
@click.option("--all-members", is_flag=True, help="Every member is affected.")
@click.option("--data", "data_affected", default="", help="Which data is affected.")
@click.option("--what-to-do", default="", help="What members should do.")
@click.option(
    "--discovered",
    default=None,
    metavar="ISO-8601",
    help="When the team became aware, in UTC (default: now). The deadlines run from it.",
)
def breach_open_command(
    summary: str,
    members: tuple[str, ...],
    all_members: bool,
    data_affected: str,
    what_to_do: str,
    discovered: str | None,
) -> None:
    """Record an incident; prints its id, as in "Incident 7 opened"."""
    db = current_db()
    with current_app.test_request_context(base_url=external_base_url()):
        found, unknown = breaches.find_members(members)
        if unknown:
            raise click.ClickException(
                f"No account has the username {', '.join(map(repr, unknown))}; nothing recorded."
            )
        try:
            incident = breaches.open_incident(
                summary,
                discovered_at=_parse_time(discovered),
                data_affected=data_affected,
                what_to_do=what_to_do,
                members=found,
                all_members=all_members,
                via_cli=True,
            )
            db.session.commit()
        except breaches.BreachError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        click.echo(f"Incident {incident.id} opened")
        members_due = incident.discovered_at + breaches.MEMBER_DEADLINE
        authority_due = incident.discovered_at + breaches.AUTHORITY_DEADLINE
        click.echo(
            f"Notify members by {members_due:%Y-%m-%d %H:%M} UTC "
            f"('flask privacy breach notify {incident.id}'); "
            f"the authority by {authority_due:%Y-%m-%d %H:%M} UTC."
        )
        if not found and not all_members:
            click.echo("No member is named: notify emails nobody.", err=True)


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, such as 2026-05-01T09:30", param_hint="--discovered"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@breach_group.command("notify")
@click.argument("incident_id", type=click.IntRange(1, 2**63 - 1))
def breach_notify_command(incident_id: int) -> None:
    """Queue the incident's notice for each affected member not told yet (once per member)."""
    with current_app.test_request_context(base_url=external_base_url()):
        try:
            queued = breaches.queue_notices(incident_id, via_cli=True)
        except breaches.BreachError as error:
            current_db().session.rollback()
            raise click.ClickException(str(error)) from None
        breaches.record_deliveries()
        done = breaches.progress(breaches.get(incident_id))
        current_db().session.commit()
    click.echo(
        f"Incident {incident_id}: {queued} notice(s) queued now, {done.queued} of "
        f"{done.affected} member(s) in all; {DELIVERY_HINT}"
    )


@privacy_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what each rule would do; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Run every retention rule; safe to run from cron every hour."""
    with current_app.test_request_context(base_url=external_base_url()):
        for result in retention.purge(dry_run=dry_run):
            click.echo(result.line(dry_run))
