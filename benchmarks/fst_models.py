"""Flask-Security-Too's ready-made SQLAlchemy models, for the ``security`` host site.

Flask-Security keeps the ``db`` these models use in a module global, so they live
in a module of their own, imported once per process.
"""

from __future__ import annotations

from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined, misc]
    """A role (unused by the pages measured, required by the datastore)."""


class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined, misc]
    """A member."""
