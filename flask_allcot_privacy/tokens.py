"""Signed, expiring, single-use tokens for links sent by email.

Each purpose has its own salt, so a token made for one purpose is refused by
every other, and its own maximum age, read from configuration. A token is made
single use by binding it to a *stamp* of the state its use changes (for a
password link: the user's credential version): once used, the state moves on
and the stamp no longer matches.
"""

from __future__ import annotations

import hashlib
import typing as t
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


@dataclass(frozen=True)
class TokenPurpose:
    """What a token is for: its salt and the config key holding its maximum age."""

    name: str
    max_age_setting: str

    @property
    def salt(self) -> str:
        return f"flask-allcot-privacy.{self.name}"


SET_PASSWORD = TokenPurpose("set-password", "PRIVACY_SET_PASSWORD_WITHIN")
CHANGE_EMAIL = TokenPurpose("change-email", "PRIVACY_EMAIL_CHANGE_WITHIN")
#: The signed ``privacy_consent`` cookie; it expires with the consent it carries.
CONSENT = TokenPurpose("consent", "PRIVACY_CONSENT_LIFETIME")
#: Shows a comment awaiting moderation to its author, who may have no account or cookie.
HELD_COMMENT = TokenPurpose("held-comment", "PRIVACY_HELD_COMMENT_LINK_WITHIN")
#: Confirms a privacy request from the address it names; used once (the state moves on).
PRIVACY_REQUEST_CONFIRM = TokenPurpose("privacy-request-confirm", "PRIVACY_REQUEST_CONFIRM_WITHIN")
#: Downloads one request's export; bound to that request and to the secret of its latest file.
PRIVACY_EXPORT = TokenPurpose("privacy-export", "PRIVACY_EXPORT_EXPIRES")

#: Confirms a newsletter subscription (double opt-in); bound to the latest request.
CONFIRM_SUBSCRIPTION = TokenPurpose("confirm-subscription", "PRIVACY_SUBSCRIBE_CONFIRM_WITHIN")
#: The unsubscribe link of every marketing email; long-lived, as old emails get read.
UNSUBSCRIBE = TokenPurpose("unsubscribe", "PRIVACY_UNSUBSCRIBE_LINK_WITHIN")
#: The open pixel and the click links of a tracked marketing email (P23).
MAIL_OPEN = TokenPurpose("mail-open", "PRIVACY_UNSUBSCRIBE_LINK_WITHIN")
MAIL_CLICK = TokenPurpose("mail-click", "PRIVACY_UNSUBSCRIBE_LINK_WITHIN")


class TokenError(Exception):
    """A token cannot be used; ``reason`` says why in words a visitor understands."""

    reason = "invalid"


class TokenExpired(TokenError):
    reason = "expired"


class TokenInvalid(TokenError):
    reason = "invalid"


class TokenUsed(TokenError):
    reason = "used"


def signing_keys() -> list[t.Any]:
    """The keys for itsdangerous: ``SECRET_KEY_FALLBACKS``, then ``SECRET_KEY``.

    itsdangerous signs with the last key and verifies with any, so Flask 3.1's
    fallbacks keep links and signed cookies valid while the key is rotated.
    """
    config = current_app.config
    return [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]


def _serializer(purpose: TokenPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(), salt=purpose.salt)


def stamp(*state: t.Any) -> str:
    """A short digest of the state a token's use will change."""
    return hashlib.sha256(repr(state).encode()).hexdigest()[:20]


def make(purpose: TokenPurpose, payload: dict[str, t.Any]) -> str:
    """Sign ``payload`` (JSON-serialisable) for ``purpose``."""
    return str(_serializer(purpose).dumps(payload))


def read(purpose: TokenPurpose, token: str) -> dict[str, t.Any]:
    """The payload of a valid, unexpired token, or :class:`TokenError`."""
    max_age = current_app.config[purpose.max_age_setting].total_seconds()
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired() from None
    except BadSignature:
        raise TokenInvalid() from None
    if not isinstance(payload, dict):
        raise TokenInvalid()
    return payload


def check_stamp(payload: dict[str, t.Any], *state: t.Any) -> None:
    """Raise :class:`TokenUsed` when the state has moved on since the token was made."""
    if payload.get("stamp") != stamp(*state):
        raise TokenUsed()
