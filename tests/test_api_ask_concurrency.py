"""Concurrent asks on every backend (issue 15 items 4 and 7): turns of one conversation
never collide, and retries of one request — even concurrent ones, even of a first
question — store one turn and replay it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api_support import AS_OF, LOCAL, app_on
from tests.conftest import Db

QUESTIONS = ["top 5 partners", "who never logged in?", "how many logins?", "overdue tasks"]


def test_concurrent_asks_in_one_conversation_are_all_answered_and_kept(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, key = app_on(db, tmp_path, monkeypatch)
    with TestClient(app, client=LOCAL, headers={"Authorization": f"Bearer {key}"}) as api:
        first = api.post("/api/ask", json={"question": "how many sessions?", "as_of": AS_OF})
        conversation = first.json()["conversation_id"]

        def ask(question: str) -> int:
            body = {"question": question, "as_of": AS_OF, "conversation_id": conversation}
            return api.post("/api/ask", json=body).status_code

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(ask, QUESTIONS * 2)) == [200] * 8
        history = api.get(f"/api/conversations/{conversation}").json()["messages"]
        asked = [m["content"] for m in history if m["role"] == "human"]
        assert sorted(asked) == sorted(["how many sessions?", *QUESTIONS * 2])
        assert [m["seq"] for m in history] == sorted(m["seq"] for m in history)


def test_concurrent_retries_of_a_first_question_store_one_turn(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, key = app_on(db, tmp_path, monkeypatch)
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "retry-me"}
    with TestClient(app, client=LOCAL, headers=headers) as api:
        body = {"question": "top 5 partners", "as_of": AS_OF}
        with ThreadPoolExecutor(4) as pool:
            answers = [
                r.json() for r in pool.map(lambda _: api.post("/api/ask", json=body), range(4))
            ]
        assert len({a["conversation_id"] for a in answers}) == 1
        assert [a["replayed"] for a in answers].count(False) == 1
        assert len({a["answer"] for a in answers}) == 1
        conversation = answers[0]["conversation_id"]
        history = api.get(f"/api/conversations/{conversation}").json()["messages"]
        assert [m["role"] for m in history] == ["human", "ai"]
        listed = api.get("/api/conversations").json()
        assert sum(c["id"] == conversation for c in listed) == 1
