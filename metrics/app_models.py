"""The application's own tables: conversations and messages (the assistant's memory),
feedback, API keys, digest subscriptions and the digest ledger, and app secrets.

They share :data:`metrics.models.Base` (one metadata, one Alembic history) and its
conventions, but hold no portal data: the metrics never read them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from metrics.models import ID, Base, UtcMillis, _ws


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
    """A team member's weekly digest: on/off, when (local day and hour), whose book and
    where it goes (by email, to a Slack / Teams incoming webhook, or both).

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
    email_delivery: Mapped[bool] = mapped_column(Boolean, server_default=true())
    """Mail the digest to the member's address (false: the webhook only)."""
    webhook_kind: Mapped[str | None] = mapped_column(String(8))
    """``slack`` or ``teams``; None: no webhook."""
    webhook_url: Mapped[str | None] = mapped_column(Text)
    """The incoming-webhook URL: a secret (never logged or shown in full)."""
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    updated_at: Mapped[datetime] = mapped_column(UtcMillis)


class Digest(Base):
    """One digest for one recipient, ISO week and channel: the exactly-once ledger.

    The unique key is claimed (inserted) before anything is sent, so a second
    run for the same week finds the row and sends nothing.
    """

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("workspace_id", "member_id", "week", "channel"),
        Index(None, "workspace_id", "week", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ID)
    week: Mapped[str] = mapped_column(String(8))
    """ISO week, e.g. ``2026-W47``."""
    channel: Mapped[str] = mapped_column(String(8), server_default="email")
    """``email`` or ``webhook`` (a Slack / Teams post)."""
    email: Mapped[str] = mapped_column(Text)
    """Where it went: the address, or for a webhook its kind and redacted URL."""
    status: Mapped[str] = mapped_column(String(16))
    """``sending`` (claimed), ``sent``, ``failed`` or ``in_doubt`` (outcome unknown)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """SMTP / HTTP attempts started (counted before each attempt)."""
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
