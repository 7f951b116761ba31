"""Work that runs after the response, off the web request: a thread here, or Celery.

A *job* is a function registered by name with :func:`job`; its arguments are
JSON-serialisable hints (ids), never the data itself: the database row is the
source of truth, so a job lost with its process is redone by the next run (cron,
Celery beat, ``flask privacy send-mail``). :func:`submit` runs a job

- on ``"thread"``: this process's one background thread, started on first use
  (after a fork too, so every gunicorn worker has its own). A slow SMTP server
  then holds that thread, never a request, and one thread per process bounds the
  database connections it uses;
- on ``"celery"``: a Celery worker, by sending the task of the same name (see
  :mod:`.tasks`, which turns every registered job into a Celery task).

Adding a job (a host's report, say)::

    @background.job("myapp.build_report")
    def build_report(report_id: int) -> None: ...

    background.submit("myapp.build_report", report.id)   # after the commit
"""

from __future__ import annotations

import atexit
import os
import threading
import typing as t
from collections import deque

from flask import Flask, Response, current_app, g

from . import logsafe

__all__ = ["JOBS", "after_response", "job", "mode", "run", "submit", "wait_idle"]

log = logsafe.logger(__name__)

Job = t.Callable[..., t.Any]

#: Every registered job, by name; :mod:`.tasks` makes one Celery task of each.
JOBS: dict[str, Job] = {}

_F = t.TypeVar("_F", bound=Job)


def job(name: str) -> t.Callable[[_F], _F]:
    """Register a function as the job ``name`` (``privacy.<verb>_<noun>``).

    It runs inside an app context, with the arguments given to :func:`submit`.
    """

    def register(function: _F) -> _F:
        JOBS[name] = function
        return function

    return register


def mode() -> str:
    """Where jobs run for the current app: ``"celery"`` or ``"thread"``."""
    return "celery" if current_app.config["PRIVACY_MAIL_DELIVERY"] == "celery" else "thread"


def submit(name: str, *args: t.Any, on: str | None = None) -> None:
    """Run the job ``name`` in the background, ``on`` a thread or Celery (see :func:`mode`).

    Never raises for want of a broker: the work stays in the database for the next run.
    """
    if name not in JOBS:
        raise LookupError(f"No background job is named {name!r}; register it with @job.")
    where = on or mode()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if where == "celery":
        _send_to_celery(app, name, args)
    elif where == "thread":
        _runner().put((app, name, args))
    else:
        raise ValueError(f"on must be 'thread' or 'celery', not {where!r}.")


def after_response(name: str, *args: t.Any, on: str | None = None) -> None:
    """Submit the job ``name`` once this request's response has been sent.

    The job is handed over by the extension's own after-request hook, on the response
    the client gets (a host hook may replace the view's response object), and not at
    all for a 5xx answer.
    """
    if name not in JOBS:
        raise LookupError(f"No background job is named {name!r}; register it with @job.")
    g.setdefault("_privacy_after_response", []).append((name, args, on))


def hand_over_after_response(response: Response) -> Response:
    """The after-request hook behind :func:`after_response`."""
    pending = g.pop("_privacy_after_response", None)
    if not pending or response.status_code >= 500:
        return response
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def hand_over() -> None:
        with app.app_context():
            for name, args, on in pending:
                submit(name, *args, on=on)

    response.call_on_close(hand_over)
    return response


def run(name: str, *args: t.Any) -> t.Any:
    """Run the job ``name`` now, in the current app context (what workers call)."""
    return JOBS[name](*args)


def _send_to_celery(app: Flask, name: str, args: tuple[t.Any, ...]) -> None:
    from celery import current_app as default_celery

    celery_app = app.extensions.get("celery") or default_celery
    try:
        celery_app.send_task(name, args=list(args))
    except Exception:  # a broker outage must not fail the request
        log.exception("Could not hand job %s to Celery; the next scheduled run does it.", name)


class _Runner:
    """One daemon thread running jobs in order, with a way to wait until it is idle."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._pending: deque[tuple[Flask, str, tuple[t.Any, ...]]] = deque()
        self._busy = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="privacy-background", daemon=True)
        self._thread.start()

    def put(self, item: tuple[Flask, str, tuple[t.Any, ...]]) -> None:
        with self._changed:
            self._pending.append(item)
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending))
                app, name, args = self._pending.popleft()
                self._busy = True
            try:
                with app.app_context():
                    run(name, *args)
            except Exception:
                log.exception("Background job %s failed; the next scheduled run retries.", name)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()


_lock = threading.Lock()
_current: _Runner | None = None
#: How long a process that is shutting down (a gunicorn worker restarting) waits for its
#: thread to finish; whatever is left stays in the database for the next run.
DRAIN_AT_EXIT = 10.0


def _runner() -> _Runner:
    """This process's runner; a forked child (a gunicorn worker) starts its own."""
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Runner()
            atexit.register(wait_idle, DRAIN_AT_EXIT)
        return _current


def wait_idle(timeout: float = 30) -> bool:
    """Wait until this process's background thread has nothing left to do.

    For tests, and for a graceful shutdown hook. True when idle, False on timeout.
    """
    runner = _current
    if runner is None or runner.pid != os.getpid():
        return True
    return runner.wait_idle(timeout)
