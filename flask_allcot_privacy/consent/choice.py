"""The visitor's consent: read from the signed ``privacy_consent`` cookie, once per request.

The cookie carries the consent id, the granted categories, the revision they
were granted for, the time, the source and whether the browser sent Global
Privacy Control when the choice was made. It is signed (itsdangerous, its own
salt) and expires after ``PRIVACY_CONSENT_LIFETIME``. A consent given for an
older revision grants nothing but the necessary category: the visitor is asked
again before anything new runs.

Global Privacy Control: a browser sending ``Sec-GPC: 1`` is treated as refusing
analytics and marketing, without a banner, unless its stored choice was itself
made while the signal was on (an explicit choice then, on the settings page, wins).
A choice made before the signal was turned on gives way to it. The GPC decision is
put in the cookie first and recorded, with source ``gpc``, only when a later request
presents that cookie: a client that keeps no cookies never writes to the database.
"""

from __future__ import annotations

import dataclasses
import typing as t
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import Response, g, has_request_context, request

from .. import cookies, tokens
from ..clock import utcnow
from ..cookies import ANALYTICS, MARKETING, NECESSARY
from . import catalogue

#: Where a decision came from; stored on every consent record.
SOURCES = ("banner", "settings", "gpc")
#: What the Global Privacy Control signal refuses; other categories stay as the visitor left them.
GPC_REFUSES = frozenset({ANALYTICS, MARKETING})


@dataclass(frozen=True)
class Consent:
    """One visitor's consent as this request sees it."""

    consent_id: str | None
    granted: frozenset[str]
    revision: str | None = None
    decided_at: datetime | None = None
    source: str | None = None
    #: The browser sent ``Sec-GPC: 1`` when this choice was made.
    gpc: bool = False
    #: A GPC decision stored in the cookie but not recorded yet.
    unrecorded: bool = False

    @property
    def decided(self) -> bool:
        """True when the visitor (or their browser's GPC signal) chose for the current revision."""
        return self.revision is not None and self.revision == catalogue.revision()

    def allows(self, category: str) -> bool:
        """True when scripts and cookies of ``category`` may run for this visitor."""
        return category == NECESSARY or (self.decided and category in self.granted)

    def refused(self) -> list[str]:
        """The configured categories not granted."""
        return [name for name in catalogue.category_names() if not self.allows(name)]

    def granted_list(self) -> list[str]:
        """The configured categories granted, in their configured order."""
        return [name for name in catalogue.category_names() if self.allows(name)]


#: A visitor who has not chosen and brings no consent cookie: the necessary only.
UNDECIDED = Consent(consent_id=None, granted=frozenset({NECESSARY}))


def gpc_requested() -> bool:
    """True when the browser sends the Global Privacy Control signal."""
    # Read from the WSGI environ: a missing header costs no exception (runs on every page).
    return str(request.environ.get("HTTP_SEC_GPC", "")).strip() == "1"


def decide(granted: t.Iterable[str], source: str, previous: Consent | None = None) -> Consent:
    """A new decision for the current revision, keeping the visitor's consent id."""
    if source not in SOURCES:
        raise ValueError(f"Unknown consent source {source!r}.")
    known = set(catalogue.category_names())
    consent_id = previous.consent_id if previous and previous.consent_id else str(uuid.uuid4())
    return Consent(
        consent_id=consent_id,
        granted=frozenset({NECESSARY, *(name for name in granted if name in known)}),
        revision=catalogue.revision(),
        decided_at=utcnow(),
        source=source,
        gpc=gpc_requested() if has_request_context() else False,
    )


def gpc_refusal(previous: Consent | None) -> Consent:
    """The GPC decision: the current choice without analytics and marketing.

    Preferences (and any other category) stay as the visitor left them for the
    current revision: granted only if they chose it.
    """
    kept = previous.granted if previous is not None and previous.decided else frozenset()
    return dataclasses.replace(
        decide(kept - GPC_REFUSES, "gpc", previous), gpc=True, unrecorded=True
    )


def current() -> Consent:
    """The consent for this request, read once and kept on ``g``."""
    if not has_request_context():
        return UNDECIDED
    store = g._get_current_object()  # type: ignore[attr-defined]
    found: Consent | None = getattr(store, "_privacy_consent", None)
    if found is not None:
        return found
    store._privacy_consent_consulted = True
    gpc = gpc_requested()
    stored = _from_cookie()
    if stored is None and not gpc:
        # A visitor with no consent cookie and no signal, most page views: nothing to read.
        store._privacy_consent = UNDECIDED
        return UNDECIDED
    chosen = stored if stored is not None and stored.decided else None
    if chosen is not None and chosen.unrecorded:
        # The browser kept the GPC decision's cookie: now it is worth a record.
        store._privacy_consent_unrecorded = chosen
    if chosen is not None and (chosen.gpc or not gpc):
        consent = chosen
    elif gpc:
        # No choice, or one made before the signal was on: the signal wins over it.
        consent = gpc_refusal(chosen or stored)
        store._privacy_consent_unsaved = consent
    else:
        consent = Consent(
            consent_id=stored.consent_id if stored else None, granted=frozenset({NECESSARY})
        )
    store._privacy_consent = consent
    return consent


def replace_current(consent: Consent) -> None:
    """Make ``consent`` this request's consent (after the visitor decided)."""
    g._privacy_consent = consent
    g.pop("_privacy_consent_unsaved", None)


def take_unsaved() -> Consent | None:
    """A GPC decision made during this request that the cookie does not hold yet."""
    return t.cast("Consent | None", g.pop("_privacy_consent_unsaved", None))


def take_unrecorded() -> Consent | None:
    """A GPC decision the request's cookie holds that still has to be recorded."""
    return t.cast("Consent | None", g.pop("_privacy_consent_unrecorded", None))


def is_current(consent: Consent) -> bool:
    """True when ``consent`` is still this request's consent (no decision replaced it)."""
    return g.get("_privacy_consent") is consent


def was_consulted() -> bool:
    """True when this response depends on the visitor's consent (for ``Vary``)."""
    return bool(g.get("_privacy_consent_consulted"))


_COOKIE = cookies.spec("consent")


def save(response: Response, consent: Consent) -> None:
    """Store ``consent`` in the signed cookie."""
    payload = {
        "id": consent.consent_id,
        "granted": sorted(consent.granted),
        "revision": consent.revision,
        "at": consent.decided_at.isoformat() if consent.decided_at else None,
        "source": consent.source,
        "gpc": consent.gpc,
        "unrecorded": consent.unrecorded,
    }
    cookies.set_cookie(response, "consent", tokens.make(tokens.CONSENT, payload))


def _from_cookie() -> Consent | None:
    value = request.cookies.get(_COOKIE.cookie_name()) if request.cookies else None
    if not value:
        return None
    try:
        payload = tokens.read(tokens.CONSENT, value)
    except tokens.TokenError:
        # Expired or tampered with: ask again, as if the visitor were new.
        return None
    granted = payload.get("granted")
    if not isinstance(granted, list) or not all(isinstance(name, str) for name in granted):
        return None
    try:
        decided_at = datetime.fromisoformat(str(payload.get("at")))
    except ValueError:
        decided_at = None
    return Consent(
        consent_id=str(payload.get("id") or "") or None,
        granted=frozenset(granted),
        revision=str(payload.get("revision") or "") or None,
        decided_at=decided_at,
        source=str(payload.get("source") or "") or None,
        # Cookies written before these fields existed: made without GPC, already recorded.
        gpc=payload.get("gpc") is True,
        unrecorded=payload.get("unrecorded") is True,
    )
