"""Bad input over HTTP is a 4xx whose message names the parameter; the stream reports
tool calls as they happen, answer tokens and the final answer with its data."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api_support import AS_OF, build_env


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    env = build_env(tmp_path_factory.mktemp("params"), events=1500)
    with env.client(workspace="acme") as c:
        yield c


@pytest.mark.parametrize(
    ("section", "params", "expected"),
    [
        ("kpis", {"page": "x"}, "query parameter 'page'"),
        ("kpis", {"range": "yesterday"}, "query parameter 'range': Value error, unknown range"),
        ("kpis", {"from": "2026-13-01", "to": "2026-12-01"}, "from: '2026-13-01' is not a date"),
        ("kpis", {"from": "2026-03-10", "to": "2026-03-01"}, "is after to"),
        ("kpis", {"from": "2026-03-10"}, "from and to go together"),
        ("kpis", {"range": "this_month", "from": "2026-03-01", "to": "2026-03-02"}, "not both"),
        ("kpis", {"as_of": "soon"}, "as_of: 'soon' is not a date"),
        ("kpis", {"as_of": "9999-12-31"}, "outside the supported range"),
        ("kpis", {"status": "done"}, "query parameter 'status'"),
        ("kpis", {"partner_type": "agency"}, "query parameter 'partner_type'"),
        ("kpis", {"owner": "Nobody Atall"}, "unknown owner 'Nobody Atall'"),
        ("kpis", {"playbook": "Nope"}, "unknown playbook 'Nope'"),
        ("kpis", {"sort": "sessions"}, "section 'kpis' does not take sort"),
        ("trends", {"bucket": "hour"}, "query parameter 'bucket'"),
        ("projects", {"sort": "nope"}, "cannot sort by 'nope'"),
        ("projects", {"descending": "maybe"}, "query parameter 'descending'"),
        ("leaderboard", {"limit": "0"}, "query parameter 'limit'"),
        ("leaderboard", {"limit": "501"}, "query parameter 'limit'"),
    ],
)
def test_bad_metrics_parameters_are_named(
    client: TestClient, section: str, params: dict[str, str], expected: str
) -> None:
    response = client.get(f"/api/metrics/{section}", params=params)
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]


def test_every_section_answers(client: TestClient) -> None:
    for section in ("kpis", "trends", "projects", "users", "summary", "leaderboard",
                    "content", "adoption", "risks"):  # fmt: skip
        response = client.get(f"/api/metrics/{section}", params={"as_of": AS_OF})
        assert response.status_code == 200, (section, response.text)
        assert response.json()["section"] == section
    unknown = client.get("/api/metrics/nope")
    assert unknown.status_code == 404 and "one of: kpis" in unknown.json()["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"question": "   "}, "the question is empty"),
        ({"question": "x" * 2001}, "body.question"),
        ({"question": "who?", "as_of": "soon"}, "as_of: 'soon'"),
        ({"question": "who?", "filters": {"owner": "Nobody Atall"}}, "filters: unknown owner"),
        ({"question": "who?", "filters": {"workspace": "other"}}, "body.filters.workspace"),
        ({"question": "who?", "filters": {"status": ["done"]}}, "body.filters.status[0]"),
        ({"question": 7}, "body.question"),
    ],
)
def test_bad_questions_are_refused_before_anything_runs(
    client: TestClient, body: dict[str, object], expected: str
) -> None:
    for route in ("/api/ask", "/api/ask/stream"):
        response = client.post(route, json=body)
        assert response.status_code == 422, (route, response.text)
        assert expected in response.json()["detail"]


def test_feedback_and_conversation_mistakes(client: TestClient) -> None:
    bad = client.post("/api/feedback", json={"conversation_id": "x", "message_seq": 0,
                                             "verdict": "meh"})  # fmt: skip
    detail = bad.json()["detail"]
    assert bad.status_code == 422 and "body.message_seq" in detail and "body.verdict" in detail
    assert client.get("/api/conversations", params={"limit": 0}).status_code == 422
    assert client.get("/api/conversations/nope").status_code == 404


def _events(text: str) -> list[tuple[str, dict[str, object]]]:
    out = []
    for block in text.strip().split("\n\n"):
        head, data = block.split("\n", 1)
        out.append((head.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


def test_the_stream_sends_tool_calls_tokens_and_the_final_answer(client: TestClient) -> None:
    question = {"question": "which projects have the lowest engagement?", "as_of": AS_OF}
    with client.stream("POST", "/api/ask/stream", json=question) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events("".join(response.iter_text()))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "tool_call" and kinds[-1] == "final"
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("token")
    final = events[-1][1]
    tokens = "".join(str(data["text"]) for kind, data in events if kind == "token")
    assert tokens.strip() == str(final["answer"]).strip()
    assert final["grounded"] is True and final["data"] and final["conversation_id"]
    call = events[0][1]
    assert final["tool_calls"][0]["name"] == call["name"]
    # the stored conversation is the same as a plain ask would leave
    stored = client.get(f"/api/conversations/{final['conversation_id']}").json()["messages"]
    assert [m["role"] for m in stored] == ["human", "ai"]
    assert stored[1]["seq"] == final["message_seq"] and stored[1]["tool_calls"][0]["name"]
