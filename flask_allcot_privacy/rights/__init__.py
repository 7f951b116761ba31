"""Privacy requests: see, download, correct and erase one's data (P28-P32, P18).

The request flow (:mod:`.views`, :mod:`.workflow`), answer deadlines
(:mod:`.deadlines`), exports behind expiring links (:mod:`.export_jobs`), officer
reminders (:mod:`.reminders`), retention sweeps (:mod:`.sweeps`) and the command
line (:mod:`.commands`); the exporter and eraser registry, the export writer and the
erasure runner live beside them. Not named ``requests``: that shadows the PyPI package.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("privacy_requests", __name__)


def init_app(app: Flask) -> None:
    """Check the holiday calendar now, so a bad PRIVACY_HOLIDAYS fails at start-up."""
    from . import deadlines

    deadlines.check_config(app)


from . import commands, views  # noqa: E402, F401  (routes register on bp, commands on the group)
