"""Configuration: defaults, refusals that say how to fix them, one init_app per app."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy

from flask_allcot_privacy import ConfigurationError, Privacy
from flask_allcot_privacy.settings import DEFAULTS

from .helpers import make_host_app


def test_defaults_are_applied_and_policy_lifetimes_set(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    for key in DEFAULTS:
        assert key in app.config
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=2)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_REFRESH_EACH_REQUEST"] is False


def test_host_value_is_kept(tmp_path: Path) -> None:
    app = make_host_app(tmp_path, PRIVACY_SITE_NAME="Host Site")
    assert app.config["PRIVACY_SITE_NAME"] == "Host Site"


def test_misspelled_key_names_the_closest_known_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PRIVACY_SESION_LIFETIME") as error:
        make_host_app(tmp_path, PRIVACY_SESION_LIFETIME=timedelta(days=1))
    assert "Did you mean 'PRIVACY_SESSION_LIFETIME'?" in str(error.value)


@pytest.mark.parametrize(
    ("key", "value", "accepts"),
    [
        ("PRIVACY_SESSION_LIFETIME", "two days", "timedelta"),
        ("PRIVACY_SESSION_LIFETIME", timedelta(0), "positive"),
        ("PRIVACY_COMMENT_MODERATION", "sometimes", "'none', 'first_time' or 'all'"),
        ("PRIVACY_TRUSTED_PROXIES", -1, "0 to 10"),
        ("PRIVACY_TRUSTED_PROXIES", True, "0 to 10"),
        ("PRIVACY_ACCOUNTS_URL_PREFIX", "account", "a path"),
        ("PRIVACY_LOGIN_LIMIT_PER_IP", "lots", "Flask-Limiter limit"),
        ("PRIVACY_PROCESSORS", [{"name": "X"}], "policy_url"),
        ("PRIVACY_CONSENT_CATEGORIES", ["analytics"], "'necessary'"),
    ],
)
def test_bad_value_names_key_and_what_it_accepts(
    tmp_path: Path, key: str, value: object, accepts: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        make_host_app(tmp_path, **{key: value})
    assert key in str(error.value)
    assert accepts in str(error.value)


def test_seconds_from_the_environment_become_durations(tmp_path: Path) -> None:
    app = make_host_app(tmp_path, PRIVACY_SET_PASSWORD_WITHIN=3600)
    assert app.config["PRIVACY_SET_PASSWORD_WITHIN"] == timedelta(hours=1)


def test_second_init_app_is_refused_with_advice(tmp_path: Path) -> None:
    app = make_host_app(tmp_path)
    state = app.extensions["allcot_privacy"]
    with pytest.raises(RuntimeError, match="already called on this app"):
        state.privacy.init_app(app, db=state.db, mail=state.mail)


def test_one_extension_serves_two_apps(tmp_path: Path) -> None:
    privacy = Privacy()
    apps = []
    for name in ("one", "two"):
        app = Flask(name)
        app.config.update(
            SECRET_KEY="k", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / name}.sqlite"
        )
        db, mail = SQLAlchemy(), Mail()
        db.init_app(app)
        mail.init_app(app)
        privacy.init_app(app, db=db, mail=mail)
        apps.append(app)
    assert apps[0].extensions["allcot_privacy"].db is not apps[1].extensions["allcot_privacy"].db
    assert not hasattr(privacy, "app")


@pytest.mark.parametrize(
    ("change", "advice"),
    [
        ("no_db", "privacy.init_app(app, db=db, mail=mail)"),
        ("db_not_initialised", "Call db.init_app(app) before"),
        ("mail_not_initialised", "Call mail.init_app(app) before"),
        ("no_secret", "SECRET_KEY"),
    ],
)
def test_missing_host_parts_are_explained(tmp_path: Path, change: str, advice: str) -> None:
    app = Flask("host")
    app.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'h.sqlite'}")
    if change != "no_secret":
        app.config["SECRET_KEY"] = "k"
    db, mail = SQLAlchemy(), Mail()
    if change != "db_not_initialised":
        db.init_app(app)
    if change != "mail_not_initialised":
        mail.init_app(app)
    with pytest.raises(RuntimeError, match=advice.replace("(", r"\(").replace(")", r"\)")):
        Privacy().init_app(app, db=None if change == "no_db" else db, mail=mail)


def test_every_key_is_documented() -> None:
    reference = (Path(__file__).parents[1] / "docs" / "config.rst").read_text()
    missing = [key for key in DEFAULTS if key not in reference]
    assert not missing, f"document these keys in docs/config.rst: {missing}"


PROCESSOR = {
    "name": "Example Ads",
    "purpose": "Advertising",
    "category": "marketing",
    "policy_url": "https://ads.example/privacy",
}


def test_a_processor_in_a_category_the_site_left_out_is_refused(tmp_path: Path) -> None:
    """Before, it was silently left off the policy page."""
    with pytest.raises(ConfigurationError) as error:
        make_host_app(
            tmp_path,
            PRIVACY_CONSENT_CATEGORIES=["necessary", "analytics"],
            PRIVACY_PROCESSORS=[PROCESSOR],
        )
    message = str(error.value)
    assert "PRIVACY_PROCESSORS" in message
    assert "'Example Ads'" in message
    assert "'marketing'" in message
    assert "PRIVACY_CONSENT_CATEGORIES" in message


def test_a_processor_may_use_a_category_the_site_added(tmp_path: Path) -> None:
    app = make_host_app(
        tmp_path,
        PRIVACY_CONSENT_CATEGORIES=["necessary", "video"],
        PRIVACY_PROCESSORS=[{**PROCESSOR, "category": "video"}],
    )
    assert app.config["PRIVACY_PROCESSORS"][0]["category"] == "video"


@pytest.mark.parametrize("address", ["privacy team", "privacy@", "@example.com", ""])
def test_contact_recipients_must_be_email_addresses(tmp_path: Path, address: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        make_host_app(tmp_path, PRIVACY_CONTACT_RECIPIENTS=["ok@example.com", address])
    assert "PRIVACY_CONTACT_RECIPIENTS" in str(error.value)
    assert repr(address) in str(error.value)


def test_contact_recipients_at_a_test_domain_need_the_test_domain_switch(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PRIVACY_CONTACT_RECIPIENTS"):
        make_host_app(tmp_path, PRIVACY_CONTACT_RECIPIENTS=["desk@blog.test"])
    app = make_host_app(
        tmp_path,
        PRIVACY_CONTACT_RECIPIENTS=["desk@blog.test"],
        PRIVACY_EMAIL_ALLOW_TEST_DOMAINS=True,
    )
    assert app.config["PRIVACY_CONTACT_RECIPIENTS"] == ["desk@blog.test"]


def test_analytics_needs_an_analytics_category(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no 'analytics'"):
        make_host_app(
            tmp_path, PRIVACY_ANALYTICS_ID="G-TEST123", PRIVACY_CONSENT_CATEGORIES=["necessary"]
        )


def test_checks_of_two_keys_are_made_by_settings_check_alone() -> None:
    """Configuration is checked in one place: settings.check, before any part's init_app."""
    from flask_allcot_privacy import settings

    app = Flask("bare")
    settings.apply_defaults(app)
    app.config["PRIVACY_CONSENT_CATEGORIES"] = ["necessary"]
    app.config["PRIVACY_PROCESSORS"] = [PROCESSOR]
    with pytest.raises(ConfigurationError, match="PRIVACY_PROCESSORS"):
        settings.check(app)


def test_the_default_categories_are_the_cookie_registry_s() -> None:
    from flask_allcot_privacy import cookies

    assert DEFAULTS["PRIVACY_CONSENT_CATEGORIES"].default == list(cookies.CONSENT_CATEGORIES)
