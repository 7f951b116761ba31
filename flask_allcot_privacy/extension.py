"""The :class:`Privacy` extension: one ``init_app`` wires every part into a host app."""

from __future__ import annotations

import typing as t

from flask import Blueprint, Flask, Response
from flask_babel import Babel
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    caching,
    cookies,
    errors,
    headers,
    logsafe,
    outbox,
    ratelimit,
    retention,
    settings,
    text,
    urlargs,
)
from .accounts import sessions
from .comments.targets import Resolver as CommentTargetResolver
from .models import Base
from .state import EXTENSION_KEY, PrivacyState

if t.TYPE_CHECKING:
    from .rights.registry import AddressQuery

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


class Privacy:
    """The privacy layer for a Flask app.

    .. code-block:: python

        db = SQLAlchemy(); mail = Mail(); privacy = Privacy()
        db.init_app(app); mail.init_app(app)
        privacy.init_app(app, db=db, mail=mail)

    The host keeps its own ``SQLAlchemy`` and ``Mail`` objects; the extension
    adds its tables to ``db.metadata`` and never creates a second engine.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: SQLAlchemy | None = None,
        mail: Mail | None = None,
    ) -> None:
        self.db = db
        self.mail = mail
        from .rights.registry import Registry

        #: The host's own exporters and erasers (see :meth:`exporter`, :meth:`eraser`).
        self.personal_data = Registry()
        #: The host's comment target resolver, set with :meth:`comment_target`.
        self.comment_target_resolver: CommentTargetResolver | None = None
        #: Retention rules the host added, in order (see :mod:`.retention`).
        self.host_retention_rules: list[retention.RetentionRule] = []
        if db is not None:
            # Early, so host models defined at import time can reference privacy_user.
            share_tables(db)
        if app is not None:
            self.init_app(app)

    def exporter(self, name: str, title: str) -> t.Callable[[F], F]:
        """Register a function that yields a subject's ``name`` items for the export.

        ``title`` heads them in the report. See :doc:`/export-erasure`.
        """
        return self.personal_data.exporter(name, title)

    def eraser(
        self, name: str, *, title: str | None = None, addresses: AddressQuery | None = None
    ) -> t.Callable[[F], F]:
        """Register a function that erases a subject's ``name`` data and returns ``Erased``.

        ``addresses`` is a query of the addresses this data is kept under, so that
        ``flask privacy replay-erasures`` finds people only it knows. See :doc:`/export-erasure`.
        """
        return self.personal_data.eraser(name, title=title, addresses=addresses)

    def init_app(
        self, app: Flask, *, db: SQLAlchemy | None = None, mail: Mail | None = None
    ) -> None:
        """Check the configuration and register models, blueprints, hooks and commands.

        Call it once per app, after ``db.init_app(app)`` and ``mail.init_app(app)``.

        The following keys from ``app.config`` are read:

        - every ``PRIVACY_*`` key (``docs/config.rst``): missing ones are set to their
          defaults and all are checked here, so a bad value fails now, not on a request.
          The URL prefixes, ``PRIVACY_TRUSTED_PROXIES``, ``PRIVACY_RATELIMIT_STORAGE_URI``
          and ``PRIVACY_ERROR_PAGES`` are used at this call only; the lifetimes and
          ``PRIVACY_COOKIE_SECURE`` are also copied into Flask's and Flask-Login's
          cookie settings here. The rest are read when needed, during requests and
          commands. Set the configuration before this call;
        - ``SECRET_KEY`` (required) and ``SECRET_KEY_FALLBACKS``, to sign cookies and
          emailed links;
        - ``SERVER_NAME``, ``PREFERRED_URL_SCHEME`` and ``APPLICATION_ROOT``, for links
          in email sent from the command line; ``MAIL_DEFAULT_SENDER`` unless
          ``PRIVACY_MAIL_SENDER`` is set.

        These keys are set, replacing the host's values, because Flask's and
        Flask-Login's defaults break the policy: ``PERMANENT_SESSION_LIFETIME``,
        ``SESSION_REFRESH_EACH_REQUEST``, ``SESSION_COOKIE_HTTPONLY``,
        ``SESSION_COOKIE_SECURE``, ``REMEMBER_COOKIE_DURATION``,
        ``REMEMBER_COOKIE_REFRESH_EACH_REQUEST``, ``REMEMBER_COOKIE_HTTPONLY``,
        ``REMEMBER_COOKIE_SECURE``, and ``SESSION_COOKIE_SAMESITE`` and
        ``REMEMBER_COOKIE_SAMESITE`` unless they are ``Strict`` or ``Lax``.

        :raises ConfigurationError: a ``PRIVACY_*`` key is unknown or holds a bad value.
        :raises RuntimeError: the app lacks something the extension needs (the message
            says what).
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "Privacy.init_app() was already called on this app. Call it once per app; "
                "to change settings, set app.config before that call."
            )
        db = db or self.db
        host_mail = mail or self.mail
        _check_host(app, db, host_mail)
        hosts_hooks = list(app.after_request_funcs.get(None, ()))
        assert db is not None
        assert host_mail is not None
        settings.apply_defaults(app)
        settings.check(app)
        sessions.configure_login_cookies(app)

        share_tables(db)

        if "babel" not in app.extensions:
            Babel(app)

        login_manager = sessions.create_login_manager(app)
        limiter = ratelimit.make_limiter(app)

        if app.config["PRIVACY_TRUSTED_PROXIES"]:
            hops = app.config["PRIVACY_TRUSTED_PROXIES"]
            app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
                app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
            )

        app.extensions[EXTENSION_KEY] = PrivacyState(
            privacy=self,
            db=db,
            mail=host_mail,
            login_manager=login_manager,
            limiter=limiter,
        )

        app.jinja_env.add_extension("jinja2.ext.do")
        app.register_blueprint(
            Blueprint(
                "allcot_privacy",
                __name__,
                template_folder="templates",
                static_folder="static",
                static_url_path="/static",
            ),
            url_prefix=app.config["PRIVACY_URL_PREFIX"],
        )
        app.add_template_global(_endpoints, "privacy_endpoints")
        app.add_template_global(urlargs.same_page_args, "privacy_same_page_args")
        app.add_template_filter(text.paragraphs, "privacy_paragraphs")
        # Flask-WTF's own global, as CSRFProtect would register it, for forms built by hand.
        app.jinja_env.globals.setdefault("csrf_token", generate_csrf)

        from . import accounts, cli, comments, consent, contact, marketing, rights, staff

        parts: list[tuple[t.Any, str]] = [
            (accounts, "PRIVACY_ACCOUNTS_URL_PREFIX"),
            (comments, "PRIVACY_COMMENTS_URL_PREFIX"),
            (consent, "PRIVACY_URL_PREFIX"),
            (contact, "PRIVACY_URL_PREFIX"),
            (marketing, "PRIVACY_URL_PREFIX"),
            (rights, "PRIVACY_URL_PREFIX"),
            (staff, "PRIVACY_STAFF_URL_PREFIX"),
        ]
        for part, prefix_key in parts:
            app.register_blueprint(part.bp, url_prefix=app.config[prefix_key])
            part.init_app(app)

        outbox.init_app(app)
        ratelimit.init_app(app)
        errors.init_app(app)
        headers.init_app(app)
        logsafe.init_app(app)
        _limit_request_size(app)
        # Run last, after Flask-Login has set the remember cookie.
        app.after_request_funcs.setdefault(None, []).insert(0, caching.keep_private)
        app.after_request_funcs[None].insert(0, cookies.add_secure_flag)
        _fold_after_request_hooks(app, hosts_hooks)
        app.cli.add_command(cli.privacy_group)

    def comment_target(self, resolver: CommentTargetResolver) -> CommentTargetResolver:
        """Decorator: register the function that says which comment targets exist.

        It gets a target key (``"post:12"``) and returns a
        :class:`~flask_allcot_privacy.CommentTarget` (title, URL) or ``None``. Comments
        posted to a key it does not know get a 404 and nothing is stored.
        """
        self.comment_target_resolver = resolver
        return resolver

    def retention_rule(
        self, name: str, description: str
    ) -> t.Callable[[retention.ApplyRule], retention.ApplyRule]:
        """Decorator: add a retention rule that ``flask privacy purge`` runs.

        .. code-block:: python

            @privacy.retention_rule("orders", "Orders older than 10 years deleted")
            def purge_orders(now: datetime, dry_run: bool) -> int:
                old = Order.created_at < now - timedelta(days=3653)
                if dry_run:
                    return db.session.scalar(select(func.count()).where(old))
                return db.session.execute(delete(Order).where(old)).rowcount

        The function acts with set-based statements, returns how many rows it changed
        (or would change, when ``dry_run``) and must not commit: ``purge`` does, or
        rolls back a dry run.
        """

        def register(apply: retention.ApplyRule) -> retention.ApplyRule:
            self.host_retention_rules.append(retention.RetentionRule(name, description, apply))
            return apply

        return register

    def financial_records(self, name: str, column: t.Any, description: str = "") -> None:
        """Keep a table of financial records ``PRIVACY_RETAIN_FINANCIAL_RECORDS`` (10 years, P25).

        ``privacy.financial_records("orders", Order.created_at)`` deletes the orders whose
        ``created_at`` is older than that when ``flask privacy purge`` runs.
        """
        self.host_retention_rules.append(
            retention.financial_records_rule(name, column, description)
        )

    def send_marketing(self, template: str, **context: t.Any) -> int:
        """Queue ``privacy/email/marketing/<template>`` for every current subscriber.

        Only subscribers receive it (P20), each with an unsubscribe link and the RFC 8058
        headers (P22); batches are committed as they are queued, and ``flask privacy
        send-mail`` delivers them. Returns the number of messages queued.
        """
        from .marketing.sending import send_marketing

        return send_marketing(template, **context)


