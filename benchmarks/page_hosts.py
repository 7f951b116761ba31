"""The three host sites ``page_cost.py`` measures, serving the very same page.

``create(kind, database)`` builds one of them:

- ``bare``: Flask alone. Its "logged-in" page reads the email from Flask's signed
  session cookie, the cheapest thing a site could do; its login page is plain HTML.
- ``security``: Flask-Security-Too with its SQLAlchemy datastore (fsqla v3 models).
- ``privacy``: this extension, with the two template lines of ``docs/consent.rst``.

Every kind renders ``page.html`` (about 2 KB) from the same ``layout.html``. The
layout calls ``privacy_head()`` and ``privacy_consent_banner()`` where they exist,
so the extension shows its banner (the visitor has not chosen) and the others show
nothing in its place. Gunicorn imports this module too:
``gunicorn --pythonpath benchmarks 'page_hosts:create("privacy", "/tmp/x.sqlite")'``.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from flask import Flask, render_template, session
from jinja2 import DictLoader

KINDS = ("bare", "security", "privacy")
EMAIL = "reader@example.org"
USERNAME = "reader"
PASSWORD = "correct-horse-battery-staple"
SECRET_KEY = "benchmark-secret-key-not-for-production"

LAYOUT = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{% block title %}{% endblock %} · Example Blog</title>
  <link rel="stylesheet" href="/static/site.css">
  {% if privacy_head is defined %}{{ privacy_head() }}{% endif %}
</head>
<body>
  <header class="site-header">
    <a class="site-brand" href="/">Example Blog</a>
    <nav aria-label="Main"><ul>
      <li><a href="/">Posts</a></li><li><a href="/about">About</a></li>
      <li><a href="/archive">Archive</a></li>
    </ul></nav>
    <p class="site-account">{% if current_user.is_authenticated %}Logged in as
      {{ current_user.email }}{% else %}<a href="/login">Log in</a>{% endif %}</p>
  </header>
  <main id="main">{% block content %}{% endblock %}</main>
  <footer class="site-footer"><p>Example Blog · 10 Station Road · A benchmark page.</p></footer>
  {% if privacy_consent_banner is defined %}{{ privacy_consent_banner() }}{% endif %}
</body>
</html>
"""

PAGE = """{% extends "layout.html" %}
{% block title %}Posts{% endblock %}
{% block content %}
<h1>Recent posts</h1>
{% for post in posts %}
<article class="post">
  <h2><a href="/posts/{{ post.slug }}">{{ post.title }}</a></h2>
  <p class="post-meta">Published on {{ post.date }} by {{ post.author }}</p>
  <p>{{ post.summary }}</p>
</article>
{% endfor %}
{% endblock %}
"""

#: The bare site's login page: the same layout and a form written in HTML.
BARE_LOGIN = """{% extends "layout.html" %}
{% block title %}Log in{% endblock %}
{% block content %}
<h1>Log in</h1>
<form method="post" action="/login">
  <label for="username">Username or email address</label>
  <input id="username" name="username" type="text" autocomplete="username" required>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <label><input name="remember" type="checkbox" value="y"> Remember Me</label>
  <button type="submit">Log in</button>
</form>
{% endblock %}
"""

POSTS = [
    {
        "slug": f"post-{n}",
        "title": f"Notes from the workshop, part {n}",
        "date": f"2026-0{n}-1{n}",
        "author": "The editors",
        "summary": "A short summary of what the post says, long enough to look like the "
        "first paragraph of a real article on a small site.",
    }
    for n in range(1, 6)
]


class _Visitor:
    """What the bare site knows of a visitor: the email in its session cookie, if any."""

    def __init__(self, email: str | None) -> None:
        self.email = email
        self.is_authenticated = email is not None


def _base(kind: str, database: str | None) -> Flask:
    app = Flask(f"bench_{kind}", root_path=str(Path(__file__).parent))
    app.config.update(SECRET_KEY=SECRET_KEY, TESTING=False)
    if database is not None:
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    app.jinja_loader = DictLoader(
        {"layout.html": LAYOUT, "page.html": PAGE, "bare_login.html": BARE_LOGIN}
    )

    @app.route("/")
    def index() -> str:
        return render_template("page.html", posts=POSTS)

    return app


def _bare(database: str | None) -> Flask:
    app = _base("bare", None)

    @app.context_processor
    def visitor() -> dict[str, t.Any]:
        return {"current_user": _Visitor(session.get("email"))}

    @app.route("/login", methods=["GET", "POST"])
    def login() -> t.Any:
        return render_template("bare_login.html")

    @app.route("/bench-login")
    def bench_login() -> str:
        session["email"] = EMAIL
        return "ok"

    return app


def _security(database: str | None) -> Flask:
    from flask_security import Security, SQLAlchemyUserDatastore
    from fst_models import Role, User, db

    app = _base("security", database)
    app.config.update(
        SECURITY_PASSWORD_SALT="benchmark-salt",
        # Log in by username or email, as the extension does.
        SECURITY_USER_IDENTITY_ATTRIBUTES=[
            {"email": {"mapper": str.lower, "case_insensitive": True}},
            {"username": {"mapper": str.lower, "case_insensitive": True}},
        ],
        SECURITY_USERNAME_ENABLE=True,
    )
    db.init_app(app)
    Security(app, SQLAlchemyUserDatastore(db, User, Role))
    return app


def _privacy(database: str | None) -> Flask:
    from flask_mail import Mail
    from flask_sqlalchemy import SQLAlchemy

    from flask_allcot_privacy import Privacy

    app = _base("privacy", database)
    app.config.update(
        PRIVACY_BASE_TEMPLATE="layout.html",
        PRIVACY_SITE_NAME="Example Blog",
        PRIVACY_RATELIMIT_ENABLED=False,
        PRIVACY_MAIL_SEND_AFTER_REQUEST=False,
        MAIL_SUPPRESS_SEND=True,
        MAIL_DEFAULT_SENDER="site@example.org",
    )
    db, mail = SQLAlchemy(), Mail()
    db.init_app(app)
    mail.init_app(app)
    Privacy().init_app(app, db=db, mail=mail)
    return app


def create(kind: str, database: str | None = None) -> Flask:
    """The host site of ``kind`` on the SQLite file ``database``."""
    factory = {"bare": _bare, "security": _security, "privacy": _privacy}[kind]
    return factory(database)


def seed(app: Flask, kind: str) -> None:
    """Create the tables and the one member the logged-in pages show."""
    if kind == "bare":
        return
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.create_all()
        if kind == "security":
            from flask_security import hash_password

            datastore = app.extensions["security"].datastore
            if datastore.find_user(email=EMAIL) is None:
                datastore.create_user(
                    email=EMAIL, username=USERNAME, password=hash_password(PASSWORD)
                )
        else:
            import sqlalchemy as sa

            from flask_allcot_privacy.accounts.passwords import hash_password as privacy_hash
            from flask_allcot_privacy.clock import utcnow
            from flask_allcot_privacy.models import User

            if db.session.scalar(sa.select(User.id).where(User.username_key == USERNAME)) is None:
                db.session.add(
                    User(
                        username=USERNAME,
                        username_key=USERNAME,
                        email=EMAIL,
                        email_key=EMAIL,
                        password_hash=privacy_hash(PASSWORD),
                        password_set_at=utcnow(),
                    )
                )
        db.session.commit()
