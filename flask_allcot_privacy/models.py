"""The extension's tables, as typed SQLAlchemy 2.0 models.

The models are declared on the extension's own declarative base so they can be
imported before any app exists. ``init_app`` copies their tables into the
host's ``db.metadata``: ``db.create_all()`` and Alembic see them, and a host
model can point a foreign key at ``privacy_user.id``. Queries go through the
host's ``db.session``; the extension never creates a second engine or session.

Transactions: the extension's views commit their own unit of work. Helpers
that write (queueing mail, recording audit events, consent records) only add
to ``db.session`` and leave the commit to their caller.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .clock import utcnow


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on every database (SQLite included)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: t.Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetimes are refused: use clock.utcnow().")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: t.Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base for the extension's models; tables are prefixed ``privacy_``."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: t.ClassVar[dict[t.Any, t.Any]] = {datetime: UTCDateTime()}


#: Roles in increasing order of reach; each includes what the ones before it may do.
ROLES = ("staff", "privacy_officer", "admin")

#: How a member's name is shown to visitors (the policy's "Display Name").
DISPLAY_NAME_CHOICES = ("username", "first", "last", "first_last", "last_first")


class User(Base):
    """A registered member. The username never changes; the password may be unset."""

    __tablename__ = "privacy_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60))
    #: Lower-cased username; unique, so usernames are unique regardless of case.
    username_key: Mapped[str] = mapped_column(sa.String(60), unique=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    #: Lower-cased email; unique, so one account per address.
    email_key: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    #: Changes whenever a password link is issued or used: older links stop working.
    credential_version: Mapped[int] = mapped_column(default=0)
    first_name: Mapped[str] = mapped_column(sa.String(100), default="")
    last_name: Mapped[str] = mapped_column(sa.String(100), default="")
    website: Mapped[str] = mapped_column(sa.String(2048), default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    display_name_choice: Mapped[str] = mapped_column(sa.String(20), default="username")
    public_profile: Mapped[bool] = mapped_column(default=False)
    allow_indexing: Mapped[bool] = mapped_column(default=False)
    marketing_opt_in: Mapped[bool] = mapped_column(default=False)
    marketing_opt_in_at: Mapped[datetime | None]
    role: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_set_at: Mapped[datetime | None]
    #: Set when the account was erased on request; it can no longer log in.
    erased_at: Mapped[datetime | None]

    login_sessions: Mapped[list[LoginSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Flask-Login: the id it stores is the login session's token, not the user id,
    # so revoking a login session on the server invalidates every copy of its cookies.
    __allow_unmapped__ = True
    #: Set per request from the cookie; never stored (only its hash is, on LoginSession).
    login_token: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.erased_at is None and self.password_hash is not None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        if self.login_token is None:
            raise RuntimeError("Log users in with accounts.sessions.log_in(), not login_user().")
        return self.login_token

    def has_role(self, role: str) -> bool:
        """True when the member's role reaches at least ``role``."""
        if role not in ROLES:
            raise ValueError(f"Unknown role {role!r}; roles are {', '.join(ROLES)}.")
        return self.role in ROLES and ROLES.index(self.role) >= ROLES.index(role)

    def display_name_options(self) -> list[tuple[str, str]]:
        """The display names this member can choose, offering only filled-in names."""
        first, last = (self.first_name or "").strip(), (self.last_name or "").strip()
        options = [("username", self.username)]
        if first:
            options.append(("first", first))
        if last:
            options.append(("last", last))
        if first and last:
            options.append(("first_last", f"{first} {last}"))
            options.append(("last_first", f"{last} {first}"))
        return options

    @property
    def display_name(self) -> str:
        """The name shown to visitors, falling back to the username."""
        return dict(self.display_name_options()).get(self.display_name_choice, self.username)


class LoginSession(Base):
    """One login: the server side of the session and remember cookies."""

    __tablename__ = "privacy_login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="CASCADE"), index=True
    )
    #: SHA-256 of the token in the cookies; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    remember: Mapped[bool] = mapped_column(default=False)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="login_sessions")


class OutboxMessage(Base):
    """An email waiting for delivery, written in the transaction that caused it."""

    __tablename__ = "privacy_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``system`` mail is always sent; ``marketing`` only to those who opted in.
    category: Mapped[str] = mapped_column(sa.String(20), default="system")
    template: Mapped[str] = mapped_column(sa.String(100))
    sender: Mapped[str | None] = mapped_column(sa.String(320))
    recipients: Mapped[list[str]] = mapped_column(sa.JSON)
    subject: Mapped[str] = mapped_column(sa.String(255))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    headers: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: A worker that claimed the message holds it until then; another may retry after.
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))


