"""The member's profile: details, display name, email change, sessions, public page."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from .. import outbox, ratelimit, signals, single_use, tokens
from ..errors import form_expired, token_problem
from ..marketing import subscriptions
from ..models import DISPLAY_NAME_CHOICES, User
from ..state import current_db
from . import bp, passwords, sessions
from .forms import ConfirmForm, ProfileForm
from .service import find_by_email

#: Profile fields copied as they are from the form onto the member.
PLAIN_FIELDS = (
    "first_name",
    "last_name",
    "website",
    "bio",
    "public_profile",
    "allow_indexing",
)


def _me() -> User:
    return t.cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def _page(form: ProfileForm, user: User, status: int = 200) -> tuple[str, int]:
    preview = User(
        username=user.username,
        first_name=form.first_name.data or "",
        last_name=form.last_name.data or "",
    )
    form.display_name.choices = [
        SelectChoice(value, label) for value, label in preview.display_name_options()
    ]
    erase_url = f"{current_app.config['PRIVACY_URL_PREFIX']}/request?request_type=erase"
    body = render_template(
        "privacy/accounts/profile.html",
        form=form,
        user=user,
        login_sessions=sessions.active_for(user),
        this_session=sessions.current(),
        end_others_form=ConfirmForm(prefix="sessions"),
        erase_url=erase_url,
    )
    return body, status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> t.Any:
    user = _me()
    if request.method == "GET":
        form = ProfileForm(obj=user, display_name=user.display_name_choice)
        return _page(form, user)
    form = ProfileForm()
    # Every choice passes the select's own check; availability is judged below.
    form.display_name.choices = [SelectChoice(value) for value in DISPLAY_NAME_CHOICES]
    if not form.validate():
        return _page(form, user, 400)
    preview = User(
        username=user.username,
        first_name=form.first_name.data,
        last_name=form.last_name.data,
    )
    if form.display_name.data not in dict(preview.display_name_options()):
        form.display_name.errors.append(_("Fill in the names this display name uses first."))
        return _page(form, user, 400)
    new_email = form.email.data
    email_changes = new_email.lower() != user.email_key
    if email_changes:
        # The password check is a login in disguise, and the change sends email.
        ratelimit.hit("login-account", "PRIVACY_LOGIN_LIMIT_PER_ACCOUNT", f"user:{user.id}")
        ratelimit.hit_per_ip("email-forms", "PRIVACY_EMAIL_LIMIT_PER_IP")
    if email_changes and not passwords.verify(user, form.current_password.data or ""):
        form.current_password.errors.append(_("Enter your current password to change your email."))
        return _page(form, user, 400)

    changed = [name for name in PLAIN_FIELDS if getattr(user, name) != getattr(form, name).data]
    for name in changed:
        setattr(user, name, getattr(form, name).data)
    if user.display_name_choice != form.display_name.data:
        user.display_name_choice = form.display_name.data
        changed.append("display_name")
    if user.marketing_opt_in != form.marketing_opt_in.data:
        # The subscription row records the choice with its time and source; it sets the flag.
        subscriptions.record_member_choice(user, bool(form.marketing_opt_in.data))
        changed.append("marketing_opt_in")
    if email_changes:
        _request_email_change(user, new_email)
    current_db().session.commit()
    if changed:
        signals.send(signals.profile_updated, user=user, changed=changed)
    if email_changes:
        flash(
            _(
                "Check %(email)s for a link to confirm your new address. "
                "Until then, the old one stays.",
                email=new_email,
            ),
            "success",
        )
    else:
        flash(_("Your profile is saved."), "success")
    return redirect(url_for(".profile"))


def _email_change_state(user: User) -> tuple[str, int]:
    """What a pending email-change link is bound to.

    The credential version is part of it: a password reset, or "log out everywhere
    else", voids a change an intruder may have asked for from a hijacked session.
    """
    return (user.email_key, user.credential_version)


def _email_change_stamp(user: User) -> str:
    return tokens.stamp(*_email_change_state(user))


def _request_email_change(user: User, new_email: str) -> None:
    """Send the confirmation link to the new address and a notice to the old one."""
    if find_by_email(new_email) is not None:
        # Never say on screen that the address has an account; tell its owner instead.
        outbox.queue("email_in_use", new_email)
    else:
        token = tokens.make(
            tokens.CHANGE_EMAIL,
            {"uid": user.id, "email": new_email, "stamp": _email_change_stamp(user)},
        )
        outbox.queue(
            "confirm_email",
            new_email,
            user=user,
            link=url_for(".confirm_email", token=token, _external=True),
        )
    outbox.queue("email_change_requested", user.email, user=user, new_email=new_email)


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> t.Any:
    try:
        payload = tokens.read(tokens.CHANGE_EMAIL, token)
        user = current_db().session.get(User, payload.get("uid"))
        if user is None or user.erased_at is not None:
            raise tokens.TokenInvalid()
        tokens.check_stamp(payload, *_email_change_state(user))
    except tokens.TokenError as error:
        return token_problem(error)
    form = ConfirmForm()
    new_email = str(payload["email"])
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template(
            "privacy/accounts/confirm_email.html", form=form, new_email=new_email
        ), status
    if find_by_email(new_email) is not None:
        return token_problem(tokens.TokenUsed())
    old_email = user.email
    db = current_db()
    try:
        # Of many simultaneous uses of the link, only the first still finds the old state.
        won = single_use.consume(
            user,
            dict(zip(("email_key", "credential_version"), _email_change_state(user), strict=True)),
            email=new_email,
            email_key=new_email.lower(),
        )
    except sa.exc.IntegrityError:
        won = False  # another account took the address a moment ago
    if not won:
        db.session.rollback()
        return token_problem(tokens.TokenUsed())
    subscriptions.follow_email_change(user, old_email)
    db.session.commit()
    signals.send(signals.email_changed, user=user, old_email=old_email)
    flash(_("Your email address is now %(email)s.", email=new_email), "success")
    return redirect(url_for(".profile") if current_user.is_authenticated else url_for(".login"))


@bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions() -> t.Any:
    form = ConfirmForm(prefix="sessions")
    if not form.validate_on_submit():
        raise form_expired()
    user = _me()
    count = sessions.revoke_all_for(user, keep=sessions.current())
    # Links an intruder may have asked for meanwhile (reset, email change) stop working.
    single_use.increment(user, "credential_version")
    current_db().session.commit()
    flash(_("Logged out of %(count)s other session(s).", count=count), "success")
    return redirect(url_for(".profile"))


@bp.route("/u/<username>")
def public_profile(username: str) -> t.Any:
    user = current_db().session.scalar(sa.select(User).where(User.username_key == username.lower()))
    if user is None or not user.public_profile or user.erased_at is not None:
        abort(404)
    response = current_app.make_response(
        render_template("privacy/accounts/public_profile.html", member=user)
    )
    if not user.allow_indexing:
        response.headers["X-Robots-Tag"] = "noindex"
    return response
