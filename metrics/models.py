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
