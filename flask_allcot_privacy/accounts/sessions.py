"""Server-side login sessions, Flask-Login's set-up and the login cookies' settings.

A login is a :class:`~..models.LoginSession` row. The cookies carry only a random
token whose SHA-256 the row stores; Flask-Login sees that token as the "user id"
(its documented alternative-token pattern). Revoking the row on the server makes
every copy of the cookies worthless at once. Expiry is absolute: two days from
login, fourteen with "Remember Me", enforced by the row and by the cookies.
"""

from __future__ import annotations

import hashlib
import secrets
import typing as t
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_login.signals import user_accessed
from itsdangerous import URLSafeTimedSerializer

from .. import cookies
from ..clock import utcnow
from ..ipaddr import request_ip, request_user_agent
from ..models import LoginSession, User
from ..state import current_db, state_for

#: Session key holding when the session cookie must expire (epoch seconds).
COOKIE_EXPIRES_KEY = "_privacy_expires"
_LOGIN_KEYS = (
    "_user_id",
    "_fresh",
    "_id",
    "_remember",
    "_remember_seconds",
    COOKIE_EXPIRES_KEY,
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, *, remember: bool) -> LoginSession:
    """Log ``user`` in with a new server session; the caller commits.

    The Flask session is cleared first, so nothing from before the login
    (a fixated session, say) survives it.
    """
    config = current_app.config
    now = utcnow()
    lifetime = config["PRIVACY_REMEMBER_LIFETIME" if remember else "PRIVACY_SESSION_LIFETIME"]
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        user=user,
        token_hash=_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        remember=remember,
        ip_address=request_ip(),
        user_agent=request_user_agent(),
    )
    current_db().session.add(row)
    session.clear()
    user.login_token = token
    login_user(
        user,
        remember=remember,
        duration=config["PRIVACY_REMEMBER_LIFETIME"],
        fresh=True,
    )
    session.permanent = True
    session[COOKIE_EXPIRES_KEY] = int((now + config["PRIVACY_SESSION_LIFETIME"]).timestamp())
    g._privacy_login_session = row
    return row


#: Built once: SQLAlchemy then reuses its compiled form and cache key on every request.
#: The member is the one entity loaded; of the login session only what the check reads
#: (loading the row as an object too cost about 40 µs a request).
_MEMBER_OF_LOGIN = (
    sa.select(
        User,
        LoginSession.id,
        LoginSession.revoked_at,
        LoginSession.expires_at,
        LoginSession.last_seen_at,
    )
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(LoginSession.token_hash == sa.bindparam("token_hash"))
)


def load_user(token: str) -> User | None:
    """Flask-Login's user loader: the user of a live, unrevoked login session.

    One indexed query per request (the session row joined with its member), so a
    revoked or expired login stops working at once; "last seen" is written at most
    once per ``PRIVACY_SESSION_TOUCH_INTERVAL``, not on every request.
    """
    found = current_db().session.execute(_MEMBER_OF_LOGIN, {"token_hash": _hash(token)}).first()
    if found is None:
        return None
    user, row_id, revoked_at, expires_at, last_seen_at = found
    now = utcnow()
    if revoked_at is not None or expires_at <= now or not user.is_active:
        return None
    user.login_token = token
    g._privacy_login_session_id = row_id
    if now - last_seen_at >= current_app.config["PRIVACY_SESSION_TOUCH_INTERVAL"]:
        _touch(row_id, now)
    return user  # type: ignore[no-any-return]


def _touch(row_id: int, now: datetime) -> None:
    """Record "last seen" outside the request's transaction, never failing the request."""
    try:
        with state_for(current_app).db.engine.begin() as connection:
            connection.execute(
                sa.update(LoginSession).where(LoginSession.id == row_id).values(last_seen_at=now)
            )
    except sa.exc.OperationalError:
        current_app.logger.info("Could not record last-seen for login session %s.", row_id)


def current() -> LoginSession | None:
    """The login session of this request, if a member is logged in (loaded on first use)."""
    if not has_request_context():
        return None
    row = g.get("_privacy_login_session")
    if row is None and current_user.is_authenticated:  # loading the member sets the id
        row_id = g.get("_privacy_login_session_id")
        if row_id is not None:
            row = g._privacy_login_session = current_db().session.get(LoginSession, row_id)
    return t.cast("LoginSession | None", row)


def end_current() -> None:
    """Log out: revoke this login session on the server and forget it in the cookies."""
    row = current()
    if row is not None:
        row.revoked_at = utcnow()
    logout_user()
    session.clear()
    g._privacy_login_session = g._privacy_login_session_id = None
    g._privacy_forget_login_cookies = True


def revoke_all_for(user: User, *, keep: LoginSession | None = None) -> int:
    """Revoke every live login session of ``user`` except ``keep``; the caller commits."""
    query = sa.update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep.id)
    result = current_db().session.execute(query.values(revoked_at=utcnow()))
    return int(t.cast(sa.CursorResult[t.Any], result).rowcount)


