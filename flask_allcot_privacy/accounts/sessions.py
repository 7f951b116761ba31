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
from flask import Flask, current_app, g, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user

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


def load_user(token: str) -> User | None:
    """Flask-Login's user loader: the user of a live, unrevoked login session."""
    row = current_db().session.scalar(
        sa.select(LoginSession).where(LoginSession.token_hash == _hash(token))
    )
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user: User = row.user
    if not user.is_active:
        return None
    user.login_token = token
    g._privacy_login_session = row
    if now - row.last_seen_at >= current_app.config["PRIVACY_SESSION_TOUCH_INTERVAL"]:
        _touch(row.id, now)
    return user


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
    """The login session of this request, if a member is logged in."""
    return t.cast("LoginSession | None", g.get("_privacy_login_session"))


def end_current() -> None:
    """Log out: revoke this login session on the server and forget it in the cookies."""
    row = current()
    if row is not None:
        row.revoked_at = utcnow()
    logout_user()
    session.clear()
    g._privacy_login_session = None
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


class LoginSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with an absolute expiry for logged-in sessions.

    Flask would move a permanent session's expiry forward each time it is saved;
    the policy's "two days" is counted from login, so the expiry is pinned.
    """

    def open_session(self, app: Flask, request: t.Any) -> t.Any:
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
    login_manager = LoginManager()
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