def _fold_after_request_hooks(app: Flask, hosts_hooks: list[t.Callable[..., t.Any]]) -> None:
    """Run the hooks this call added (ours and Flask-Login's) as one, in the same order.

    Flask wraps every after-request hook in ``ensure_sync`` (an ``inspect`` call) on
    every request: eight hooks cost a page about 50 Python calls. The host's own hooks
    keep their place before and after ours.
    """
    hooks = app.after_request_funcs.get(None, [])
    folded: list[t.Callable[..., t.Any]] = []
    run: list[t.Callable[..., t.Any]] = []
    for hook in [*hooks, None]:
        if hook is not None and hook not in hosts_hooks:
            run.append(hook)
            continue
        if run:
            folded.append(_in_turn(run[::-1]) if len(run) > 1 else run[0])
            run = []
        if hook is not None:
            folded.append(hook)
    hooks[:] = folded


def _in_turn(hooks: list[t.Callable[[Response], Response]]) -> t.Callable[[Response], Response]:
    """One after-request hook running ``hooks`` in order (Flask runs its list backwards)."""

    def run_after_request_hooks(response: Response) -> Response:
        for hook in hooks:
            response = hook(response)
        return response

    return run_after_request_hooks


def _limit_request_size(app: Flask) -> None:
    """Cap request bodies (413 past the cap) unless the host chose its own limits."""
    limit = app.config["PRIVACY_MAX_CONTENT_LENGTH"]
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = limit
    # Flask's own default is 500,000 bytes; a host that changed it keeps its value.
    if app.config.get("MAX_FORM_MEMORY_SIZE", 500_000) == 500_000:
        app.config["MAX_FORM_MEMORY_SIZE"] = min(limit, 500_000)


