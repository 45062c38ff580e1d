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


def test_concurrent_turns_in_one_conversation_all_stored(db: Db) -> None:
    """Issue 15 item 4: on PostgreSQL concurrent appends collided on the sequence number."""
    from concurrent.futures import ThreadPoolExecutor

    store = ConversationStore(db.engine)
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace)
    conversation = store.start(ws, "q")
    barrier = __import__("threading").Barrier(6)

    def ask(i: int) -> int:
        barrier.wait()
        return store.append(ws, conversation, _turn(f"q{i}", f"a{i}", f"c{i}"), f"r{i}")

    with ThreadPoolExecutor(6) as pool:
        seqs = sorted(pool.map(ask, range(6)))
    assert seqs == [4, 8, 12, 16, 20, 24]
    history = store.history(ws, conversation, turns=100)
    assert sorted(m.content for m in history if m.type == "human") == [f"q{i}" for i in range(6)]


def test_a_second_turn_with_one_request_id_is_not_stored(db: Db) -> None:
    """Issue 15 item 7: concurrent asks with one request id stored several turns."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.memory import DuplicateRequest

    store = ConversationStore(db.engine)
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace)
    conversation = store.start(ws, "q")
    barrier = __import__("threading").Barrier(4)

    def ask(i: int) -> str:
        barrier.wait()
        try:
            store.append(ws, conversation, _turn("q", f"a{i}", f"c{i}"), "same")
            return "stored"
        except DuplicateRequest as exc:
            return exc.turn.messages[-1].content

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(ask, range(4)))
    assert outcomes.count("stored") == 1
    history = store.history(ws, conversation, turns=100)
    assert [m.type for m in history] == ["human", "ai", "tool", "ai"]
    assert {o for o in outcomes if o != "stored"} == {history[-1].content}


def test_a_first_question_with_a_request_id_names_its_conversation(db: Db) -> None:
    store = ConversationStore(db.engine)
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace)
        other = workspace_id(conn, db.workspace + "_other")
    first = store.start(ws, "q", request_id="k-1")
    assert store.start(ws, "q", request_id="k-1") == first
    assert store.start(ws, "q", request_id="k-2") != first
    assert store.start(other, "q", request_id="k-1") != first  # per workspace
    assert store.start(ws, "q") != store.start(ws, "q")
