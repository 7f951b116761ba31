"""The blog's pages, and /outbox to read the site's mail in demo mode."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template, url_for

from flask_allcot_privacy import CommentTarget
from flask_allcot_privacy.models import OutboxMessage

from . import db
from .models import Post

bp = Blueprint("blog", __name__)


@bp.route("/")
def index() -> str:
    posts = db.session.scalars(sa.select(Post).order_by(Post.published_at.desc())).all()
    return render_template("index.html", posts=posts)


@bp.route("/posts/<slug>")
def post(slug: str) -> str:
    found = db.session.scalar(sa.select(Post).where(Post.slug == slug))
    if found is None:
        abort(404)
    return render_template("post.html", post=found)


def comment_target(key: str) -> CommentTarget | None:
    """The post a comment target such as ``post:12`` names, for ``@privacy.comment_target``."""
    kind, _, number = key.partition(":")
    if kind != "post" or not number.isdigit() or len(number) > 18:
        return None
    found = db.session.get(Post, int(number))
    if found is None:
        return None
    return CommentTarget(found.title, url_for("blog.post", slug=found.slug))


@bp.route("/outbox")
def outbox() -> str:
    """Demo mode only: every email the site sent, newest first, links clickable."""
    if not current_app.config["DEMO_MAIL"]:
        abort(404)
    messages = db.session.scalars(
        sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(100)
    ).all()
    return render_template("outbox.html", messages=messages)
