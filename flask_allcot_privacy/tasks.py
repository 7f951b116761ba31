"""Celery tasks for the extension's background jobs.

Install with ``pip install 'flask-allcot-privacy[celery]'`` (Celery with Redis).

Every job registered with :func:`.background.job` becomes a Celery task of the same
name, ``privacy.deliver_outbox`` first. Wire it with Flask's "Background Tasks with
Celery" pattern, in the module that makes the app:

.. code-block:: python

    from flask_allcot_privacy.tasks import celery_init_app

    def create_app():
        app = Flask(__name__)
        app.config["CELERY"] = {"broker_url": "redis://127.0.0.1:6379/0"}
        app.config["PRIVACY_MAIL_DELIVERY"] = "celery"
        ...
        privacy.init_app(app, db=db, mail=mail)
        celery_init_app(app)
        return app

    celery_app = create_app().extensions["celery"]   # celery -A example_site:celery_app worker

A host that already has its own ``celery_init_app`` calls :func:`register_tasks` on
its Celery app instead. Tasks are acknowledged late and rejected when their worker
dies, so a killed worker's task is handed to another; the outbox row decides
whether anything is still to send, so a task run twice sends nothing twice.
"""

from __future__ import annotations

import typing as t

from celery import Celery, Task
from flask import Flask, has_app_context

from . import background

__all__ = ["celery_init_app", "register_tasks"]


def celery_init_app(app: Flask) -> Celery:
    """Flask's documented pattern: a Celery app whose tasks run in ``app``'s context.

    Reads ``app.config["CELERY"]``, becomes the default Celery app, is kept at
    ``app.extensions["celery"]`` (where the extension sends its tasks) and has the
    privacy tasks registered.
    """

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config.get("CELERY") or {})
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    register_tasks(celery_app)
    return celery_app


def register_tasks(celery_app: Celery) -> list[str]:
    """Define a Celery task for every background job; the names registered."""
    for name, function in background.JOBS.items():
        celery_app.task(
            name=name,
            acks_late=True,
            reject_on_worker_lost=True,
            ignore_result=True,
        )(_in_app_context(name, function))
    return list(background.JOBS)


def _in_app_context(name: str, function: background.Job) -> background.Job:
    def run_job(*args: t.Any) -> t.Any:
        if not has_app_context():
            raise RuntimeError(
                f"Celery ran {name} outside a Flask app context. Make the Celery app with "
                "flask_allcot_privacy.tasks.celery_init_app(app), or give yours a Task "
                "class that pushes app.app_context() (Flask's Celery pattern)."
            )
        return function(*args)

    run_job.__name__ = run_job.__qualname__ = name.replace(".", "_")
    run_job.__doc__ = function.__doc__
    return run_job
