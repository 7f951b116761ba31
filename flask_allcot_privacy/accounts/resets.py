"""Password resets, answered before any account is looked up.

The reset page must not tell a member's address from an unknown one, by its answer or by
how long the answer takes. Doing the same work on both paths was not enough: only a
member's email is stored, and that ``INSERT`` and its commit made a member's answer
measurably slower. So the request does only what every address needs (the form, the rate
limits); the lookup, the new link and the email happen after the response has been sent,
on this process's background thread (:mod:`..background`).

The job always runs on the web process's own thread, never on Celery, so that no email
address is written to a broker. It holds the address in memory for the moment between
the answer and the job; if the process dies in that moment the visitor gets no email and
asks again, as they would after any lost email.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import force_locale, get_locale

from .. import background, logsafe, outbox, single_use
from ..state import current_db
from . import service
from .mailings import send_password_link

JOB = "privacy.send_password_reset"

log = logsafe.logger(__name__)


def send_after_response(email: str) -> None:
    """Send a reset link to ``email`` once this request is answered, if it names a member."""
    # The link is built as this request would build it: same host, scheme and root.
    locale = str(get_locale() or current_app.config.get("BABEL_DEFAULT_LOCALE", "en"))
    background.after_response(JOB, email, request.url_root, locale, on="thread")


@background.job(JOB)
def send_password_reset(email: str, url_root: str, locale: str) -> bool:
    """Bump the member's credential version and queue the link; ``False`` if none is due.

    Every older link stops working (a newer link voids it). Nothing is done for an
    unknown or erased address.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.test_request_context(base_url=url_root), force_locale(locale):
        session = current_db().session
        user = service.find_by_email(email)
        if user is None or user.erased_at is not None:
            session.rollback()
            return False
        member_id = user.id  # read now: after a rollback it would need the database again
        try:
            single_use.increment(user, "credential_version")
            send_password_link(user, reason="reset")
            session.commit()
        except Exception:
            session.rollback()
            # Nothing retries this one: the visitor was told to check their email.
            log.exception(
                "The password-reset email for member %s could not be made, so none was "
                "sent (the visitor can ask again). Email templates are rendered outside a "
                "request here, as in 'flask privacy' commands: context processors must not "
                "rely on before_request hooks.",
                member_id,
            )
            return False
        outbox.deliver_queued()
    return True
