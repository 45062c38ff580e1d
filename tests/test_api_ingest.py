"""``POST /api/events`` and ``POST /api/records/{entity}``: the import's rules over HTTP,
all or nothing, idempotent on ids, sessions updated before the response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from server import Config, create_app
from tests.api_support import AS_OF, LOCAL, ApiEnv, build_env
from tests.conftest import Db
from web.api.ingest import MAX_BATCH
from web.auth import create_key, revoke_key

WINDOW = {"range": "last_7_days", "as_of": AS_OF}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> ApiEnv:
    return build_env(tmp_path_factory.mktemp("ingest"), events=2000)


@pytest.fixture(scope="module")
def client(env: ApiEnv) -> Iterator[TestClient]:
    with env.client(require_keys=True, workspace="acme") as c:
        c.headers.update(env.bearer(env.globex_key))  # globex: small, known numbers
        yield c


def _kpis(client: TestClient) -> dict[str, int]:
    response = client.get("/api/metrics/kpis", params=WINDOW)
    assert response.status_code == 200, response.text
    return response.json()["kpis"]


def _visit(prefix: str, user: str = "gx_u1", project: str = "gx_p1") -> list[dict[str, str]]:
    """A login and two page views five minutes apart: one session of 10 minutes."""
    return [
        {"event_id": f"{prefix}1", "user_id": user, "project_id": project,
         "occurred_at": "2026-11-20T08:00:00Z", "type": "login", "device": "desktop"},
        {"event_id": f"{prefix}2", "user_id": user, "project_id": project,
         "occurred_at": "2026-11-20T09:05:00+01:00", "type": "page_view"},
        {"event_id": f"{prefix}3", "user_id": user, "project_id": project,
         "occurred_at": "2026-11-20T08:10:00", "type": "action", "action": "pdf_open",
         "unknown_field": "ignored"},
    ]  # fmt: skip


def test_a_batch_counts_at_once_and_a_retry_never_duplicates(client: TestClient) -> None:
    before = _kpis(client)
    batch = _visit("b1_")
    first = client.post("/api/events", json=batch)
    assert first.status_code == 200, first.text
    assert first.json()["stored"] == 3 and first.json()["sessions_keys"] == 1
    after = _kpis(client)
    assert after["logins"] == before["logins"] + 1
    assert after["sessions"] == before["sessions"] + 1
    assert (
        after["actions"] == before["actions"] + 1
        and after["page_views"] == before["page_views"] + 1
    )
    assert after["avg_session_seconds"] is not None
    again = client.post("/api/events", json=batch)
    assert again.status_code == 200 and _kpis(client) == after


def test_a_single_event_and_an_update_by_id(client: TestClient) -> None:
    before = _kpis(client)
    one = {"event_id": "single_1", "user_id": "gx_u2", "occurred_at": "2026-11-21T10:00:00Z",
           "type": "login"}  # fmt: skip
    assert client.post("/api/events", json=one).status_code == 200
    assert _kpis(client)["logins"] == before["logins"] + 1
    changed = {**one, "type": "page_view"}  # same id: updated, not added
    assert client.post("/api/events", json=changed).status_code == 200
    after = _kpis(client)
    assert after["logins"] == before["logins"] and after["page_views"] == before["page_views"] + 1
    assert after["sessions"] == before["sessions"] + 1


def test_a_bad_record_rejects_the_whole_batch(client: TestClient) -> None:
    before = _kpis(client)
    batch = _visit("bad_")
    batch[1]["user_id"] = "nobody"
    batch[2]["occurred_at"] = "yesterday"
    response = client.post("/api/events", json=batch)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("2 error(s), nothing was stored")
    assert "events[1].user_id" in body["detail"] and "events[2].occurred_at" in body["detail"]
    assert [(e["item"], e["field"]) for e in body["errors"]] == [(1, "user_id"), (2, "occurred_at")]
    assert _kpis(client) == before


def test_schema_errors_name_the_item_and_field(client: TestClient) -> None:
    missing = client.post("/api/events", json=[{"event_id": "x", "user_id": "gx_u1"}])
    assert missing.status_code == 422
    assert "body[0].occurred_at: Field required" in missing.json()["detail"]
    action = client.post("/api/events", json={**_visit("a_")[0], "type": "action"})
    assert action.status_code == 422 and "action" in action.json()["detail"]
    vendor = {"account_id": "gx_a9", "name": "Vendor", "kind": "vendor"}
    kind = client.post("/api/records/accounts", json=vendor)
    assert kind.status_code == 422
    assert (
        "accounts[0].kind" in kind.json()["detail"] and "customer, partner" in kind.json()["detail"]
    )
    assert client.post("/api/events", json=[]).status_code == 422
    assert client.post("/api/events", content=b"{not json",
                       headers={"Content-Type": "application/json"}).status_code == 422  # fmt: skip


def test_the_batch_limit_is_enforced_and_stated(client: TestClient) -> None:
    too_many = [{"event_id": f"m{i}", "user_id": "gx_u1", "occurred_at": "2026-11-20T08:00:00Z",
                 "type": "login"} for i in range(MAX_BATCH + 1)]  # fmt: skip
    response = client.post("/api/events", json=too_many)
    assert response.status_code == 422 and f"at most {MAX_BATCH}" in response.json()["detail"]
    huge = b"[" + b" " * (17 * 2**20) + b"]"
    too_big = client.post("/api/events", content=huge, headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413 and "MiB" in too_big.json()["detail"]
    chunked = client.post(  # no Content-Length: counted as it arrives
        "/api/events",
        content=(b" " * 2**20 for _ in range(17)),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413 and "16 MiB" in chunked.json()["detail"]


def test_entity_upserts_show_up_in_metrics_and_the_assistant(client: TestClient) -> None:
    project = {"project_id": "gx_p2", "account_id": "gx_a1", "name": "Zephyr Foods pilot",
               "owner_id": "gx_tm1", "status": "in_progress", "playbook": "Standard"}  # fmt: skip
    # the assistant is loaded before the upsert: its name index must follow the write
    warm = client.post("/api/ask", json={"question": "top partners", "as_of": AS_OF})
    assert warm.status_code == 200
    for entity, record in (
        ("projects", project),
        ("users", {"user_id": "gx_u3", "account_id": "gx_a1", "name": "Nadia Ostrom"}),
        ("invites", {"invite_id": "gx_i3", "user_id": "gx_u3", "project_id": "gx_p2",
                     "sent_at": "2026-11-19T09:00:00Z"}),
        ("tasks", {"task_id": "gx_t1", "project_id": "gx_p2", "title": "Kickoff",
                   "assignee_user_id": "gx_u3", "due_on": "2026-11-01"}),
        ("rooms", {"room_id": "gx_r1", "name": "Welcome"}),
        ("resources", {"resource_id": "gx_res1", "title": "Guide", "kind": "pdf"}),
        ("tickets", {"ticket_id": "gx_tk1", "user_id": "gx_u3",
                     "created_at": "2026-11-20T10:00:00Z", "resolution": "self_service"}),
        ("team_members", {"member_id": "gx_tm2", "name": "Piers Lund"}),
    ):  # fmt: skip
        response = client.post(f"/api/records/{entity}", json=[record])
        assert response.status_code == 200, (entity, response.text)
        assert response.json()["stored"] == 1
    rows = client.get("/api/metrics/projects", params=WINDOW).json()["projects"]
    pilot = next(r for r in rows if r["project_id"] == "gx_p2")
    assert pilot["invited"] == 1 and pilot["tasks_overdue"] == 1
    asked = client.post("/api/ask", json={"question": "How is Zephyr Foods pilot doing?",
                                          "as_of": AS_OF}).json()  # fmt: skip
    assert "gx_p2" in json.dumps(asked["data"]), asked["answer"]
    renamed = client.post("/api/records/projects", json={**project, "name": "Zephyr Foods launch"})
    assert renamed.status_code == 200
    rows = client.get("/api/metrics/projects", params=WINDOW).json()["projects"]
    assert [r["project"] for r in rows if r["project_id"] == "gx_p2"] == ["Zephyr Foods launch"]


def test_keys_and_ingestion_on_every_backend(db: Db) -> None:
    """The same promises on SQLite and PostgreSQL: the key opens its workspace only,
    a batch counts at once, a retried batch changes nothing, concurrent batches for one
    user give the sessions a single import of all of them gives."""
    with db.engine.begin() as conn:
        key, _ = create_key(conn, db.workspace, "backend test")
    app = create_app(Config(database_url=db.url, require_keys=True))
    with TestClient(app, client=LOCAL, headers={"Authorization": f"Bearer {key}"}) as client:
        for entity, record in (
            ("accounts", {"account_id": "a1", "name": "Acme", "kind": "customer"}),
            ("users", {"user_id": "u1", "account_id": "a1", "name": "Ann"}),
            ("projects", {"project_id": "p1", "account_id": "a1", "name": "Go", "status": "live"}),
        ):
            assert client.post(f"/api/records/{entity}", json=record).status_code == 200
        visits = [_visit(f"c{i}_", "u1", "p1") for i in range(4)]
        for i, visit in enumerate(visits):  # four visits, an hour apart
            for event in visit:
                event["occurred_at"] = f"2026-11-20T{8 + i:02d}:0{visit.index(event)}:00Z"
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda v: client.post("/api/events", json=v).status_code, visits))
        assert codes == [200] * 4
        kpis = client.get("/api/metrics/kpis", params=WINDOW).json()["kpis"]
        assert (kpis["sessions"], kpis["logins"], kpis["avg_session_seconds"]) == (4, 4, 120)
        assert client.post("/api/events", json=visits[0]).status_code == 200
        assert client.get("/api/metrics/kpis", params=WINDOW).json()["kpis"] == kpis
        with db.engine.begin() as conn:
            revoke_key(conn, key)
        assert client.get("/api/metrics/kpis").status_code == 401
