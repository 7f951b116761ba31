"""Every ``PRIVACY_*`` configuration key, its default and what it accepts.

The table below is the single source of truth: :func:`apply_defaults` fills in
what the host left out with ``setdefault`` and :func:`check` refuses unknown
keys and bad values at ``init_app`` with a message that says how to fix them.
``docs/config.rst`` documents each key, and a test keeps the two in step.
"""

from __future__ import annotations

import difflib
import re
import typing as t
import warnings
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import Flask

from .cookies import CONSENT_CATEGORIES


class ConfigurationError(ValueError):
    """A ``PRIVACY_*`` key is unknown or holds a value the extension cannot use."""


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default and the check its value must pass."""

    default: t.Any
    accepts: str
    check: t.Callable[[t.Any], bool]


def _is_str(value: t.Any) -> bool:
    return isinstance(value, str)


def _is_optional_str(value: t.Any) -> bool:
    return value is None or (isinstance(value, str) and value != "")


def _is_prefix(value: t.Any) -> bool:
    return isinstance(value, str) and value.startswith("/") and not value.endswith("/")


def _is_cookie_prefix(value: t.Any) -> bool:
    return isinstance(value, str) and all(c.isalnum() or c in "_-" for c in value)


def _is_bool(value: t.Any) -> bool:
    return isinstance(value, bool)


def _positive_duration(value: t.Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value > 0
    return isinstance(value, timedelta) and value > timedelta(0)


def _as_timedelta(value: t.Any) -> t.Any:
    """Seconds (as set from the environment) become a timedelta."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


def _int_between(low: int, high: int) -> t.Callable[[t.Any], bool]:
    def check(value: t.Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return check


def _one_of(*choices: t.Any) -> t.Callable[[t.Any], bool]:
    return lambda value: value in choices


def _list_of_str(value: t.Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _rate_limit(value: t.Any) -> bool:
    if not isinstance(value, str):
        return False
    from limits import parse_many

    try:
        return bool(parse_many(value))
    except ValueError:
        return False


def _holiday_calendar(value: t.Any) -> bool:
    """None, or (country, subdivision-or-None); rights.init_app checks the library knows them."""
    if value is None:
        return True
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and isinstance(value[0], str)
        and (value[1] is None or isinstance(value[1], str))
    )


def _time_zone(value: t.Any) -> bool:
    from zoneinfo import ZoneInfo

    if not isinstance(value, str) or not value:
        return False
    try:
        ZoneInfo(value)
    except (ValueError, LookupError):
        return False
    return True


#: Where outbox mail is delivered from (``PRIVACY_MAIL_DELIVERY``).
DELIVERY_MODES = ("after_response", "cli", "celery")
#: A claim must outlast one whole SMTP exchange: connect, EHLO, TLS, login, MAIL, RCPT, DATA...
CLAIM_TIMEOUTS = 10

PROCESSOR_FIELDS = ("name", "purpose", "category", "policy_url")


def _processors(value: t.Any) -> bool:
    """The shape; each category is checked against the configured ones in :func:`check`."""
    return isinstance(value, (list, tuple)) and all(
        isinstance(entry, dict)
        and all(isinstance(entry.get(f), str) and entry.get(f) for f in PROCESSOR_FIELDS)
        for entry in value
    )


def _categories(value: t.Any) -> bool:
    return (
        _list_of_str(value)
        and "necessary" in value
        and all(c.isidentifier() for c in value)
        and len(set(value)) == len(value)
    )


def _optional_duration(value: t.Any) -> bool:
    return value is None or _positive_duration(value)


def _policy_history(value: t.Any) -> bool:
    from datetime import date

    if not isinstance(value, (list, tuple)):
        return False
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("summary"), str):
            return False
        day = entry.get("date")
        if isinstance(day, str):
            try:
                date.fromisoformat(day)
            except ValueError:
                return False
        elif not isinstance(day, date):
            return False
    return True


#: The ALLCOT policy's own changelog entry, shown before the published versions.
POLICY_HISTORY = [
    {
        "date": "2018-05-18",
        "summary": "Iniated language of the policy to be more user-friendly and more openly "
        "communicated to all stakeholders, specifically outlining requirements in preparation "
        "for meeting the GDPR.",
    }
]

_CSP_SOURCE = re.compile(r"^[^\s;,]+$")