def share_tables(db: SQLAlchemy) -> None:
    """Put the extension's tables into the host's ``db.metadata``.

    The very same ``Table`` objects are shared (not copies), so ``db.create_all()``
    orders them with the host's tables, a host foreign key to ``privacy_user.id``
    and a ``relationship(User)`` both resolve, and Alembic sees every table.
    """
    for table in Base.metadata.sorted_tables:
        existing = db.metadata.tables.get(table.key)
        if existing is table:
            continue
        if existing is None:
            db.metadata._add_table(table.name, table.schema, table)
        else:
            raise RuntimeError(
                f"The host already defines a table named {table.name!r}; the privacy "
                "extension's tables use the 'privacy_' prefix, so rename the host's table."
            )


def _endpoints() -> t.KeysView[str]:
    """The app's endpoint names, so templates link only to parts that exist."""
    from flask import current_app

    return current_app.view_functions.keys()


def _check_host(app: Flask, db: SQLAlchemy | None, mail: Mail | None) -> None:
    """Refuse a host app that is missing what the extension needs, saying how to fix it."""
    if db is None:
        raise RuntimeError(
            "Privacy needs the app's SQLAlchemy object: privacy.init_app(app, db=db, mail=mail)."
        )
    if app.extensions.get("sqlalchemy") is not db:
        raise RuntimeError("Call db.init_app(app) before privacy.init_app(app, db=db, ...).")
    if mail is None:
        raise RuntimeError(
            "Privacy needs the app's Flask-Mail object: privacy.init_app(app, db=db, mail=mail)."
        )
    if "mail" not in app.extensions:
        raise RuntimeError("Call mail.init_app(app) before privacy.init_app(app, mail=mail, ...).")
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "Privacy signs cookies and email links with SECRET_KEY: set app.config['SECRET_KEY'] "
            "(for example from the FLASK_SECRET_KEY environment variable) before init_app."
        )
    if getattr(app, "login_manager", None) is not None:
        raise RuntimeError(
            "The app already has a Flask-Login LoginManager. Privacy manages logins itself "
            "(server-side sessions); remove the host's LoginManager and use current_user as before."
        )
