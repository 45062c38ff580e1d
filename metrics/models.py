"""The data model: every table of the data contract (SPEC §2) plus what is derived at ingest.

Conventions, kept the same in every table so that SQL reads the same everywhere:

* Every row belongs to a workspace (tenant); the natural key of a record is
  ``(workspace_id, <its id from the CSV>)``.
* Instants are stored as integer **milliseconds since the Unix epoch, UTC**
  (:class:`UtcMillis`). Python sees aware ``datetime`` objects; SQL sees plain
  integers, so durations, bucketing and comparisons are the same arithmetic on
  SQLite and PostgreSQL.
* The partner portal is the empty string in ``project_id`` columns of invites,
  events, sessions and daily activity (:data:`PARTNER_PORTAL`), so that the
  session key ``(user_id, project_id)`` never contains NULL.
* ``sessions`` and ``daily_activity`` are derived from ``events`` at ingest
  (see :mod:`metrics.ingest.sessions`); queries never re-sessionize.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PARTNER_PORTAL = ""
"""``project_id`` value that stands for the partner portal."""

MS_PER_SECOND = 1000
MS_PER_DAY = 86_400_000


class UtcMillis(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` stored as integer epoch milliseconds."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | int | None, dialect: object) -> int | None:
        if value is None or isinstance(value, int):
            return value
        return to_millis(value)

    def process_result_value(self, value: int | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return from_millis(value)


def to_millis(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive datetimes are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_millis(value: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ID = String(255)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Workspace(Base):
    """A tenant: one company's portal data. ``default`` serves embedded use."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)


def _ws() -> Mapped[int]:
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)


class TeamMember(Base):
    __tablename__ = "team_members"

    workspace_id: Mapped[int] = _ws()
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (Index(None, "workspace_id", "owner_id"),)

    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    partner_type: Mapped[str | None] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(ID)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        Index(None, "workspace_id", "account_id"),
        Index(None, "workspace_id", "owner_id"),
    )

    workspace_id: Mapped[int] = _ws()
    project_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16))
    playbook: Mapped[str | None] = mapped_column(Text)
    started_on: Mapped[date | None] = mapped_column(Date)
    target_live_on: Mapped[date | None] = mapped_column(Date)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index(None, "workspace_id", "account_id"),)

    workspace_id: Mapped[int] = _ws()
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)


class Invite(Base):
    __tablename__ = "invites"
    __table_args__ = (
        Index(None, "workspace_id", "project_id", "user_id"),
        Index(None, "workspace_id", "user_id", "sent_at"),
    )

    workspace_id: Mapped[int] = _ws()
    invite_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID)
    project_id: Mapped[str] = mapped_column(ID, default=PARTNER_PORTAL)
    sent_at: Mapped[datetime] = mapped_column(UtcMillis)


class Room(Base):
    __tablename__ = "rooms"

    workspace_id: Mapped[int] = _ws()
    room_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class Resource(Base):
    __tablename__ = "resources"

    workspace_id: Mapped[int] = _ws()
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """One portal event. The covering index on the session key serves sessionization."""

    __tablename__ = "events"
    __table_args__ = (
        Index(
            "ix_events_session_key",
            "workspace_id",
            "user_id",
            "project_id",
            "occurred_at",
            "event_id",
            "type",
            "device",
        ),
        Index("ix_events_time", "workspace_id", "occurred_at", "type"),
    )

    workspace_id: Mapped[int] = _ws()
    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID)
    project_id: Mapped[str] = mapped_column(ID, default=PARTNER_PORTAL)
    occurred_at: Mapped[datetime] = mapped_column(UtcMillis)
    type: Mapped[str] = mapped_column(String(16))
    action: Mapped[str | None] = mapped_column(String(32))
    room_id: Mapped[str | None] = mapped_column(ID)
    resource_id: Mapped[str | None] = mapped_column(ID)
    device: Mapped[str | None] = mapped_column(String(16))


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index(None, "workspace_id", "project_id"),)

    workspace_id: Mapped[int] = _ws()
    task_id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ID)
    title: Mapped[str] = mapped_column(Text)
    assignee_user_id: Mapped[str | None] = mapped_column(ID)
    due_on: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UtcMillis)
    created_at: Mapped[datetime | None] = mapped_column(UtcMillis)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index(None, "workspace_id", "created_at"),)

    workspace_id: Mapped[int] = _ws()
    ticket_id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    resolution: Mapped[str | None] = mapped_column(String(16))


