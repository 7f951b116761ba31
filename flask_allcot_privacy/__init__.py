"""flask-allcot-privacy: the privacy layer for Flask sites."""

from __future__ import annotations

from . import signals
from .extension import Privacy
from .settings import ConfigurationError

__all__ = ["ConfigurationError", "Privacy", "signals"]
