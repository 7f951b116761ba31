"""``flask privacy requests ...``: the queue from the command line, and the cron jobs.

Commands never prompt; bad input exits non-zero with a one-line reason. Emails
sent from here link to ``SERVER_NAME`` (see :func:`..cli.external_base_url`).
"""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from ..cli import external_base_url, privacy_group
from ..clock import utcnow
from ..models import OPEN_REQUEST_STATES, REQUEST_STATES, PrivacyRequest
from ..state import current_db
from . import deadlines, export_jobs, reminders, workflow
from .erasure import ErasureError
from .workflow import Actor, RequestStateError

requests_group = AppGroup("requests", help="The privacy-request queue: list, process, remind.")
privacy_group.add_command(requests_group)


@requests_group.command("list")
@click.option(
    "--state",
    type=click.Choice(("open", "all", *REQUEST_STATES)),
    default="open",
    show_default=True,
    help="Which requests to list; 'open' is pending and confirmed.",
)
def list_command(state: str) -> None:
    """Requests by deadline, overdue first: id, state, type, deadline, created."""
    query = sa.select(PrivacyRequest).order_by(
        PrivacyRequest.deadline.is_(None),
        PrivacyRequest.deadline,
        PrivacyRequest.created_at,
        PrivacyRequest.id,
    )
    if state == "open":
        query = query.where(PrivacyRequest.state.in_(OPEN_REQUEST_STATES))
    elif state != "all":
        query = query.where(PrivacyRequest.state == state)
    today = deadlines.local_date(utcnow())
    count = 0
    for row in current_db().session.scalars(query.execution_options(yield_per=500)):
        deadline = row.deadline.isoformat() if row.deadline else "-"
        late = (
            " OVERDUE" if row.state == "confirmed" and row.deadline and row.deadline < today else ""
        )
        click.echo(
            f"{row.id}\t{row.state}\t{row.request_type}\t{deadline}{late}\t"
            f"{row.created_at:%Y-%m-%d %H:%M}"
        )
        count += 1
    click.echo(f"{count} request(s).", err=True)


@requests_group.command("process")
@click.argument("request_id", type=int)
@click.option(
    "--note", default=None, help="For a correction: what was changed (the requester is told)."
)
@click.option(
    "--reject", "reason", default=None, help="Reject the request with this reason instead."
)
def process_command(request_id: int, note: str | None, reason: str | None) -> None:
    """Fulfil one confirmed request: send the export, erase, or record a correction."""
    with current_app.test_request_context(base_url=external_base_url()):
        db = current_db()
        privacy_request = db.session.get(PrivacyRequest, request_id)
        if privacy_request is None:
            raise click.ClickException(f"No privacy request has the id {request_id}.")
        actor = Actor.cli()
        try:
            if reason is not None:
                done = workflow.reject(privacy_request, reason, actor)
                db.session.commit()
                message = f"Request {request_id} rejected; the requester is told why."
            elif privacy_request.request_type in workflow.EXPORT_TYPES:
                export_jobs.request_export(privacy_request, actor)
                db.session.commit()
                done = export_jobs.build_export(request_id, actor)
                if not done:
                    db.session.refresh(privacy_request)
                    raise click.ClickException(
                        f"Request {request_id}: the export failed: "
                        f"{privacy_request.export_error or 'it is being built elsewhere'}"
                    )
                message = f"Request {request_id}: the export link was emailed to the requester."
            elif privacy_request.request_type == "erase":
                done = workflow.erase_request(privacy_request, actor)
                message = f"Request {request_id}: erased; the requester got the report."
            else:
                if not note:
                    raise click.ClickException(
                        f"Request {request_id} asks for a correction: pass --note with what "
                        "you changed."
                    )
                done = workflow.complete_correction(privacy_request, note, actor)
                db.session.commit()
                message = f"Request {request_id}: correction recorded; the requester is told."
        except (RequestStateError, ErasureError) as error:
            raise click.ClickException(str(error)) from None
        if not done:
            raise click.ClickException(f"Request {request_id} was answered by someone else.")
        from .. import outbox

        outbox.deliver_due()
    click.echo(message)


@requests_group.command("remind")
def remind_command() -> None:
    """Email the officers about deadlines in two business days and deadlines passed (cron)."""
    with current_app.test_request_context(base_url=external_base_url()):
        report = reminders.send_reminders(utcnow())
        from .. import outbox

        outbox.deliver_due()
    if not report.had_officers:
        raise click.ClickException(
            "Nobody holds the privacy_officer role: 'flask privacy set-role USERNAME "
            "privacy_officer' names one."
        )
    click.echo(f"Reminded of {len(report.reminded)}, warned of {len(report.warned)} overdue.")


@requests_group.command("build-exports")
@click.option("--limit", default=20, show_default=True, help="Most exports to build in one run.")
def build_exports_command(limit: int) -> None:
    """Build marked exports not built yet (after a crash, or as a worker's job)."""
    with current_app.test_request_context(base_url=external_base_url()):
        built = export_jobs.build_due(Actor.cli(), limit=limit)
    click.echo(f"Built {len(built)} export(s).")
