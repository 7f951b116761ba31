"""``flask --app example_site init-db [--demo]``: the schema, and demo posts if asked."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from . import db
from .demo import DEMO_POSTS
from .models import Post


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
        db.session.commit()
    click.echo(f"Database ready; {added} demo post(s) added.")
