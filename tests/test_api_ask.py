"""The HTTP API of the assistant and the metrics sections."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metrics.db import connect
from metrics.demo import generate_demo
from metrics.ingest import import_folder
from server import Config, create_app
from tests.api_support import LOCAL, seed_assistant_store

AS_OF = "2026-11-22"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{root / 'api.db'}"
    seed_assistant_store(root / "api.db")
    generate_demo(root / "csv", seed=3, as_of=date.fromisoformat(AS_OF), events=5000)
    import_folder(connect(url), root / "csv")
    with TestClient(create_app(Config(database_url=url)), client=LOCAL) as test_client:
        yield test_client


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ready").json()["status"] == "ready"


def test_metrics_sections_and_clear_422s(client: TestClient) -> None:
    kpis = client.get("/api/metrics/kpis", params={"range": "this_month", "as_of": AS_OF})
    assert kpis.status_code == 200
    assert kpis.json()["scope"]["range"] == "this_month"
    bad = client.get("/api/metrics/kpis", params={"from": "2026-03-10", "to": "2026-03-01"})
    assert bad.status_code == 422 and "is after to" in bad.json()["detail"]
    assert client.get("/api/metrics/kpis", params={"owner": "Nobody Atall"}).status_code == 422
    assert client.get("/api/metrics/nope").status_code == 404
    assert client.get("/api/metrics/kpis", params={"sort": "x"}).status_code == 422


def test_ask_answers_with_data_and_conversation(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "who never logged in?", "as_of": AS_OF})
    assert response.status_code == 200
    body = response.json()
    assert body["grounded"] is True
    assert body["checks"] == {"grounded": True, "covered": True, "unused": []}
    assert body["tool_calls"][0]["name"] == "find_never_logged_in"
    assert body["data"][0]["tool"] == "find_never_logged_in"
    follow = client.post(
        "/api/ask",
        json={"question": "which of them are partners?", "conversation_id": body["conversation_id"],
              "as_of": AS_OF},
    )  # fmt: skip
    assert follow.json()["tool_calls"][0]["args"]["kind"] == "partner"
    history = client.get(f"/api/conversations/{body['conversation_id']}").json()
    assert [m["role"] for m in history["messages"]] == ["human", "ai", "human", "ai"]


def test_the_pages_window_is_the_period_of_a_question_that_names_none(
    client: TestClient,
) -> None:
    """The chat panel sends the dashboard's period: the card and the answer count the same
    days; a period the question names wins; a bad window is a 422 that says so."""
    asked = client.post("/api/ask", json={
        "question": "how many logins?", "as_of": AS_OF, "window": {"range": "this_month"},
    }).json()  # fmt: skip
    assert asked["tool_calls"][0]["args"]["range"] == "this_month"
    assert "this month" in asked["answer"]
    dates = {"from": "2026-03-01", "to": "2026-03-05"}
    asked = client.post("/api/ask", json={
        "question": "how many logins?", "as_of": AS_OF, "window": dates,
    }).json()  # fmt: skip
    assert {k: asked["tool_calls"][0]["args"].get(k) for k in dates} == dates
    own = client.post("/api/ask", json={
        "question": "how many logins last month?", "as_of": AS_OF,
        "window": {"range": "this_month"},
    }).json()  # fmt: skip
    assert own["tool_calls"][0]["args"]["range"] == "last_month"
    bad = client.post("/api/ask", json={
        "question": "how many logins?", "as_of": AS_OF, "window": {"range": "fortnight"},
    })  # fmt: skip
    assert bad.status_code == 422 and "window" in bad.text


def test_retried_request_is_not_duplicated(client: TestClient) -> None:
    payload = {"question": "top partners", "as_of": AS_OF}
    first = client.post("/api/ask", json=payload, headers={"Idempotency-Key": "k-1"}).json()
    again = client.post(
        "/api/ask",
        json={**payload, "conversation_id": first["conversation_id"]},
        headers={"Idempotency-Key": "k-1"},
    ).json()
    assert again["replayed"] is True and again["answer"] == first["answer"]
    history = client.get(f"/api/conversations/{first['conversation_id']}").json()
    assert len(history["messages"]) == 2


def test_stream_sends_tool_calls_then_the_final_answer(client: TestClient) -> None:
    with client.stream(
        "POST", "/api/ask/stream", json={"question": "top 3 partners", "as_of": AS_OF}
    ) as response:
        text = "".join(response.iter_text())
    events = [block.split("\n", 1) for block in text.strip().split("\n\n")]
    kinds = [head.removeprefix("event: ") for head, _ in events]
    assert kinds[0] == "tool_call" and kinds[-1] == "final"
    final = json.loads(events[-1][1].removeprefix("data: "))
    assert final["grounded"] and final["tool_calls"][0]["name"] == "get_leaderboard"
    # the templated answer arrives in several token events before the final, and they add up
    pieces = [json.loads(body.removeprefix("data: "))["text"] for head, body in events
              if head == "event: token"]  # fmt: skip
    assert len(pieces) > 1 and kinds.index("token") < kinds.index("final")
    assert "".join(pieces) == final["answer"]


def test_answer_pieces_join_back_to_the_answer() -> None:
    from web.api.assistant import MAX_PIECES, answer_pieces

    text = "  **Top partners** in the last 30 days:\n\n1. “Zephyr” — 24 visits\n2. x  "
    pieces = answer_pieces(text, words=3)
    assert "".join(pieces) == text and len(pieces) > 2
    long = " ".join(f"w{i}" for i in range(5000))
    assert len(answer_pieces(long)) <= MAX_PIECES and "".join(answer_pieces(long)) == long
    assert answer_pieces("") == []


def test_bad_requests(client: TestClient) -> None:
    assert client.post("/api/ask", json={"question": ""}).status_code == 422
    assert client.post("/api/ask", json={"question": "x" * 2001}).status_code == 422
    unknown = client.post("/api/ask", json={"question": "who?", "filters": {"workspace": "other"}})
    assert unknown.status_code == 422 and "filters.workspace" in unknown.json()["detail"]
    missing = client.post("/api/ask", json={"question": "who?", "conversation_id": "nope"})
    assert missing.status_code == 404
    verdict = client.post(
        "/api/feedback", json={"conversation_id": "nope", "message_seq": 1, "verdict": "right"}
    )
    assert verdict.status_code == 404


def test_feedback_is_recorded(client: TestClient, tmp_path: Path) -> None:
    body = client.post("/api/ask", json={"question": "who never logged in?", "as_of": AS_OF}).json()
    response = client.post(
        "/api/feedback",
        json={"conversation_id": body["conversation_id"], "message_seq": body["message_seq"],
              "verdict": "right"},
    )  # fmt: skip
    assert response.json() == {"status": "recorded"}


def test_a_retried_first_question_is_replayed(client: TestClient) -> None:
    """Issue 15 item 7: the same Idempotency-Key without a conversation_id started a second
    conversation and answered twice."""
    payload = {"question": "how many logins this month?", "as_of": AS_OF}
    headers = {"Idempotency-Key": "first-question-1"}
    first = client.post("/api/ask", json=payload, headers=headers).json()
    again = client.post("/api/ask", json=payload, headers=headers).json()
    assert first["replayed"] is False and again["replayed"] is True
    assert again["conversation_id"] == first["conversation_id"]
    assert again["answer"] == first["answer"] and again["message_seq"] == first["message_seq"]
    history = client.get(f"/api/conversations/{first['conversation_id']}").json()
    assert len(history["messages"]) == 2
    body = client.post("/api/ask", json={**payload, "request_id": "first-question-1"}).json()
    assert body["replayed"] is True and body["conversation_id"] == first["conversation_id"]


def test_empty_conversation_id_is_a_422(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": "top partners", "conversation_id": ""})
    assert response.status_code == 422
    assert "conversation_id" in response.json()["detail"]
