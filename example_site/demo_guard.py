"""Demo mode stays on this computer: /outbox shows every email, password links included.

``flask run`` on a non-loopback address (``--host 0.0.0.0``, ``FLASK_RUN_HOST``) is
refused in demo mode unless ``FLASK_DEMO_ALLOW_REMOTE=true``; whatever serves the site,
``/outbox`` answers only loopback clients.
"""

from __future__ import annotations

import ipaddress
import os
import sys

import click
from flask import Flask


class RemoteDemoRefused(RuntimeError):
    """Demo mode would be served on an address other machines can reach."""


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def run_host() -> str | None:
    """The address ``flask run`` listens on, or None when the site is not started by it."""
    context = click.get_current_context(silent=True)
    if context is not None and context.info_name == "run" and "host" in context.params:
        return str(context.params["host"])
    args = sys.argv[1:]
    if "run" not in args:
        return None
    host = os.environ.get("FLASK_RUN_HOST", "127.0.0.1")
    for index, arg in enumerate(args):
        if arg in ("--host", "-h") and index + 1 < len(args):
            host = args[index + 1]
        elif arg.startswith("--host="):
            host = arg.split("=", 1)[1]
    return host


def refuse_remote_demo(app: Flask) -> None:
    """Raise :class:`RemoteDemoRefused` for demo mode on a non-loopback ``flask run`` host."""
    if not app.config["DEMO_MAIL"] or app.config.get("DEMO_ALLOW_REMOTE"):
        return
    host = run_host()
    if host is not None and not is_loopback(host):
        raise RemoteDemoRefused(
            f"Demo mode shows every email, password links included, at /outbox; it will not "
            f"be served on {host}. Run it on 127.0.0.1, set FLASK_DEMO_MAIL=false to send "
            "mail instead, or set FLASK_DEMO_ALLOW_REMOTE=true if you really mean it."
        )
