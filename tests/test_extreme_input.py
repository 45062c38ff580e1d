"""Valid but extreme input is a clear 4xx or a precise import error, never a 500 or a
stored value that later crashes (issue 15 items 5 and 10: bare dates as event times)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metrics.db import connect
from metrics.ingest import ImportRejected, import_folder
from server import Config, create_app
from tests.api_support import LOCAL
from tests.conftest import Db, write_folder

BOOK = {
    "team_members.csv": """member_id,name,email
        tm1,Tia Member,tia@co.example""",
    "accounts.csv": """account_id,name,kind,partner_type,owner_id
        a1,Acme,customer,,tm1""",
    "users.csv": """user_id,account_id,name
        u1,a1,Ann""",
}
EDGES = ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00", "1899-12-31T23:59:59Z"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("edges")
    url = f"sqlite:///{root / 'edges.db'}"
    import_folder(connect(url), write_folder(root / "book", BOOK))
    with TestClient(create_app(Config(database_url=url)), client=LOCAL) as client:
        yield client


@pytest.mark.parametrize("section", ["kpis", "adoption", "trends", "projects", "leaderboard"])
def test_a_window_at_the_calendars_start_is_a_422(api: TestClient, section: str) -> None:
    for params in ({"from": "0001-01-01", "to": "0001-01-02"}, {"as_of": "9999-12-31"}):
        response = api.get(f"/api/metrics/{section}", params=params)
        assert response.status_code in (200, 422), (params, response.text)
        if response.status_code == 422:
            assert "outside the supported range" in response.json()["detail"]
    kpis = api.get("/api/metrics/kpis", params={"from": "0001-01-01", "to": "0001-01-02"})
    assert kpis.status_code == 422


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52"])
def test_digest_preview_of_a_week_at_the_calendars_edge_is_a_422(
    api: TestClient, week: str
) -> None:
    response = api.get("/digests/preview", params={"to": "tm1", "week": week})
    assert response.status_code == 422
    assert week in response.json()["detail"]


@pytest.mark.parametrize("instant", EDGES)
def test_an_event_outside_the_supported_range_is_a_422(api: TestClient, instant: str) -> None:
    event = {"event_id": "x1", "user_id": "u1", "occurred_at": instant, "type": "login"}
    response = api.post("/api/events", json=event)
    assert response.status_code == 422
    assert "events[0].occurred_at" in response.json()["detail"]
    assert "outside the supported range" in response.json()["detail"]


def test_a_bare_date_is_refused_as_an_event_time_only(api: TestClient) -> None:
    event = {"event_id": "x2", "user_id": "u1", "occurred_at": "2026-03-01", "type": "login"}
    response = api.post("/api/events", json=event)
    assert response.status_code == 422
    assert "date without a time of day" in response.json()["detail"]
    invite = {"invite_id": "i1", "user_id": "u1", "sent_at": "2026-03-01"}  # midnight UTC
    assert api.post("/api/records/invites", json=invite).status_code == 200


@pytest.mark.parametrize("plain", [True, False], ids=["column-wise", "row-wise"])
def test_a_csv_with_an_instant_outside_the_range_is_rejected_precisely(
    db: Db, tmp_path: Path, plain: bool
) -> None:
    # A quote sends the block to the row validator; without one Arrow reads it.
    rows = [f"e{i},u1,,2026-03-01T10:{i:02d}:00Z,page_view" for i in range(5)]
    rows.insert(3, "e9,u1,,9999-12-31T23:30:00-01:00,login")
    if not plain:
        rows[0] = rows[0].replace("e0", '"e0"')
    files = {
        **BOOK,
        "events.csv": "event_id,user_id,project_id,occurred_at,type\n" + "\n".join(rows),
    }
    with pytest.raises(ImportRejected) as rejected:
        import_folder(db.engine, write_folder(tmp_path / "in", files), workspace=db.workspace)
    error = rejected.value.errors[0]
    assert (error.file, error.line, error.column) == ("events.csv", 5, "occurred_at")
    assert "outside the supported range" in error.message
