"""Single use that holds when many requests carry the same link at once.

A token is bound to a stamp of the state its use changes (see :mod:`.tokens`).
Checking the stamp and then writing the new state from Python is not enough:
ten requests posting one link at the same moment all read the old state before
any of them commits, and all of them "succeed". So the write carries the check:

.. code-block:: sql

    UPDATE privacy_user SET credential_version = credential_version + 1, ...
    WHERE id = :id AND credential_version = :version_the_token_was_made_for

and only the request whose UPDATE changed one row goes on; the others get the
"already used" page. On PostgreSQL (READ COMMITTED) the losers wait for the
winner's row lock, then find that the row no longer matches; SQLite runs one
writer at a time. The same pattern fits every single-use link: put in the
``WHERE`` clause what the token was made for, and in ``SET`` what its use changes.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from .state import current_db

if t.TYPE_CHECKING:
    from .models import Base


def consume(row: Base, expected: t.Mapping[str, t.Any], **new_values: t.Any) -> bool:
    """Write ``new_values`` to ``row`` only if its columns still hold ``expected``.

    Returns True for the one caller whose conditional UPDATE changed the row, and
    updates ``row`` in the session; False when another use got there first (the
    caller rolls back and answers "already used"). The caller commits.
    """
    model = type(row)
    mapper = sa.inspect(model)
    key = mapper.primary_key_from_instance(row)
    conditions = [column == value for column, value in zip(mapper.primary_key, key, strict=True)]
    conditions += [getattr(model, name) == value for name, value in expected.items()]
    result = current_db().session.execute(
        sa.update(model)
        .where(*conditions)
        .values(**new_values)
        .execution_options(synchronize_session="fetch")
    )
    return t.cast(sa.CursorResult[t.Any], result).rowcount == 1


def increment(row: Base, attribute: str) -> None:
    """Add one to a counter column in the database itself, never from a stale read.

    Two requests that both read 3 and write 4 would leave a link made for 4 valid
    after either of them; ``SET n = n + 1`` makes each increment count.
    """
    model = type(row)
    column = getattr(model, attribute)
    consume(row, {}, **{attribute: column + 1})