class Comment(Base):
    """A comment on a host-chosen target such as ``post:12``."""

    __tablename__ = "privacy_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(sa.String(100), index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL"), index=True
    )
    author_name: Mapped[str] = mapped_column(sa.String(100), default="")
    author_email: Mapped[str] = mapped_column(sa.String(320), default="")
    author_url: Mapped[str] = mapped_column(sa.String(2048), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: ``approved`` or ``held`` (awaiting moderation).
    status: Mapped[str] = mapped_column(sa.String(20), default="approved")

    user: Mapped[User | None] = relationship()

    @property
    def is_held(self) -> bool:
        return self.status == "held"

    @property
    def public_name(self) -> str:
        """The name visitors see: a member's display name as it is now, else the name given.

        Read at render time, so a member's new display name shows on old comments too;
        an erased author (member or visitor) is shown as "Anonymous".
        """
        if self.user is not None:
            if self.user.erased_at is None:
                return self.user.display_name
        elif self.author_name:
            return self.author_name
        from flask_babel import gettext

        return str(gettext("Anonymous"))


class ContactMessage(Base):
    """A message sent through the contact form: the policy's "correspondence"."""

    __tablename__ = "privacy_contact_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User | None] = relationship()


class ConsentRecord(Base):
    """One consent decision, append-only: the proof of what a visitor chose."""

    __tablename__ = "privacy_consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL"), index=True
    )
    granted: Mapped[list[str]] = mapped_column(sa.JSON)
    refused: Mapped[list[str]] = mapped_column(sa.JSON)
    revision: Mapped[str] = mapped_column(sa.String(64))
    policy_version: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    #: ``banner``, ``settings`` or ``gpc``.
    source: Mapped[str] = mapped_column(sa.String(20))


class AuditEvent(Base):
    """A staff member viewed a person's data or acted: who, when, what, on whom."""

    __tablename__ = "privacy_audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    subject_id: Mapped[int | None] = mapped_column(index=True)
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")


# --- privacy requests ---

#: What a visitor may ask for (P28, P30, P31, P18); the order is the form's.
REQUEST_TYPES = ("export", "erase", "correct", "correspondence")
#: A request's life: pending until confirmed from the email, then confirmed until an
#: officer (or the automatic export) completes or rejects it; unconfirmed ones expire.
REQUEST_STATES = ("pending", "confirmed", "completed", "rejected", "expired")
#: The states in which a request is still open: a new one of the same type reuses it.
OPEN_REQUEST_STATES = ("pending", "confirmed")


