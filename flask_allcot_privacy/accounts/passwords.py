"""Password hashing (argon2id) and the password rules (length, not easily guessed)."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from zxcvbn import zxcvbn

from ..models import User

MAX_LENGTH = 1024
#: zxcvbn scores 0-4; below this a password is refused as too easy to guess.
MIN_SCORE = 3


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PRIVACY_ARGON2_TIME_COST"],
        memory_cost=config["PRIVACY_ARGON2_MEMORY_COST"],
        parallelism=config["PRIVACY_ARGON2_PARALLELISM"],
    )


#: A throwaway hash per parameter set, so unknown users cost one verification, as known ones do.
_decoys: dict[tuple[int, int, int], str] = {}


def _decoy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _decoys:
        _decoys[key] = hasher.hash("decoy password for unknown accounts")
    return _decoys[key]


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with the configured parameters."""
    return _hasher().hash(password)


def verify(user: User | None, password: str) -> bool:
    """Check ``password``; rehash it when the parameters changed (the caller commits).

    Without a user (or a password) the same hashing work is done against a
    throwaway hash, so a failed login takes as long whether or not the account exists.
    """
    hasher = _hasher()
    stored = user.password_hash if user is not None else None
    if stored is None:
        with contextlib.suppress(VerificationError):
            hasher.verify(_decoy_hash(hasher), password)
        return False
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)  # type: ignore[union-attr]
    return True


def problem_with(password: str, *personal: str) -> str | None:
    """Why ``password`` is refused, or ``None``. No composition rules (ASVS 6.2)."""
    minimum = current_app.config["PRIVACY_PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return str(_("Use at least %(n)s characters.", n=minimum))
    if len(password) > MAX_LENGTH:
        return str(_("Use at most %(n)s characters.", n=MAX_LENGTH))
    result = zxcvbn(password[:100], user_inputs=[p for p in personal if p])
    if result["score"] < MIN_SCORE:
        hint = str(result["feedback"].get("warning") or "")
        return " ".join(
            part for part in (_("This password is too common or easy to guess."), hint) if part
        )
    return None
