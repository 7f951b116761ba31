"""Tokens: one salt and maximum age per purpose, expiry, single use, tampering."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask import Flask

from flask_allcot_privacy import tokens
from flask_allcot_privacy.clock import utcnow


def test_round_trip(app: Flask) -> None:
    with app.app_context():
        token = tokens.make(tokens.SET_PASSWORD, {"uid": 7, "stamp": tokens.stamp(0)})
        assert tokens.read(tokens.SET_PASSWORD, token)["uid"] == 7


def test_a_token_for_one_purpose_is_refused_for_another(app: Flask) -> None:
    with app.app_context():
        token = tokens.make(tokens.SET_PASSWORD, {"uid": 7})
        with pytest.raises(tokens.TokenInvalid):
            tokens.read(tokens.CHANGE_EMAIL, token)


def test_expiry_follows_the_purpose_setting(app: Flask) -> None:
    app.config["PRIVACY_SET_PASSWORD_WITHIN"] = timedelta(hours=24)
    with app.app_context():
        token = tokens.make(tokens.SET_PASSWORD, {"uid": 7})
        with time_machine.travel(utcnow() + timedelta(hours=23, minutes=59)):
            assert tokens.read(tokens.SET_PASSWORD, token)["uid"] == 7
        later = utcnow() + timedelta(hours=24, minutes=1)
        with time_machine.travel(later), pytest.raises(tokens.TokenExpired):
            tokens.read(tokens.SET_PASSWORD, token)


def test_tampered_token_is_invalid(app: Flask) -> None:
    with app.app_context():
        token = tokens.make(tokens.SET_PASSWORD, {"uid": 7})
        rest = token.split(".", 1)[1]
        forged = tokens.make(tokens.SET_PASSWORD, {"uid": 8}).split(".", 1)[0] + "." + rest
        with pytest.raises(tokens.TokenInvalid):
            tokens.read(tokens.SET_PASSWORD, forged)
        with pytest.raises(tokens.TokenInvalid):
            tokens.read(tokens.SET_PASSWORD, token[:-2])


def test_other_secret_key_is_refused_but_fallback_keys_work(app: Flask) -> None:
    with app.app_context():
        token = tokens.make(tokens.SET_PASSWORD, {"uid": 7})
    app.config["SECRET_KEY"] = "rotated"
    with app.app_context(), pytest.raises(tokens.TokenInvalid):
        tokens.read(tokens.SET_PASSWORD, token)
    app.config["SECRET_KEY_FALLBACKS"] = ["test-secret-key"]
    with app.app_context():
        assert tokens.read(tokens.SET_PASSWORD, token)["uid"] == 7


def test_stamp_makes_a_token_single_use(app: Flask) -> None:
    with app.app_context():
        payload = tokens.read(
            tokens.SET_PASSWORD, tokens.make(tokens.SET_PASSWORD, {"stamp": tokens.stamp(3)})
        )
        tokens.check_stamp(payload, 3)
        with pytest.raises(tokens.TokenUsed):
            tokens.check_stamp(payload, 4)
