"""One mechanism guards every staff route: anonymous visitors log in, others need the role."""

from __future__ import annotations

import functools
import typing as t

from flask import abort, current_app, request
from flask_login import current_user

from ..logsafe import visitor_text
from ..models import ROLES
from ..state import state_for

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def require_role(role: str) -> t.Callable[[F], F]:
    """Let a view run only for members whose role reaches ``role``.

    Anonymous visitors are sent to log in; members without the role get 403.
    Each refusal is logged with the member id, the route and the role needed.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; roles are {', '.join(ROLES)}.")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: t.Any, **kwargs: t.Any) -> t.Any:
            if not current_user.is_authenticated:
                current_app.logger.warning(
                    "staff route %s refused: not logged in (needs %s)",
                    visitor_text(request.path),
                    role,
                )
                return state_for(current_app).login_manager.unauthorized()
            if not current_user.has_role(role):
                current_app.logger.warning(
                    "staff route %s refused for member %s: needs %s",
                    visitor_text(request.path),
                    current_user.id,
                    role,
                )
                abort(403)
            return view(*args, **kwargs)

        # Only the wrapper carries the marker: a route registered with the bare view
        # (decorators in the wrong order) has none, and the access test reports it.
        guarded.privacy_required_role = role  # type: ignore[attr-defined]
        return t.cast(F, guarded)

    return decorate
