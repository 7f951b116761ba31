"""What a shared cache (a CDN, a reverse proxy) may keep, marked on every response.

An anonymous page view sets no cookie, and its consent banner is the same for every
visitor, so a host may let a shared cache hold it (``Vary: Cookie, Sec-GPC`` keeps the
variants apart). Two kinds of response must never be shared, and get
``Cache-Control: private``: a member's pages (the request carries a login), and any
response that sets a cookie, whatever the host's own caching headers said.
"""

from __future__ import annotations

from flask import Response, session


def keep_private(response: Response) -> Response:
    """Mark members' pages and cookie-setting responses ``private`` (and drop ``public``).

    Runs after every other hook; Flask writes the session cookie after the hooks,
    which is why a modified session counts as setting a cookie.
    """
    if not ("_user_id" in session or session.modified or response.headers.getlist("Set-Cookie")):
        return response
    control = response.cache_control
    if control.no_store:
        return response
    control.public = False
    control.s_maxage = None
    control.private = True
    return response
