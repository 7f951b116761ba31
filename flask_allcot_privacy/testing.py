"""A test client for hosts' own tests, logged in as a member, as Flask-Login's
``FlaskLoginClient`` is.

.. code-block:: python

    from flask_allcot_privacy import PrivacyTestClient

    app.test_client_class = PrivacyTestClient
    with app.test_client(user=member) as client:
        assert client.get("/account/profile").status_code == 200

Unlike ``FlaskLoginClient``, which only writes a user id into the session cookie, the
login is real: a server-side login session row, as the login form makes, so revoking
it, logging out or "log out everywhere else" work in the test as on the site.
"""

from __future__ import annotations

import typing as t

from flask import session
from flask.testing import FlaskClient

from .models import User
from .state import state_for


class PrivacyTestClient(FlaskClient):
    """A ``FlaskClient``; ``user=`` logs that member in before the first request.

    :param user: the member to log in (a :class:`~flask_allcot_privacy.models.User`,
        attached to the session or not).
    :param remember: log in with "Remember Me", so the remember cookie is set too.
    """

    def __init__(
        self, *args: t.Any, user: User | None = None, remember: bool = False, **kwargs: t.Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if user is not None:
            self.log_in(user, remember=remember)

    def log_in(self, user: User, *, remember: bool = False) -> None:
        """Start a server-side login session for ``user`` and give this client its cookie."""
        from .accounts import sessions

        app = self.application
        with app.test_request_context():
            db = state_for(app).db
            member = db.session.get(User, user.id)
            if member is None:
                raise LookupError(f"No account with id {user.id}: commit the member first.")
            sessions.start(member, remember=remember)
            db.session.commit()
            values = dict(session)
        with self.session_transaction() as transaction:
            transaction.clear()
            transaction.update(values)
            transaction.permanent = True
