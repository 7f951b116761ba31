"""``flask --app example_site init-db [--demo]``: the schema, and demo posts and staff if asked."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from . import db
from .demo import DEMO_POSTS, DEMO_STAFF
from .models import Post
from .orders import add_demo_orders


@click.command("init-db")
@with_appcontext
@click.option("--demo", is_flag=True, help="Also add the demo posts (once).")
def init_db_command(demo: bool) -> None:
    """Create the tables that do not exist yet; safe to run again."""
    db.create_all()
    added = 0
    if demo:
        existing = set(db.session.scalars(sa.select(Post.slug)))
        for entry in DEMO_POSTS:
            if entry["slug"] not in existing:
                db.session.add(Post(**entry))
                added += 1
        orders = add_demo_orders()
        db.session.commit()
        if orders:
            click.echo(f"{orders} demo order(s) added.")
    click.echo(f"Database ready; {added} demo post(s) added.")
    if demo and current_app.config["DEMO_MAIL"]:
        staff = _add_demo_staff()
        click.echo(f"{staff} demo staff account(s) added; their set-password links are at /outbox.")


def _add_demo_staff() -> int:
    """One account per staff role, without a password: its set-password link is in /outbox.

    Only in demo mode, where mail is shown at /outbox, so no demo password is ever shared.
    """
    from flask_allcot_privacy import outbox
    from flask_allcot_privacy.cli import external_base_url
    from flask_allcot_privacy.staff import members

    added = 0
    with current_app.test_request_context(base_url=external_base_url()):
        for username, email, role in DEMO_STAFF:
            try:
                members.create_staff(username, email, role, via_cli=True)
            except members.StaffError:
                continue  # already there from an earlier run
            added += 1
        db.session.commit()
        outbox.deliver_due()
    return added
