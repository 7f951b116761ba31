"""Proof of consent: every decision appends one :class:`~..models.ConsentRecord` row.

Rows are only ever added, never updated, so the table is the history of what
each visitor chose, for which revision and policy text, when, and from where
(an anonymised IP: the last IPv4 octet and the last 64 IPv6 bits are dropped).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user

from .. import ipaddr
from ..models import ConsentRecord
from ..state import current_db
from .choice import Consent


def policy_version() -> str:
    """The number of the policy version in force, or ``"unpublished"`` before the first.

    See :mod:`..policy_versions`: a version is the policy as it rendered when published.
    """
    from ..policy_versions import current_label

    return current_label()


def append(consent: Consent) -> ConsentRecord:
    """Add the record of ``consent`` to the session; the caller commits."""
    if not (consent.consent_id and consent.revision and consent.source):
        raise ValueError("Only a decided consent can be recorded.")
    user_id = current_user.id if current_user.is_authenticated else None
    record = ConsentRecord(
        consent_id=consent.consent_id,
        user_id=user_id,
        granted=consent.granted_list(),
        refused=consent.refused(),
        revision=consent.revision,
        policy_version=policy_version(),
        ip_address=ipaddr.anonymise(ipaddr.request_ip()),
        user_agent=ipaddr.request_user_agent(),
        source=consent.source,
    )
    if consent.decided_at is not None:
        record.created_at = consent.decided_at
    current_db().session.add(record)
    return record


def append_gpc_once(consent: Consent) -> bool:
    """Record a GPC decision unless it is already this consent id's latest record.

    A client replaying the same cookie therefore costs one read, never another row.
    """
    latest = (
        current_db()
        .session.scalars(
            sa.select(ConsentRecord)
            .where(ConsentRecord.consent_id == consent.consent_id)
            .order_by(ConsentRecord.id.desc())
            .limit(1)
        )
        .first()
    )
    if (
        latest is not None
        and latest.source == consent.source
        and latest.revision == consent.revision
        and latest.granted == consent.granted_list()
    ):
        return False
    append(consent)
    return True
