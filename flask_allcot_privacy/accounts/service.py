"""Members: create one, find one, set a password, and the username and email rules.

The one place accounts are made and their password changed. The account pages, the
staff tools, the command line, host import scripts and the tests all come here, and
nothing here reads a form. Functions only add to ``db.session``; the caller commits.

.. code-block:: python

    from flask_allcot_privacy import create_member

    with app.app_context():
        create_member("ada", "ada@example.com", send_link="welcome")
        db.session.commit()
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from .. import single_use
from ..clock import utcnow
from ..marketing import subscriptions
from ..models import ROLES, User
from ..state import current_db
from . import passwords, sessions
from .mailings import send_password_link

#: Letters, digits, ``.``, ``_`` and ``-``; 3 to 60 of them.
USERNAME_PATTERN = r"^[A-Za-z0-9._-]+$"
USERNAME_LENGTH = (3, 60)
EMAIL_MAX_LENGTH = 320

#: Why a set-password link is sent: the email template each reason uses.
LINK_REASONS = ("welcome", "reset", "staff")


class AccountError(ValueError):
    """An account cannot be created or changed. The message says why, in the user's words.

    :param field: the input at fault (``username``, ``email``, ``password`` or ``role``).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UsernameTaken(AccountError):
    """Another account has this username (compared without case)."""


class EmailTaken(AccountError):
    """Another account has this email address (compared without case)."""


class CredentialsChanged(AccountError):
    """The password or credential version changed since ``user`` was read.

    Another request (the same set-password link posted twice at once, say) got there
    first; a set-password page answers with "already used".
    """


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot be used, or ``None``."""
    low, high = USERNAME_LENGTH
    if not username:
        return str(_("Choose a username."))
    if not low <= len(username) <= high:
        return str(_("Use %(low)s to %(high)s characters.", low=low, high=high))
    if not re.fullmatch(USERNAME_PATTERN, username):
        return str(_("Use only letters, digits, '.', '_' and '-'."))
    return None


def normalised_email(email: str) -> str:
    """The address checked by email-validator and normalised; :class:`AccountError` if bad.

    Addresses at the reserved ``test`` domain pass only with
    ``PRIVACY_EMAIL_ALLOW_TEST_DOMAINS``.
    """
    email = email.strip()
    if not email:
        raise AccountError(_("Enter your email address."), "email")
    if len(email) > EMAIL_MAX_LENGTH:
        raise AccountError(_("Use at most %(n)s characters.", n=EMAIL_MAX_LENGTH), "email")
    try:
        return str(
            validate_email(
                email,
                check_deliverability=False,
                test_environment=current_app.config["PRIVACY_EMAIL_ALLOW_TEST_DOMAINS"],
            ).normalized
        )
    except EmailNotValidError as error:
        raise AccountError(str(error), "email") from None


def find_by_username(username: str, *, include_erased: bool = False) -> User | None:
    """The account with this username, whatever its case; erased ones only if asked."""
    user = current_db().session.scalar(
        sa.select(User).where(User.username_key == username.strip().lower())
    )
    if user is not None and user.erased_at is not None and not include_erased:
        return None
    return user


def find_by_email(email: str) -> User | None:
    """The account for an address, compared without regard to case."""
    return current_db().session.scalar(
        sa.select(User).where(User.email_key == email.strip().lower())
    )


def find_by_login(identifier: str) -> User | None:
    """The account a login form names, by username or by email address."""
    key = identifier.strip().lower()
    return current_db().session.scalar(
        sa.select(User).where(sa.or_(User.username_key == key, User.email_key == key))
    )


def create_member(
    username: str,
    email: str,
    *,
    password: str | None = None,
    role: str | None = None,
    marketing_opt_in: bool = False,
    send_link: str | None = None,
) -> User:
    """Create an account after checking the username and email rules.

    :param password: set it now (checked like any new password), or leave the member to
        choose one from a set-password link.
    :param role: a staff role from :data:`~flask_allcot_privacy.models.ROLES`, or none.
    :param send_link: queue the set-password email for this reason (``welcome``,
        ``reset`` or ``staff``).
    :raises UsernameTaken, EmailTaken: another account has the name or the address. If
        another request took it a moment ago, the session is rolled back.
    :raises AccountError: a rule is broken; ``field`` says which input.
    """
    username = username.strip()
    problem = username_problem(username)
    if problem:
        raise AccountError(problem, "username")
    email = normalised_email(email)
    if role is not None and role not in ROLES:
        raise AccountError(_("Unknown role %(role)s.", role=role), "role")
    if send_link is not None and send_link not in LINK_REASONS:
        raise ValueError(f"Unknown reason {send_link!r}; use one of {LINK_REASONS}.")
    _refuse_taken(username, email)
    user = User(
        username=username,
        username_key=username.lower(),
        email=email,
        email_key=email.lower(),
        role=role,
    )
    if password is not None:
        _set_hash(user, password)
    db = current_db()
    db.session.add(user)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Another request registered the same name or address a moment ago.
        db.session.rollback()
        _refuse_taken(username, email)
        raise
    # The subscription row records the choice (it sets user.marketing_opt_in); it is
    # pending until a set-password link proves the address (marketing double opt-in).
    subscriptions.record_registration(user, opted_in=marketing_opt_in)
    if send_link is not None:
        send_password_link(user, reason=send_link)
    return user


def _refuse_taken(username: str, email: str) -> None:
    session = current_db().session
    if session.scalar(sa.select(User.id).where(User.username_key == username.lower())):
        raise UsernameTaken(_("This username is taken. Please choose another."), "username")
    if session.scalar(sa.select(User.id).where(User.email_key == email.lower())):
        raise EmailTaken(_("An account already uses this email address."), "email")


def _set_hash(user: User, password: str) -> None:
    problem = passwords.problem_with(password, user.username, user.email)
    if problem:
        raise AccountError(problem, "password")
    user.password_hash = passwords.hash_password(password)
    user.password_set_at = utcnow()


def set_password(user: User, password: str) -> bool:
    """Check and set a new password; every login made with the old one ends.

    The credential version moves on, so earlier set-password links stop working.
    Returns ``True`` when the member had no password before.

    :raises AccountError: the password breaks a rule (``field == "password"``).
    :raises CredentialsChanged: another request changed them since ``user`` was read
        (the caller rolls back).
    """
    first_time = user.password_hash is None
    problem = passwords.problem_with(password, user.username, user.email)
    if problem:
        raise AccountError(problem, "password")
    # The write carries the check, so of many simultaneous uses exactly one wins.
    if not single_use.consume(
        user,
        {"credential_version": user.credential_version},
        password_hash=passwords.hash_password(password),
        password_set_at=utcnow(),
        credential_version=User.credential_version + 1,
    ):
        raise CredentialsChanged(_("This password was already changed."), "password")
    sessions.revoke_all_for(user)
    # Only the member could use the emailed link: a pending registration opt-in is confirmed.
    subscriptions.confirm_by_password_link(user)
    return first_time
