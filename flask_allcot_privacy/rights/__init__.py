"""Privacy requests: see, download, correct and erase one's data (P28-P32, P18).

The request flow (:mod:`.views`, :mod:`.workflow`), answer deadlines
(:mod:`.deadlines`), exports behind expiring links (:mod:`.export_jobs`), officer
reminders (:mod:`.reminders`), retention sweeps (:mod:`.sweeps`) and the command
line (:mod:`.commands`); the exporter and eraser registry, the export writer and the
erasure runner live beside them. Not named ``requests``: that shadows the PyPI package.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask

bp = Blueprint("privacy_requests", __name__)


def init_app(app: Flask) -> None:
    """Check the holiday calendar and the export folder now, so mistakes fail at start-up."""
    from . import deadlines

    deadlines.check_config(app)
    _check_export_dir(app)


def _check_export_dir(app: Flask) -> None:
    """Refuse a PRIVACY_EXPORT_DIR the app serves as static files: exports are private."""
    from ..settings import ConfigurationError

    configured = app.config["PRIVACY_EXPORT_DIR"]
    if not configured or not app.static_folder:
        return
    folder, static = Path(configured).resolve(), Path(app.static_folder).resolve()
    if folder == static or static in folder.parents:
        raise ConfigurationError(
            f"PRIVACY_EXPORT_DIR {configured!r} is inside the app's static folder, where "
            "anyone could download the exports. Use a private folder outside the web root, "
            "or None for 'privacy-exports' in the instance folder."
        )


# Routes register on bp, commands on the group, retention rules with the purge.
from . import commands, sweeps, views  # noqa: E402, F401
