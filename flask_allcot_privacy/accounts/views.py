"""Account pages: register, set or reset a password, log in and out, confirm an email."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import cookies, mail, ratelimit, signals, tokens
from ..clock import utcnow
from ..models import User
from ..redirects import safe_target
from ..state import current_db
from . import bp, passwords, sessions
from .forms import (
    ConfirmForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    SetPasswordForm,
)
from .mailings import find_by_email, send_password_link, stand_in, token_problem

TEST_COOKIE_VALUE = "1"


def _invalid(template: str, **context: t.Any) -> tuple[str, int]:
    """The form again with its messages, status 400."""
    return render_template(template, **context), 400


@bp.route("/register", methods=["GET", "POST"])
def register() -> t.Any:
    form = RegisterForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            return _invalid("privacy/accounts/register.html", form=form)
        return render_template("privacy/accounts/register.html", form=form)
    ratelimit.hit_per_ip("email-forms", "PRIVACY_EMAIL_LIMIT_PER_IP")
    db = current_db()
    username, email = form.username.data, form.email.data
    if db.session.scalar(sa.select(User.id).where(User.username_key == username.lower())):
        form.username.errors.append(_("This username is taken. Please choose another."))
        return _invalid("privacy/accounts/register.html", form=form)
    existing = find_by_email(email)
    if existing is not None:
        # Same answer on screen; the owner is told by email instead of getting a second account.
        mail.queue("account_exists", existing.email, user=existing)
        db.session.commit()
        return redirect(url_for(".check_email"))
    user = User(
        username=username,
        username_key=username.lower(),
        email=email,
        email_key=email.lower(),
    )
    if form.marketing_opt_in.data:
        user.marketing_opt_in = True
        user.marketing_opt_in_at = utcnow()
    db.session.add(user)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Someone registered the same name or address a moment ago.
        db.session.rollback()
        if find_by_email(email) is not None:
            return redirect(url_for(".check_email"))
        form.username.errors.append(_("This username is taken. Please choose another."))
        return _invalid("privacy/accounts/register.html", form=form)
    send_password_link(user, reason="welcome")
    db.session.commit()
    signals.send(signals.user_registered, user=user)
    return redirect(url_for(".check_email"))


@bp.route("/check-email")
def check_email() -> str:
    return render_template("privacy/accounts/check_email.html")


def _user_for_password_token(token: str) -> User:
    """The user a set-password link is for; raises TokenError when it cannot be used."""
    payload = tokens.read(tokens.SET_PASSWORD, token)
    user: User | None = current_db().session.get(User, payload.get("uid"))
    if user is None or user.erased_at is not None:
        raise tokens.TokenInvalid()
    tokens.check_stamp(payload, user.credential_version)
    return user


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> t.Any:
    try:
        user = _user_for_password_token(token)
    except tokens.TokenError as error:
        return token_problem(error)
    form = SetPasswordForm()
    template = "privacy/accounts/set_password.html"
    if not form.validate_on_submit():
        if request.method == "POST":
            return _invalid(template, form=form, user=user)
        return render_template(template, form=form, user=user)
    problem = passwords.problem_with(form.password.data, user.username, user.email)
    if problem:
        form.password.errors.append(problem)
        return _invalid(template, form=form, user=user)
    first_time = user.password_hash is None
    user.password_hash = passwords.hash_password(form.password.data)
    user.password_set_at = utcnow()
    user.credential_version += 1
    # A new password ends every login made with the old one, everywhere.
    sessions.revoke_all_for(user)
    if not first_time:
        mail.queue("password_changed", user.email, user=user)
    current_db().session.commit()
    signals.send(signals.password_set, user=user)
    flash(_("Your password is set. You can log in now."), "success")
    return redirect(url_for(".login"))


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password() -> t.Any:
    form = ResetPasswordForm()
    template = "privacy/accounts/reset_password.html"
    if not form.validate_on_submit():
        if request.method == "POST":
            return _invalid(template, form=form)
        return render_template(template, form=form)
    ratelimit.hit_per_ip("email-forms", "PRIVACY_EMAIL_LIMIT_PER_IP")
    # Per address too, known or not (so the limit reveals nothing), so nobody can keep
    # voiding someone's reset links by asking for new ones.
    ratelimit.hit("email-address", "PRIVACY_EMAIL_LIMIT_PER_ADDRESS", form.email.data.lower())
    user = find_by_email(form.email.data)
    known = user is not None and user.erased_at is None
    # One code path for every address, so the answer's timing reveals no account: the
    # link and the email are made either way (no password hashing on either path); only
    # a member's is stored and sent.
    target = user if known and user is not None else stand_in(form.email.data)
    target.credential_version += 1  # a newer link voids the older ones
    send_password_link(target, reason="reset", deliver=known)
    current_db().session.commit()
    return redirect(url_for(".check_email"))


def _login_page(form: LoginForm, status: int = 200) -> Response:
    response = current_app.make_response(
        (render_template("privacy/accounts/login.html", form=form), status)
    )
    cookies.set_cookie(response, "test_cookie", TEST_COOKIE_VALUE)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> t.Any:
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_target(request.args.get("next")) or url_for(".profile"))
        return _login_page(form)
    if not form.validate_on_submit():
        return _login_page(form, 400)
    if request.cookies.get(cookies.spec("test_cookie").cookie_name()) != TEST_COOKIE_VALUE:
        form.form_errors.append(
            _("Your browser must accept cookies to log in. Please enable cookies and try again.")
        )
        return _login_page(form, 400)
    identifier = form.username.data.lower()
    ratelimit.hit_per_ip("login-ip", "PRIVACY_LOGIN_LIMIT_PER_IP")
    db = current_db()
    user = db.session.scalar(
        sa.select(User).where(sa.or_(User.username_key == identifier, User.email_key == identifier))
    )
    # Per account *and* client (docs/accounts.rst): one address cannot lock a member out
    # everywhere, and past the limit the answer is the ordinary "not right" (the password
    # is still checked, for the same work), so no 429 tells which username and email
    # share an account. The per-IP limit above answers 429 whatever was typed.
    account = f"user:{user.id}" if user is not None else f"typed:{identifier}"
    allowed = ratelimit.allow(
        "login-account-ip", "PRIVACY_LOGIN_LIMIT_PER_ACCOUNT", f"{account}|{ratelimit.client_key()}"
    )
    verified = passwords.verify(user, form.password.data)
    if not verified or not allowed or user is None or not user.is_active:
        signals.send(signals.login_failed, username=form.username.data)
        form.form_errors.append(_("The username or password is not right."))
        return _login_page(form, 400)
    sessions.start(user, remember=bool(form.remember.data))
    db.session.commit()
    signals.send(signals.user_logged_in, user=user, remember=bool(form.remember.data))
    return redirect(safe_target(request.args.get("next")) or url_for(".profile"))


@bp.route("/logout", methods=["POST"])
def logout() -> t.Any:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = current_user._get_current_object() if current_user.is_authenticated else None
    sessions.end_current()
    current_db().session.commit()
    if user is not None:
        signals.send(signals.user_logged_out, user=user)
    return redirect(url_for(".login", logged_out=1))
