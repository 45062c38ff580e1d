"""Conversation memory: order, workspace isolation, idempotent turns, feedback."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from assistant.memory import ConversationNotFound, ConversationStore
from metrics.db import workspace_id
from tests.conftest import Db


def _turn(question: str, answer: str, call_id: str) -> list:
    return [
        HumanMessage(question),
        AIMessage(
            "", tool_calls=[{"name": "get_kpis", "args": {"range": "this_month"}, "id": call_id}]
        ),
        ToolMessage('{"logins": 5}', tool_call_id=call_id, name="get_kpis"),
        AIMessage(answer),
    ]


def test_turns_come_back_in_order_and_isolated(db: Db) -> None:
    store = ConversationStore(db.engine)
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace)
        other = workspace_id(conn, db.workspace + "_other")
    conversation = store.start(ws, "How many logins?")
    store.append(ws, conversation, _turn("How many logins?", "5 logins.", "c1"), request_id="r1")
    last = store.append(
        ws, conversation, _turn("And last month?", "3 logins.", "c2"), request_id="r2"
    )
    history = store.history(ws, conversation)
    assert [m.type for m in history] == ["human", "ai", "tool", "ai"] * 2
    assert history[1].tool_calls[0]["args"] == {"range": "this_month"}
    assert history[-1].content == "3 logins." and last == 8
    assert store.history(ws, conversation, turns=1)[0].content == "And last month?"
    with pytest.raises(ConversationNotFound):
        store.history(other, conversation)
    with pytest.raises(ConversationNotFound):
        store.append(other, conversation, _turn("x", "y", "c3"))


def test_a_retried_request_finds_its_stored_turn(db: Db) -> None:
    store = ConversationStore(db.engine)
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace)
    conversation = store.start(ws, "q")
    store.append(ws, conversation, _turn("q1", "a1", "c1"), request_id="req-1")
    store.append(ws, conversation, _turn("q2", "a2", "c2"), request_id="req-2")
    found = store.find_turn(ws, conversation, "req-1")
    assert found is not None
    assert found.messages[0].content == "q1" and found.messages[-1].content == "a1"
    assert found.answer_seq == 4
    assert store.find_turn(ws, conversation, "req-3") is None


def test_feedback_returns_the_question_and_tool_calls(db: Db) -> None:
    store = ConversationStore(db.engine)
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace)
    conversation = store.start(ws, "q")
    seq = store.append(ws, conversation, _turn("How many logins?", "5 logins.", "c1"))
    question, calls = store.record_feedback(ws, conversation, seq, "right")
    assert question == "How many logins?"
    assert calls == [{"name": "get_kpis", "args": {"range": "this_month"}}]
    with pytest.raises(ValueError, match="verdict"):
        store.record_feedback(ws, conversation, seq, "meh")
    with pytest.raises(ConversationNotFound):
        store.record_feedback(ws, conversation, 99, "wrong")