class Session(Base):
    """A visit: events of one user in one portal, split by 30-min idle / 4-h cap (SPEC §4.1)."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "user_id", "project_id", "started_at"),
        Index(
            "ix_sessions_cover",
            "workspace_id",
            "started_at",
            "project_id",
            "user_id",
            "duration_ms",
            "device",
        ),
        Index("ix_sessions_project_time", "workspace_id", "project_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ID)
    project_id: Mapped[str] = mapped_column(ID)
    started_at: Mapped[datetime] = mapped_column(UtcMillis)
    ended_at: Mapped[datetime] = mapped_column(UtcMillis)
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(Integer)
    logins: Mapped[int] = mapped_column(Integer)
    page_views: Mapped[int] = mapped_column(Integer)
    actions: Mapped[int] = mapped_column(Integer)
    device: Mapped[str | None] = mapped_column(String(16))
    """Device of the session's first event."""


class DailyActivity(Base):
    """Event counts per user, portal and UTC day, by event date (not session)."""

    __tablename__ = "daily_activity"
    __table_args__ = (
        Index(
            "ix_daily_activity_cover",
            "workspace_id",
            "day",
            "project_id",
            "user_id",
            "logins",
            "page_views",
            "actions",
        ),
    )

    workspace_id: Mapped[int] = _ws()
    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    logins: Mapped[int] = mapped_column(Integer)
    page_views: Mapped[int] = mapped_column(Integer)
    actions: Mapped[int] = mapped_column(Integer)


# Foreign keys between the small tables document the contract; the importer
# checks references itself (with file/line/column errors) before any write.
Project.__table__.append_constraint(
    ForeignKeyConstraint(
        ["workspace_id", "account_id"], ["accounts.workspace_id", "accounts.account_id"]
    )
)
User.__table__.append_constraint(
    ForeignKeyConstraint(
        ["workspace_id", "account_id"], ["accounts.workspace_id", "accounts.account_id"]
    )
)
Task.__table__.append_constraint(
    ForeignKeyConstraint(
        ["workspace_id", "project_id"], ["projects.workspace_id", "projects.project_id"]
    )
)

ENTITY_TABLES = (
    TeamMember,
    Account,
    Project,
    User,
    Room,
    Resource,
    Invite,
    Event,
    Task,
    Ticket,
)


class Conversation(Base):
    """A chat thread; its messages are the assistant's memory for follow-ups."""

    __tablename__ = "conversations"
    __table_args__ = (Index(None, "workspace_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    updated_at: Mapped[datetime] = mapped_column(UtcMillis)


class Message(Base):
    """One message of a conversation, as LangChain serializes it, in order."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        Index(None, "conversation_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    """The whole message as JSON (tool calls, tool call ids, answer data, grounded …)."""
    request_id: Mapped[str | None] = mapped_column(String(64))
    """The client's idempotency key on the question that started a turn."""
    created_at: Mapped[datetime] = mapped_column(UtcMillis)


class Feedback(Base):
    """A person's verdict on an answer; "right" ones grow the example-question index."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_seq: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(Text)
    tool_calls: Mapped[str] = mapped_column(Text)
    """JSON list of {name, args} that produced the answer."""
    created_at: Mapped[datetime] = mapped_column(UtcMillis)


class ApiKey(Base):
    """A key that opens one workspace over HTTP. Only a hash of the secret is stored.

    ``prefix`` is the key's first, non-secret part: it finds the row (unique index)
    and lets people tell keys apart in listings; the secret is then checked
    against ``secret_hash`` in constant time.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "workspace_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) of the whole key; keys are random, so no salt or slow hash is needed."""
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcMillis)


# -- weekly digests (assistant/digest) ------------------------------------------------


class DigestSubscription(Base):
    """A team member's weekly digest: on/off, when (local day and hour) and whose book.

    ``team`` empty means the member's own book (what they own); otherwise the
    comma-separated member ids of a manager's team.
    """

    __tablename__ = "digest_subscriptions"

    workspace_id: Mapped[int] = _ws()
    member_id: Mapped[str] = mapped_column(ID, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    day_of_week: Mapped[str] = mapped_column(String(3))
    hour: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    updated_at: Mapped[datetime] = mapped_column(UtcMillis)


class Digest(Base):
    """One digest for one recipient and ISO week: the exactly-once ledger.

    The unique key is claimed (inserted) before anything is sent, so a second
    run for the same week finds the row and sends nothing.
    """

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("workspace_id", "member_id", "week"),
        Index(None, "workspace_id", "week", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ID)
    week: Mapped[str] = mapped_column(String(8))
    """ISO week, e.g. ``2026-W47``."""
    email: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    """``sending`` (claimed), ``sent``, ``failed`` or ``in_doubt`` (SMTP outcome unknown)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """SMTP attempts started (counted before each attempt)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UtcMillis)
    sent_at: Mapped[datetime | None] = mapped_column(UtcMillis)
    updated_at: Mapped[datetime] = mapped_column(UtcMillis)
    holder: Mapped[str | None] = mapped_column(Text)
    """The process holding a ``sending`` claim: ``host pid start`` (see ``digest.store``)."""


class AppSecret(Base):
    """Generated secrets kept in the database (e.g. the unsubscribe-link key) when none is
    configured, so that links stay valid across restarts and processes."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