class PrivacyRequest(Base):
    """A request to see, download, correct or erase one's data, and how it was answered.

    No IP address or browser is stored: the confirmation from the address is the proof
    of who asked, and rate limits count attempts without writing them down.
    """

    __tablename__ = "privacy_request"
    __table_args__ = (
        # The queue: open requests by deadline; and the expiry and reminder sweeps.
        sa.Index("ix_privacy_request_state_deadline", "state", "deadline"),
        sa.Index("ix_privacy_request_state_confirm_sent_at", "state", "confirm_sent_at"),
        # One open request per address and type, even when two arrive at once.
        sa.Index(
            "uq_privacy_request_open",
            "email_key",
            "request_type",
            unique=True,
            sqlite_where=sa.text("state IN ('pending', 'confirmed')"),
            postgresql_where=sa.text("state IN ('pending', 'confirmed')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The address as the requester typed it (normalised); all answers go there.
    email: Mapped[str] = mapped_column(sa.String(320))
    #: Lower-cased address, for finding the open request and the person's data.
    email_key: Mapped[str] = mapped_column(sa.String(320), index=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL"), index=True
    )
    request_type: Mapped[str] = mapped_column(sa.String(20))
    details: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[str] = mapped_column(sa.String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the latest confirmation email was sent; the request expires a window after it.
    confirm_sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    #: The last business day to answer (P32), set on confirmation.
    deadline: Mapped[date | None] = mapped_column(sa.Date)
    completed_at: Mapped[datetime | None]
    #: The staff member who completed or rejected it (None: the command line or automatic).
    handled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL")
    )
    rejection_reason: Mapped[str] = mapped_column(sa.Text, default="")
    #: What the officer changed for a correction request; the requester is told.
    correction_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: Export bookkeeping: asked for, being built (a claim), file name in PRIVACY_EXPORT_DIR,
    #: SHA-256 of the link's secret (the secret itself is only in the email), link expiry.
    export_requested_at: Mapped[datetime | None]
    export_started_at: Mapped[datetime | None]
    export_file: Mapped[str | None] = mapped_column(sa.String(100))
    export_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    export_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    export_error: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Officers were reminded two business days ahead / warned the deadline passed.
    reminder_sent_at: Mapped[datetime | None]
    overdue_warning_sent_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


# --- erasure log ---


class ErasureProgress(Base):
    """An eraser that finished within an erasure run, with what it did.

    A run (one request, or one address) writes a row as each eraser commits, in the
    same transaction as the eraser's work; a rerun after a crash skips those erasers
    and reports their stored results. The rows go once the whole run has finished.
    """

    __tablename__ = "privacy_erasure_progress"
    __table_args__ = (sa.UniqueConstraint("run_key", "eraser"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``request:<id>``, or ``address:<keyed hash>`` for an erasure without a request.
    run_key: Mapped[str] = mapped_column(sa.String(100))
    eraser: Mapped[str] = mapped_column(sa.String(60))
    #: The eraser's :class:`~flask_allcot_privacy.rights.registry.Erased`, as JSON.
    result: Mapped[dict[str, t.Any]] = mapped_column(sa.JSON)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)


class ErasureLog(Base):
    """One erased address, kept only as a keyed hash, so replay can forget it again.

    ``address_hash`` is HMAC-SHA256 of the normalised address under a key derived
    from ``SECRET_KEY``; ``key_id`` names that key, so replay knows which entries
    an old key (in ``SECRET_KEY_FALLBACKS``) must be tried on.
    """

    __tablename__ = "privacy_erasure_log"
    __table_args__ = (sa.UniqueConstraint("address_hash", "key_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(sa.String(64))
    key_id: Mapped[str] = mapped_column(sa.String(16))
    #: The request that asked for the erasure, if any (a number, not a foreign key:
    #: the log may live in another database).
    request_id: Mapped[int | None]
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- policy versions and breaches ---


class PolicyVersion(Base):
    """A published version of the privacy policy, as it then rendered (P36).

    ``text`` is the policy page's body at publishing time: the host's policy text,
    the generated cookie table and the processor list. ``digest`` covers all of it;
    ``cookie_digest`` is the consent revision then (cookies, processors, categories).
    Members are emailed in batches: ``notified_through_user_id`` moves forward in the
    same transaction as each batch's mail, so a rerun after a crash resumes after it.
    """

    __tablename__ = "privacy_policy_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3... unique, so two officers publishing at once cannot both get a number.
    number: Mapped[int] = mapped_column(unique=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[str] = mapped_column(sa.Text)
    text: Mapped[str] = mapped_column(sa.Text)
    digest: Mapped[str] = mapped_column(sa.String(64))
    cookie_digest: Mapped[str] = mapped_column(sa.String(64))
    published_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL")
    )
    #: The members to tell are those with an id up to this one (the accounts at publishing).
    notify_up_to_user_id: Mapped[int] = mapped_column(default=0)
    #: Every member with an id up to this one has had the notice queued.
    notified_through_user_id: Mapped[int] = mapped_column(default=0)
    notices_queued: Mapped[int] = mapped_column(default=0)
    notices_completed_at: Mapped[datetime | None]


class BreachIncident(Base):
    """A personal-data breach: what happened, to which data, what members should do (P35)."""

    __tablename__ = "privacy_breach_incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When the team became aware: both deadlines (48 h members, 72 h authority) run from here.
    discovered_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What happened, in words a member understands; quoted in every notice.
    summary: Mapped[str] = mapped_column(sa.Text)
    data_affected: Mapped[str] = mapped_column(sa.Text, default="")
    what_to_do: Mapped[str] = mapped_column(sa.Text, default="")
    #: Every member (not erased) is affected, including those added after recording.
    all_members: Mapped[bool] = mapped_column(default=False)
    authority_notified_at: Mapped[datetime | None]
    authority_notified_how: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL")
    )


class BreachNotice(Base):
    """One affected member of an incident; at most one per member, so one email each."""

    __tablename__ = "privacy_breach_notice"
    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        sa.ForeignKey("privacy_breach_incident.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="CASCADE"), index=True
    )
    #: When the notice email was written to the outbox (None: not yet).
    queued_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_outbox.id", ondelete="SET NULL")
    )
    #: When the email was delivered to the member's mail server.
    notified_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


# --- marketing ---

#: A subscription's life: waiting for its email confirmation, receiving mail, or not any more.
SUBSCRIPTION_STATUSES = ("pending", "subscribed", "unsubscribed")


class Subscription(Base):
    """One address's marketing choice: the record of its opt-in and opt-out (P20).

    ``User.marketing_opt_in`` mirrors a member's row for the profile form; this row is
    the proof of when, how and from where the address opted in or out.
    """

    __tablename__ = "privacy_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The normalised, lower-cased address; one row per address.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_user.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    opted_in_at: Mapped[datetime | None]
    #: ``registration``, ``profile``, ``newsletter_form`` or ``legacy``.
    source: Mapped[str] = mapped_column(sa.String(30), default="")
    #: When the address was proven (the emailed link); null while pending.
    confirmed_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    #: ``link`` (the unsubscribe page), ``one-click`` (RFC 8058) or ``profile``.
    opted_out_how: Mapped[str] = mapped_column(sa.String(20), default="")
    #: Agreed to open and click tracking (P23); only read when PRIVACY_MAIL_TRACKING is on.
    tracking_consent: Mapped[bool] = mapped_column(default=False)
    tracking_consent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MarketingCampaign(Base):
    """One ``send_marketing`` run: which template, when, to how many."""

    __tablename__ = "privacy_marketing_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued: Mapped[int] = mapped_column(default=0)


class MailEvent(Base):
    """An open or a click of a tracked marketing email, by a consenting subscriber (P23)."""

    __tablename__ = "privacy_mail_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("privacy_subscription.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("privacy_marketing_campaign.id", ondelete="SET NULL"), index=True
    )
    #: ``open`` or ``click``.
    kind: Mapped[str] = mapped_column(sa.String(10))
    url: Mapped[str] = mapped_column(sa.String(2048), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
