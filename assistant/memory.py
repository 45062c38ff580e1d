"""Conversation memory in the database, so follow-ups ("and last month?") work.

A conversation belongs to one workspace; reading it from another workspace
fails as if it did not exist. Each turn — the question, the model's tool calls,
the tool results and the answer — is stored as LangChain messages in order. A
turn carries the client's ``request_id``: asking again with the same id returns
the stored turn instead of answering twice.

**Concurrent turns.** Appending a turn locks its conversation first (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT … FOR UPDATE`` on the conversation),
so two answers to one conversation get consecutive sequence numbers instead of
colliding, and a second answer to a ``request_id`` that is already stored is
not stored again (:class:`DuplicateRequest`: the caller replays the first).
A request id without a conversation names its conversation: the id is derived
from (workspace, request id), so a retried first question finds the first one's.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from langchain_core.messages import BaseMessage, messages_from_dict, messages_to_dict
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from metrics.app_models import Conversation, Feedback, Message
from metrics.db import write_transaction

HISTORY_TURNS = 6
"""Turns of history given to the model; older ones stay stored but are not sent."""


class ConversationNotFound(LookupError):
    """No such conversation in this workspace."""


@dataclass(frozen=True)
class StoredTurn:
    """A finished turn: the messages from the question to the answer."""

    messages: list[BaseMessage]
    answer_seq: int


class DuplicateRequest(Exception):
    """A turn with this request id is already stored (a concurrent retry won)."""

    def __init__(self, turn: StoredTurn) -> None:
        super().__init__("a turn with this request id is already stored")
        self.turn = turn


def conversation_for_request(workspace_id: int, request_id: str) -> str:
    """The id of the conversation a first question with ``request_id`` starts."""
    return hashlib.sha256(f"{workspace_id}\x00{request_id}".encode()).hexdigest()[:32]


class ConversationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, workspace_id: int, title: str, request_id: str | None = None) -> str:
        """A new conversation; its id. With ``request_id`` the id follows from it, and a
        retry finds (and gets) the conversation its first attempt started."""
        now = datetime.now(UTC)
        if request_id:
            conversation_id = conversation_for_request(workspace_id, request_id)
        else:
            conversation_id = uuid.uuid4().hex
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    insert(Conversation).values(
                        id=conversation_id,
                        workspace_id=workspace_id,
                        title=title[:200],
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            if not request_id:
                raise
            with self.engine.connect() as conn:  # started by an earlier try of this request
                self._check(conn, workspace_id, conversation_id)
        return conversation_id

    def list(self, workspace_id: int, limit: int = 50, offset: int = 0) -> list[dict[str, object]]:
        """The workspace's conversations, most recently active first, with their turn counts."""
        count = (
            select(func.count())
            .where(Message.conversation_id == Conversation.id, Message.role == "human")
            .scalar_subquery()
        )
        query = (
            select(
                Conversation.id,
                Conversation.title,
                Conversation.created_at,
                Conversation.updated_at,
                count.label("turns"),
            )
            .where(Conversation.workspace_id == workspace_id)
            .order_by(Conversation.updated_at.desc(), Conversation.id)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def _check(
        self, conn: Connection, workspace_id: int, conversation_id: str, lock: bool = False
    ) -> None:
        query = select(Conversation.workspace_id).where(Conversation.id == conversation_id)
        owner = conn.scalar(query.with_for_update() if lock else query)
        if owner != workspace_id:
            raise ConversationNotFound(f"no conversation {conversation_id!r} in this workspace")

    def history(
        self, workspace_id: int, conversation_id: str, turns: int = HISTORY_TURNS
    ) -> list[BaseMessage]:
        """The last ``turns`` turns as LangChain messages, oldest first."""
        with self.engine.connect() as conn:
            self._check(conn, workspace_id, conversation_id)
            rows = conn.execute(
                select(Message.role, Message.payload)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.seq)
            ).all()
        messages = messages_from_dict([json.loads(payload) for _role, payload in rows])
        starts = [i for i, m in enumerate(messages) if m.type == "human"]
        return messages[starts[-turns] :] if len(starts) > turns else messages

    def find_turn(
        self, workspace_id: int, conversation_id: str, request_id: str
    ) -> StoredTurn | None:
        """The turn an earlier request with ``request_id`` stored, if any."""
        with self.engine.connect() as conn:
            self._check(conn, workspace_id, conversation_id)
            return self._find_turn(conn, conversation_id, request_id)

    def _find_turn(
        self, conn: Connection, conversation_id: str, request_id: str
    ) -> StoredTurn | None:
        start = conn.scalar(
            select(Message.seq).where(
                Message.conversation_id == conversation_id, Message.request_id == request_id
            )
        )
        if start is None:
            return None
        rows = conn.execute(
            select(Message.seq, Message.payload)
            .where(Message.conversation_id == conversation_id, Message.seq >= start)
            .order_by(Message.seq)
        ).all()
        turn: list[tuple[int, str]] = []
        for seq, payload in rows:
            if turn and json.loads(payload)["type"] == "human":
                break
            turn.append((seq, payload))
        messages = messages_from_dict([json.loads(p) for _s, p in turn])
        return StoredTurn(messages, turn[-1][0])

    def append(
        self,
        workspace_id: int,
        conversation_id: str,
        messages: list[BaseMessage],
        request_id: str | None = None,
    ) -> int:
        """Store one turn's messages in order; return the answer's sequence number.

        Raises :class:`DuplicateRequest` when a turn with ``request_id`` is stored already.
        """
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            self._check(conn, workspace_id, conversation_id, lock=True)
            if request_id:
                stored = self._find_turn(conn, conversation_id, request_id)
                if stored is not None:
                    raise DuplicateRequest(stored)
            last = conn.scalar(
                select(func.max(Message.seq)).where(Message.conversation_id == conversation_id)
            )
            seq = (last or 0) + 1
            rows = []
            for i, (message, data) in enumerate(
                zip(messages, messages_to_dict(messages), strict=True)
            ):
                rows.append(
                    {
                        "conversation_id": conversation_id,
                        "seq": seq + i,
                        "role": message.type,
                        "content": message.text
                        if isinstance(message.content, list)
                        else str(message.content),
                        "payload": json.dumps(data, default=str),
                        "request_id": request_id if i == 0 else None,
                        "created_at": now,
                    }
                )
            conn.execute(insert(Message), rows)
            conn.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=now)
            )
        return seq + len(rows) - 1

    def record_feedback(
        self,
        workspace_id: int,
        conversation_id: str,
        message_seq: int,
        verdict: str,
    ) -> tuple[str, list[dict[str, object]]]:
        """Store a verdict on the answer at ``message_seq``; return its question and tool calls."""
        if verdict not in ("right", "wrong"):
            raise ValueError("verdict must be 'right' or 'wrong'")
        with write_transaction(self.engine) as conn:
            self._check(conn, workspace_id, conversation_id)
            rows = conn.execute(
                select(Message.seq, Message.payload)
                .where(Message.conversation_id == conversation_id, Message.seq <= message_seq)
                .order_by(Message.seq.desc())
            ).all()
            if not rows or rows[0][0] != message_seq:
                raise ConversationNotFound(f"no message {message_seq} in this conversation")
            question, calls = "", []
            for _seq, payload in rows:
                data = json.loads(payload)
                if data["type"] == "ai":
                    calls = [
                        {"name": c["name"], "args": c["args"]}
                        for c in data["data"].get("tool_calls") or []
                    ] + calls
                if data["type"] == "human":
                    question = data["data"]["content"]
                    break
            conn.execute(
                insert(Feedback).values(
                    workspace_id=workspace_id,
                    conversation_id=conversation_id,
                    message_seq=message_seq,
                    verdict=verdict,
                    question=question,
                    tool_calls=json.dumps(calls),
                    created_at=datetime.now(UTC),
                )
            )
        return question, calls
