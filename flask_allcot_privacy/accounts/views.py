"""Account pages: register, set or reset a password, log in and out, confirm an email."""

from __future__ import annotations

import typing as t

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import cookies, outbox, ratelimit, signals, tokens
from ..errors import form_expired, token_problem
from ..models import User
from ..redirects import safe_target
from ..state import current_db
from . import bp, passwords, resets, service, sessions
from .forms import (
    ConfirmForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    SetPasswordForm,
)

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
    try:
        user = service.create_member(
            form.username.data,
            form.email.data,
            marketing_opt_in=bool(form.marketing_opt_in.data),
            send_link="welcome",
        )
    except service.EmailTaken:
        # Same answer on screen; the owner is told by email instead of getting a second account.
        existing = service.find_by_email(form.email.data)
        if existing is not None:
            outbox.queue("account_exists", existing.email, user=existing)
            db.session.commit()
        return redirect(url_for(".check_email"))
    except service.AccountError as error:
        form[error.field or "username"].errors.append(str(error))
        return _invalid("privacy/accounts/register.html", form=form)
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
    try:
        # A new password ends every login made with the old one, everywhere.
        first_time = service.set_password(user, form.password.data)
    except service.CredentialsChanged:
        current_db().session.rollback()
        return token_problem(tokens.TokenUsed())
    except service.AccountError as error:
        form.password.errors.append(str(error))
        return _invalid(template, form=form, user=user)
    if not first_time:
        outbox.queue("password_changed", user.email, user=user)
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
    # The lookup, the new link and the email wait until this answer is sent, the same
    # for every address, so neither the answer nor its timing tells who has an account.
    resets.send_after_response(form.email.data)
    return redirect(url_for(".check_email"))


def _login_page(form: LoginForm | None, status: int = 200) -> Response:
    """The login page; on a GET without a form (the template writes the fields itself)."""
    response = current_app.make_response(
        (render_template("privacy/accounts/login.html", form=form), status)
    )
    cookies.set_cookie(response, "test_cookie", TEST_COOKIE_VALUE)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> t.Any:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_target(request.args.get("next")) or url_for(".profile"))
        return _login_page(None)
    form = LoginForm()
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
    user = service.find_by_login(identifier)
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
        raise form_expired()
    user = current_user._get_current_object() if current_user.is_authenticated else None
    sessions.end_current()
    current_db().session.commit()
    if user is not None:
        signals.send(signals.user_logged_out, user=user)
    return redirect(url_for(".login", logged_out=1))
