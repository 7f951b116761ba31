"""flask-allcot-privacy: the privacy layer for Flask sites.

What a host may use is listed in ``__all__`` and imported from here. The modules
listed are public as a whole (each has its own ``__all__``); every other module is
internal to the extension and may change between releases. ``tasks`` is public too
but imported on its own (``from flask_allcot_privacy.tasks import celery_init_app``),
since it needs the ``celery`` extra.
"""

from __future__ import annotations

from . import audit, background, cookies, outbox, screen_options, signals
from .accounts.mailings import send_password_link
from .accounts.service import (
    AccountError,
    EmailTaken,
    UsernameTaken,
    create_member,
    find_by_email,
    find_by_username,
    set_password,
)
from .comments.targets import CommentTarget
from .consent import allows as consent_allows
from .extension import Privacy
from .marketing.subscriptions import NotSubscribed
from .models import ROLES, User
from .rights.registry import Erased
from .rights.subject import Subject
from .settings import ConfigurationError
from .staff.guard import require_role
from .testing import PrivacyTestClient

__all__ = [
    "ROLES",
    "AccountError",
    "CommentTarget",
    "ConfigurationError",
    "EmailTaken",
    "Erased",
    "NotSubscribed",
    "Privacy",
    "PrivacyTestClient",
    "Subject",
    "User",
    "UsernameTaken",
    "audit",
    "background",
    "consent_allows",
    "cookies",
    "create_member",
    "find_by_email",
    "find_by_username",
    "outbox",
    "require_role",
    "screen_options",
    "send_password_link",
    "set_password",
    "signals",
]
