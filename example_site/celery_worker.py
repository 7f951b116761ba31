"""The example site's Celery worker: ``celery -A example_site.celery_worker worker``.

Set the same ``FLASK_`` variables as the web processes, with
``FLASK_CELERY__broker_url=redis://127.0.0.1:6379/0`` and
``FLASK_PRIVACY_MAIL_DELIVERY=celery``.
"""

from __future__ import annotations

from . import create_app

flask_app = create_app()
if "celery" not in flask_app.extensions:
    raise RuntimeError(
        "The example site has no Celery app: set FLASK_CELERY__broker_url=redis://HOST:6379/0 "
        "(and FLASK_PRIVACY_MAIL_DELIVERY=celery) for the worker and the web processes."
    )
celery_app = flask_app.extensions["celery"]
