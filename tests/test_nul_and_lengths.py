"""NUL characters and over-long ids (issue 15 item 6): both backends accept or reject the
same input with the same message — before, PostgreSQL answered 500 (``DataError``) and
SQLite stored them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metrics.ingest import ImportRejected, import_folder
from server import Config, create_app
from tests.api_support import LOCAL
from tests.conftest import Db, write_folder
from web.auth import create_key

LONG_ID = "x" * 256


@pytest.fixture
def api(db: Db) -> Iterator[TestClient]:
    with db.engine.begin() as conn:
        key, _ = create_key(conn, db.workspace, "nul test")
    app = create_app(Config(database_url=db.url, require_keys=True))
    with TestClient(app, client=LOCAL, headers={"Authorization": f"Bearer {key}"}) as client:
        account = {"account_id": "a1", "name": "Acme", "kind": "customer"}
        assert client.post("/api/records/accounts", json=account).status_code == 200
        user = {"user_id": "u1", "account_id": "a1", "name": "Ann"}
        assert client.post("/api/records/users", json=user).status_code == 200
        yield client


def _event(**changes: str) -> dict[str, str]:
    return {
        "event_id": "e1",
        "user_id": "u1",
        "occurred_at": "2026-03-01T10:00:00Z",
        "type": "login",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"event_id": "e\x001"}, "events[0].event_id", "contains a NUL character"),
        ({"device": "\x00"}, "events[0].device", "contains a NUL character"),
        ({"event_id": LONG_ID}, "events[0].event_id", "256 characters; at most 255 allowed"),
        ({"room_id": LONG_ID}, "events[0].room_id", "256 characters; at most 255 allowed"),
    ],
)
def test_events_with_nul_or_long_ids_are_422s(
    api: TestClient, changes: dict[str, str], field: str, message: str
) -> None:
    response = api.post("/api/events", json=[_event(**changes)])
    assert response.status_code == 422, response.text
    assert f"{field}: " in response.json()["detail"]
    assert message in response.json()["detail"]


def test_a_name_may_be_long_but_not_hold_a_nul(api: TestClient) -> None:
    long_name = {"account_id": "a2", "name": "N" * 1000, "kind": "customer"}
    assert api.post("/api/records/accounts", json=long_name).status_code == 200
    nul_name = {"account_id": "a3", "name": "Ac\x00me", "kind": "customer"}
    response = api.post("/api/records/accounts", json=nul_name)
    assert response.status_code == 422
    assert "accounts[0].name: contains a NUL character" in response.json()["detail"]


def test_questions_and_parameters_with_nul_are_422s(api: TestClient) -> None:
    asked = api.post("/api/ask", json={"question": "how many logins\x00?"})
    assert asked.status_code == 422
    assert "body.question: contains a NUL character" in asked.json()["detail"]
    scoped = api.get("/api/metrics/kpis", params={"owner": "Ann\x00"})
    assert scoped.status_code == 422
    assert "query parameter 'owner'" in scoped.json()["detail"]
    path = api.get("/api/conversations/ab%00cd")
    assert path.status_code == 422 and "path" in path.json()["detail"]
    feedback = {"conversation_id": "a\x00", "message_seq": 1, "verdict": "right"}
    assert api.post("/api/feedback", json=feedback).status_code == 422


def test_csv_cells_with_nul_or_long_ids_name_file_line_and_column(db: Db, tmp_path: Path) -> None:
    files = {
        "accounts.csv": f"account_id,name,kind\na1,Acme,customer\n{LONG_ID},Long,customer",
        "users.csv": "user_id,account_id,name\nu1,a1,Ann",
        "events.csv": "event_id,user_id,project_id,occurred_at,type\n"
        "e1,u1,,2026-03-01T10:00:00Z,login\ne2,u1,,2026-03-01T10:01:00Z,page\x00_view",
    }
    folder = write_folder(tmp_path / "in", {})
    for name, content in files.items():
        (folder / name).write_text(content + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_folder(db.engine, folder, workspace=db.workspace)
    found = {(e.file, e.line, e.column): e.message for e in rejected.value.errors}
    assert found[("accounts.csv", 3, "account_id")] == "256 characters; at most 255 allowed"
    assert "NUL" in found[("events.csv", 3, "type")]


def test_a_lone_surrogate_is_a_422_not_a_500(api: TestClient) -> None:
    """JSON may escape a lone surrogate (``"\\ud800"``); no database can store it."""
    body = '[{"event_id": "e\\ud800", "user_id": "u1", "occurred_at": "2026-03-01T10:00:00Z",'
    body += ' "type": "login"}]'
    response = api.post("/api/events", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "events[0].event_id: is not valid Unicode text" in response.json()["detail"]