def active_for(user: User) -> list[LoginSession]:
    """The member's live login sessions, newest first."""
    return list(
        current_db().session.scalars(
            sa.select(LoginSession)
            .where(
                LoginSession.user_id == user.id,
                LoginSession.revoked_at.is_(None),
                LoginSession.expires_at > utcnow(),
            )
            .order_by(LoginSession.created_at.desc())
        )
    )


class LoginSessionManager(LoginManager):
    """Flask-Login's manager, answering at once for a visitor who brings no login cookie.

    With an empty session and no remember cookie the visitor is anonymous whatever
    else the request holds; Flask-Login would still hash their address and browser
    for session protection and look for an auth header. Skipping that keeps pages
    for anonymous visitors nearly free. Everything else is Flask-Login's own path.
    """

    def _load_user(self) -> t.Any:
        remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        if (
            not session
            and remember not in request.cookies
            and self._request_callback is None
            and getattr(self, "_header_callback", None) is None
        ):
            user_accessed.send(current_app._get_current_object())  # type: ignore[attr-defined]
            return self._update_request_context_with_user()
        return super()._load_user()

    def _update_remember_cookie(self, response: t.Any) -> t.Any:
        # Only a session holding "_remember" has a remember cookie to set or clear, unless
        # the cookie is refreshed on every request (turned off by configure_login_cookies).
        if "_remember" not in session and not current_app.config.get(
            "REMEMBER_COOKIE_REFRESH_EACH_REQUEST"
        ):
            return response
        return super()._update_remember_cookie(response)


class LoginSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with an absolute expiry for logged-in sessions.

    Flask would move a permanent session's expiry forward each time it is saved;
    the policy's "two days" is counted from login, so the expiry is pinned. It runs
    on every request, so the signing serializer is built once per key, not per request,
    and a request without a session cookie opens an empty session without one.
    """

    _signer: tuple[tuple[t.Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._signer is None or self._signer[0] != keys:
            self._signer = (keys, super().get_signing_serializer(app))
        return self._signer[1]

    def open_session(self, app: Flask, request: t.Any) -> t.Any:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        opened = super().open_session(app, request)
        expires = opened.get(COOKIE_EXPIRES_KEY) if opened is not None else None
        if opened is not None and expires is not None and expires <= utcnow().timestamp():
            # The session cookie outlived its two days (a copy, or a clock trick):
            # drop the login it carries. A remember cookie may still log in again.
            for key in _LOGIN_KEYS:
                opened.pop(key, None)
            opened.permanent = False
        return opened

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure as :func:`..cookies.secure_flag` decides (with ``"auto"``: on HTTPS)."""
        return cookies.secure_flag()

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        expires = session.get(COOKIE_EXPIRES_KEY)
        if session.permanent and expires is not None:
            return datetime.fromtimestamp(expires, UTC)
        return super().get_expiration_time(app, session)


def forget_login_cookies(response: t.Any) -> t.Any:
    """After logout, delete the remember cookie and the session cookie outright."""
    if g.pop("_privacy_forget_login_cookies", False):
        cookies.delete_cookie(response, "remember")
    return response


def configure_login_cookies(app: Flask) -> None:
    """Set Flask's and Flask-Login's cookie settings to the policy's lifetimes and safe flags.

    Flask's defaults (a 31-day session, no Secure flag) and Flask-Login's (a 365-day
    remember cookie) break the policy, so they are replaced, not left to ``setdefault``.
    """
    config = app.config
    config["PERMANENT_SESSION_LIFETIME"] = config["PRIVACY_SESSION_LIFETIME"]
    config["SESSION_REFRESH_EACH_REQUEST"] = False
    config["SESSION_COOKIE_HTTPONLY"] = True
    if config.get("SESSION_COOKIE_SAMESITE") not in ("Strict", "Lax"):
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["REMEMBER_COOKIE_DURATION"] = config["PRIVACY_REMEMBER_LIFETIME"]
    config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = False
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    if config.get("REMEMBER_COOKIE_SAMESITE") not in ("Strict", "Lax"):
        config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    # Fixed here only when fixed by the setting; with "auto", cookies.add_secure_flag
    # adds the flag per response, as cookies.secure_flag decides.
    always = config["PRIVACY_COOKIE_SECURE"] is True
    config["SESSION_COOKIE_SECURE"] = always
    config["REMEMBER_COOKIE_SECURE"] = always


def create_login_manager(app: Flask) -> LoginManager:
    """Flask-Login, set up for server-side sessions: the loader and where to log in."""
    login_manager = LoginSessionManager()
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "privacy_accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    return login_manager


def init_app(app: Flask) -> None:
    """Install the pinned-expiry session cookie and the logout hook."""
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = LoginSessionInterface()
    else:
        app.logger.warning(
            "flask-allcot-privacy: the app has a custom session interface, so the session "
            "cookie's absolute two-day expiry is left to it; the server still enforces it."
        )
    app.after_request(forget_login_cookies)