def _csp_extension(value: t.Any) -> bool:
    """Directive names to lists of sources, none holding a space, ';' or ','."""
    return isinstance(value, dict) and all(
        isinstance(name, str)
        and re.fullmatch(r"[a-z-]+", name) is not None
        and isinstance(sources, (list, tuple))
        and all(isinstance(s, str) and _CSP_SOURCE.match(s) for s in sources)
        for name, sources in value.items()
    )


#: Every ``PRIVACY_*`` key the extension reads, with its default.
DEFAULTS: dict[str, Setting] = {
    # Site and templates
    "PRIVACY_SITE_NAME": Setting("ALLCOT", "a non-empty string", lambda v: _is_str(v) and v != ""),
    "PRIVACY_BASE_TEMPLATE": Setting(
        "privacy/layout.html", "a template path such as 'base.html'", _is_str
    ),
    "PRIVACY_CONTACT_EMAIL": Setting(
        None, "an email address shown on privacy pages, or None", _is_optional_str
    ),
    "PRIVACY_EMAIL_ALLOW_TEST_DOMAINS": Setting(
        False,
        "True to accept addresses at the reserved 'test' domain (RFC 2606), for demos and tests",
        _is_bool,
    ),
    # URL prefixes
    "PRIVACY_ACCOUNTS_URL_PREFIX": Setting("/account", "a path like '/account'", _is_prefix),
    "PRIVACY_URL_PREFIX": Setting("/privacy", "a path like '/privacy'", _is_prefix),
    "PRIVACY_COMMENTS_URL_PREFIX": Setting("/comments", "a path like '/comments'", _is_prefix),
    "PRIVACY_STAFF_URL_PREFIX": Setting("/staff", "a path like '/staff'", _is_prefix),
    # Cookies and login sessions (lifetimes are the policy's)
    "PRIVACY_COOKIE_PREFIX": Setting(
        "",
        "letters, digits, '_' or '-' put before every cookie name",
        _is_cookie_prefix,
    ),
    "PRIVACY_COOKIE_SECURE": Setting(
        "auto",
        "'auto' (Secure when the request is HTTPS), True or False",
        _one_of("auto", True, False),
    ),
    "PRIVACY_SESSION_LIFETIME": Setting(
        timedelta(days=2),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_REMEMBER_LIFETIME": Setting(
        timedelta(days=14),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_SCREEN_OPTIONS_LIFETIME": Setting(
        timedelta(days=365),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_COMMENT_AUTHOR_LIFETIME": Setting(
        timedelta(days=365),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_SESSION_TOUCH_INTERVAL": Setting(
        timedelta(minutes=5),
        "a positive datetime.timedelta or a number of seconds (how often 'last seen' is written)",
        _positive_duration,
    ),
    # Tokens sent by email
    "PRIVACY_SET_PASSWORD_WITHIN": Setting(
        timedelta(hours=24),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_EMAIL_CHANGE_WITHIN": Setting(
        timedelta(hours=24),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_HELD_COMMENT_LINK_WITHIN": Setting(
        timedelta(days=30),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    # Passwords: argon2id, OWASP's recommended parameters by default
    "PRIVACY_ARGON2_TIME_COST": Setting(2, "an integer from 1 to 100", _int_between(1, 100)),
    "PRIVACY_ARGON2_MEMORY_COST": Setting(
        19456, "kibibytes, an integer from 8 to 4194304", _int_between(8, 4_194_304)
    ),
    "PRIVACY_ARGON2_PARALLELISM": Setting(1, "an integer from 1 to 64", _int_between(1, 64)),
    "PRIVACY_PASSWORD_MIN_LENGTH": Setting(12, "an integer from 8 to 128", _int_between(8, 128)),
    # Rate limits (Flask-Limiter notation)
    "PRIVACY_RATELIMIT_ENABLED": Setting(True, "True or False", _is_bool),
    "PRIVACY_RATELIMIT_STORAGE_URI": Setting(
        "memory://",
        "a Flask-Limiter storage URI such as 'redis://localhost:6379'",
        _is_str,
    ),
    "PRIVACY_LOGIN_LIMIT_PER_ACCOUNT": Setting(
        "10 per 15 minutes",
        "a Flask-Limiter limit such as '10 per 15 minutes'",
        _rate_limit,
    ),
    "PRIVACY_LOGIN_LIMIT_PER_IP": Setting(
        "50 per 15 minutes",
        "a Flask-Limiter limit such as '50 per 15 minutes'",
        _rate_limit,
    ),
    "PRIVACY_EMAIL_LIMIT_PER_IP": Setting(
        "20 per hour",
        "a Flask-Limiter limit for forms that send email (register, reset, requests)",
        _rate_limit,
    ),
    "PRIVACY_EMAIL_LIMIT_PER_ADDRESS": Setting(
        "5 per hour",
        "a Flask-Limiter limit on password-reset requests for one email address",
        _rate_limit,
    ),
    "PRIVACY_COMMENT_LIMIT_PER_IP": Setting(
        "10 per minute", "a Flask-Limiter limit such as '10 per minute'", _rate_limit
    ),
    "PRIVACY_CONTACT_LIMIT_PER_IP": Setting(
        "5 per minute", "a Flask-Limiter limit such as '5 per minute'", _rate_limit
    ),
    # Mail outbox
    "PRIVACY_MAIL_SENDER": Setting(
        None, "an address, or None to use MAIL_DEFAULT_SENDER", _is_optional_str
    ),
    "PRIVACY_MAIL_SEND_AFTER_REQUEST": Setting(
        None,
        "None; deprecated, use PRIVACY_MAIL_DELIVERY ('after_response' for True, 'cli' for False)",
        _one_of(None, True, False),
    ),
    "PRIVACY_MAIL_MAX_ATTEMPTS": Setting(8, "an integer from 1 to 100", _int_between(1, 100)),
    "PRIVACY_MAIL_RETRY_AFTER": Setting(
        timedelta(minutes=1),
        "a positive datetime.timedelta or a number of seconds (doubled after each failed attempt)",
        _positive_duration,
    ),
    # Delivery and scale
    "PRIVACY_MAIL_DELIVERY": Setting(
        "after_response",
        "'after_response' (a background thread in each web process), 'cli' (only "
        "'flask privacy send-mail') or 'celery' (Celery workers; pip install "
        "flask-allcot-privacy[celery])",
        _one_of(*DELIVERY_MODES),
    ),
    "PRIVACY_MAIL_TIMEOUT": Setting(
        timedelta(seconds=5),
        "a positive datetime.timedelta or a number of seconds (each SMTP connect and command)",
        _positive_duration,
    ),
    "PRIVACY_MAIL_CLAIM_FOR": Setting(
        timedelta(minutes=5),
        "a positive datetime.timedelta or a number of seconds, at least 10 times "
        "PRIVACY_MAIL_TIMEOUT (how long a worker holds a message it is sending)",
        _positive_duration,
    ),
    # Proxies (werkzeug ProxyFix semantics: how many proxies to trust)
    "PRIVACY_TRUSTED_PROXIES": Setting(
        0,
        "the number of reverse proxies in front of the app, 0 to 10",
        _int_between(0, 10),
    ),
    # Comments and contact
    "PRIVACY_COMMENT_MODERATION": Setting(
        "none", "'none', 'first_time' or 'all'", _one_of("none", "first_time", "all")
    ),
    "PRIVACY_CONTACT_RECIPIENTS": Setting([], "a list of email addresses", _list_of_str),
    # Consent and third parties
    "PRIVACY_ANALYTICS_ID": Setting(
        None,
        "a Google Analytics measurement id such as 'G-XXXXXXX', or None",
        _is_optional_str,
    ),
    "PRIVACY_CONSENT_LIFETIME": Setting(
        timedelta(days=182),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_ANALYTICS_COOKIE_LIFETIME": Setting(
        timedelta(days=395),
        "a positive datetime.timedelta or a number of seconds (Google Analytics' cookie_expires)",
        _positive_duration,
    ),
    "PRIVACY_CONSENT_LIMIT_PER_IP": Setting(
        "30 per minute",
        "a Flask-Limiter limit for consent decisions such as '30 per minute'",
        _rate_limit,
    ),
    "PRIVACY_CONSENT_CATEGORIES": Setting(
        list(CONSENT_CATEGORIES),
        "a list of category names that includes 'necessary'",
        _categories,
    ),
    "PRIVACY_PROCESSORS": Setting(
        [],
        "a list of dicts with non-empty 'name', 'purpose', 'category' "
        "(one of PRIVACY_CONSENT_CATEGORIES) and 'policy_url' (optional 'opt_out_url')",
        _processors,
    ),
    # Error pages
    "PRIVACY_ERROR_PAGES": Setting(
        True,
        "True to answer 400, 403, 404, 405, 429 and 500 with the extension's pages "
        "app-wide (codes the host already handles are left alone), or False",
        _is_bool,
    ),
    # Security
    "PRIVACY_SECURITY_HEADERS": Setting(True, "True or False", _is_bool),
    "PRIVACY_CONTENT_SECURITY_POLICY": Setting(
        {},
        "a dict of CSP directive names to lists of extra sources, such as "
        "{'frame-src': ['https://www.youtube-nocookie.com']}",
        _csp_extension,
    ),
    "PRIVACY_MAX_CONTENT_LENGTH": Setting(
        256 * 1024, "a number of bytes from 16384 to 1073741824", _int_between(16384, 2**30)
    ),
    "PRIVACY_COMMENTS_PER_PAGE": Setting(50, "an integer from 5 to 500", _int_between(5, 500)),
    # Marketing
    "PRIVACY_MAIL_TRACKING": Setting(
        False,
        "True to track opens and clicks of marketing email, for subscribers who agreed",
        _is_bool,
    ),
    "PRIVACY_SUBSCRIBE_CONFIRM_WITHIN": Setting(
        timedelta(hours=72),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_UNSUBSCRIBE_LINK_WITHIN": Setting(
        timedelta(days=730),
        "a positive datetime.timedelta or a number of seconds (unsubscribe and tracked links)",
        _positive_duration,
    ),
    "PRIVACY_MARKETING_BATCH_SIZE": Setting(
        500, "an integer from 1 to 100000", _int_between(1, 100_000)
    ),
    # Staff screens
    "PRIVACY_PER_PAGE_CHOICES": Setting(
        [10, 25, 50, 100],
        "a list of positive integers",
        lambda v: (
            isinstance(v, (list, tuple)) and bool(v) and all(_int_between(1, 1000)(n) for n in v)
        ),
    ),
    # Privacy requests
    "PRIVACY_REQUEST_CONFIRM_WITHIN": Setting(
        timedelta(hours=24),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    "PRIVACY_REQUEST_DEADLINE_DAYS": Setting(
        7, "a number of business days from 1 to 90", _int_between(1, 90)
    ),
    "PRIVACY_HOLIDAYS": Setting(
        ("CH", "ZG"),
        "a (country, subdivision) pair of the holidays library such as ('CH', 'ZG'), "
        "('DE', None) for a whole country, or None for weekends only",
        _holiday_calendar,
    ),
    "PRIVACY_REQUEST_TIMEZONE": Setting(
        "Europe/Zurich", "an IANA time zone name such as 'Europe/Zurich'", _time_zone
    ),
    "PRIVACY_REQUEST_AUTO_EXPORT": Setting(False, "True or False", _is_bool),
    "PRIVACY_EXPORT_DIR": Setting(
        None,
        "a folder path outside the web root, or None for 'privacy-exports' in the instance folder",
        _is_optional_str,
    ),
    "PRIVACY_EXPORT_EXPIRES": Setting(
        timedelta(days=3),
        "a positive datetime.timedelta or a number of seconds",
        _positive_duration,
    ),
    # Export and erasure (rights-data)
    "PRIVACY_ERASURE_BATCH_SIZE": Setting(
        5000,
        "an integer from 1 to 1000000 (rows anonymised per UPDATE statement)",
        _int_between(1, 1_000_000),
    ),
    "PRIVACY_ERASURE_LOG_BIND": Setting(
        None,
        "a key of SQLALCHEMY_BINDS for a database the backups you restore leave alone, "
        "or None for the app's own database",
        _is_optional_str,
    ),
    # Policy versions and breaches
    "PRIVACY_POLICY_HISTORY": Setting(
        POLICY_HISTORY,
        "a list of dicts with 'date' (an ISO date string or datetime.date) and 'summary'",
        _policy_history,
    ),
    "PRIVACY_NOTICE_BATCH_SIZE": Setting(
        5000,
        "an integer from 1 to 100000 (members emailed per transaction)",
        _int_between(1, 100_000),
    ),
    # Retention (None keeps the data; see retention.py)
    "PRIVACY_RETAIN_COMMENT_META": Setting(
        None,
        "None (kept, as the policy says) or a positive datetime.timedelta or number of seconds",
        _optional_duration,
    ),
    "PRIVACY_RETAIN_LOGIN_SESSIONS": Setting(
        timedelta(days=30),
        "None or a positive datetime.timedelta or number of seconds after a login ended",
        _optional_duration,
    ),
    "PRIVACY_RETAIN_DELIVERED_MAIL": Setting(
        timedelta(days=90),
        "None or a positive datetime.timedelta or number of seconds after delivery",
        _optional_duration,
    ),
    "PRIVACY_RETAIN_CONTACT_MESSAGES": Setting(
        None,
        "None (kept, as the policy says) or a positive datetime.timedelta or number of seconds",
        _optional_duration,
    ),
    "PRIVACY_RETAIN_FINANCIAL_RECORDS": Setting(
        timedelta(days=3653),
        "None or a positive datetime.timedelta or number of seconds (10 years by default)",
        _optional_duration,
    ),
}


def apply_defaults(app: Flask) -> None:
    """Fill in every ``PRIVACY_*`` key the host did not set."""
    for key, setting in DEFAULTS.items():
        default = setting.default
        if isinstance(default, list):
            default = [dict(v) if isinstance(v, dict) else v for v in default]
        if isinstance(default, (list, dict)):
            default = type(default)(default)
        app.config.setdefault(key, default)


def check(app: Flask) -> None:
    """Refuse unknown ``PRIVACY_*`` keys, values a key does not accept, and keys that
    disagree with each other. Every check of the configuration is made here, once."""
    for key in app.config:
        if key.startswith("PRIVACY_") and key not in DEFAULTS:
            close = difflib.get_close_matches(key, DEFAULTS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"Unknown configuration key {key!r}.{hint} "
                "The known keys are listed in the configuration reference."
            )
    for key, setting in DEFAULTS.items():
        value = app.config[key]
        if not setting.check(value):
            raise ConfigurationError(f"{key} is {value!r}, but it accepts {setting.accepts}.")
        if setting.check in (_positive_duration, _optional_duration):
            app.config[key] = _as_timedelta(value)
    _check_together(app.config)
    _check_delivery(app)


def _check_together(config: t.Mapping[str, t.Any]) -> None:
    """The checks that read more than one key."""
    categories = config["PRIVACY_CONSENT_CATEGORIES"]
    if config["PRIVACY_ANALYTICS_ID"] and "analytics" not in categories:
        raise ConfigurationError(
            "PRIVACY_ANALYTICS_ID is set but PRIVACY_CONSENT_CATEGORIES has no 'analytics' "
            "category to ask consent for it: add 'analytics' or unset the id."
        )
    for entry in config["PRIVACY_PROCESSORS"]:
        if entry["category"] not in categories:
            raise ConfigurationError(
                f"PRIVACY_PROCESSORS lists {entry['name']!r} in the category "
                f"{entry['category']!r}, which PRIVACY_CONSENT_CATEGORIES "
                f"({', '.join(categories)}) does not have, so the policy would not show it: "
                "add the category or move the processor to one of those."
            )
    for address in config["PRIVACY_CONTACT_RECIPIENTS"]:
        try:
            validate_email(
                address,
                check_deliverability=False,
                test_environment=config["PRIVACY_EMAIL_ALLOW_TEST_DOMAINS"],
            )
        except EmailNotValidError as error:
            raise ConfigurationError(
                f"PRIVACY_CONTACT_RECIPIENTS has {address!r}, which is not an email "
                f"address ({error}): list addresses only, such as 'privacy@example.com'."
            ) from None


def _check_delivery(app: Flask) -> None:
    """The deprecated switch, and a claim long enough for one send to finish."""
    config = app.config
    send_after = config["PRIVACY_MAIL_SEND_AFTER_REQUEST"]
    if send_after is not None:
        replacement = "after_response" if send_after else "cli"
        warnings.warn(
            "PRIVACY_MAIL_SEND_AFTER_REQUEST is deprecated and will be removed: set "
            f"PRIVACY_MAIL_DELIVERY = {replacement!r} instead.",
            DeprecationWarning,
            stacklevel=4,
        )
        if not send_after and config["PRIVACY_MAIL_DELIVERY"] == "after_response":
            config["PRIVACY_MAIL_DELIVERY"] = "cli"
    if config["PRIVACY_MAIL_CLAIM_FOR"] < CLAIM_TIMEOUTS * config["PRIVACY_MAIL_TIMEOUT"]:
        raise ConfigurationError(
            f"PRIVACY_MAIL_CLAIM_FOR ({config['PRIVACY_MAIL_CLAIM_FOR']}) must be at least "
            f"{CLAIM_TIMEOUTS} times PRIVACY_MAIL_TIMEOUT ({config['PRIVACY_MAIL_TIMEOUT']}), "
            "or another worker could send a message while the first is still sending it."
        )
    if config["PRIVACY_MAIL_DELIVERY"] == "celery":
        try:
            import celery  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "PRIVACY_MAIL_DELIVERY is 'celery' but Celery is not installed: "
                "pip install 'flask-allcot-privacy[celery]'."
            ) from None
