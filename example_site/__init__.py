"""A small blog that shows every part of flask-allcot-privacy working.

Run it with ``flask --app example_site init-db --demo`` then ``flask --app example_site run``.
Settings come from ``FLASK_``-prefixed environment variables (``FLASK_SECRET_KEY``,
``FLASK_SQLALCHEMY_DATABASE_URI``, ``FLASK_DEMO_MAIL=false`` with ``FLASK_MAIL_SERVER``...).
"""

from __future__ import annotations

import secrets
import typing as t
from pathlib import Path

from flask import Flask
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from flask_allcot_privacy import Privacy

from .demo_guard import refuse_remote_demo
from .processors import PROCESSORS


class Base(DeclarativeBase):
    """The blog's declarative base (Flask-SQLAlchemy 3.1 style, typed models)."""


db = SQLAlchemy(model_class=Base)
mail = Mail()
privacy = Privacy()


#: Per-IP rate limits for demo mode, where everyone shares one address.
DEMO_PER_IP_LIMITS = {
    "PRIVACY_LOGIN_LIMIT_PER_IP": "1000 per 15 minutes",
    "PRIVACY_EMAIL_LIMIT_PER_IP": "1000 per hour",
    "PRIVACY_COMMENT_LIMIT_PER_IP": "300 per minute",
    "PRIVACY_CONTACT_LIMIT_PER_IP": "300 per minute",
    "PRIVACY_CONSENT_LIMIT_PER_IP": "300 per minute",
}


def create_app(test_config: dict[str, t.Any] | None = None) -> Flask:
    """Build the example site; ``test_config`` overrides everything else."""
    app = Flask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    app.config.from_mapping(
        # Relative to the instance folder, which Flask-SQLAlchemy creates if needed.
        SQLALCHEMY_DATABASE_URI="sqlite:///example.sqlite",
        # An SQL error in a log never quotes its values (addresses, hashes).
        SQLALCHEMY_ENGINE_OPTIONS={"hide_parameters": True},
        # Demo mode: mail is kept in the outbox and shown at /outbox instead of sent.
        DEMO_MAIL=True,
        # Demo mode shows every email, password links included, at /outbox: it refuses
        # to be served on an address other machines reach unless this is set.
        DEMO_ALLOW_REMOTE=False,
        MAIL_DEFAULT_SENDER="ALLCOT Blog <no-reply@allcot.example>",
        PRIVACY_SITE_NAME="ALLCOT Blog",
        PRIVACY_BASE_TEMPLATE="base.html",
        PRIVACY_PROCESSORS=PROCESSORS,
        PRIVACY_CONTACT_EMAIL="privacy@allcot.example",
        PRIVACY_CONTACT_RECIPIENTS=["privacy@allcot.example"],
    )
    app.config.from_prefixed_env()
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance)
    if app.config["DEMO_MAIL"]:
        app.config["MAIL_SUPPRESS_SEND"] = True
        # Demo visitors may use made-up addresses such as ann@example.test.
        app.config.setdefault("PRIVACY_EMAIL_ALLOW_TEST_DOMAINS", True)
        # Every demo visitor arrives from 127.0.0.1, so per-IP limits would be shared by
        # all of them; per-account and per-address limits stay as they are.
        for key, limit in DEMO_PER_IP_LIMITS.items():
            app.config.setdefault(key, limit)

    refuse_remote_demo(app)

    db.init_app(app)
    mail.init_app(app)
    privacy.init_app(app, db=db, mail=mail)
    if app.config.get("CELERY"):
        # FLASK_CELERY__broker_url=redis://... : mail (and later jobs) go to Celery workers.
        from flask_allcot_privacy.tasks import celery_init_app

        celery_init_app(app)

    from . import cli, orders, views  # noqa: F401 (orders registers its exporter and eraser)

    # Only the blog's posts take comments; any other target answers 404.
    privacy.comment_target(views.comment_target)

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.init_db_command)
    return app


def _instance_secret(instance: Path) -> str:
    """A secret key kept in the instance folder, so every worker process shares it."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
