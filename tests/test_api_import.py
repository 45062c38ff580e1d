"""``POST /api/import``: CSV files or a zip of a SPEC §2 folder, all or nothing."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metrics.db import connect
from metrics.status import workspace_status
from tests.api_support import LOCAL, ApiEnv, build_env
from tests.conftest import write_folder
from web.auth import create_key

SMALL = {
    "accounts.csv": "account_id,name,kind\nacme,Acme,customer",
    "users.csv": "user_id,account_id,name\nu1,acme,Ann\nu2,acme,Bo",
    "projects.csv": "project_id,account_id,name,status\np1,acme,Rollout,live",
    "events.csv": "event_id,user_id,project_id,occurred_at,type\n"
    "e1,u1,p1,2026-03-01T10:00:00Z,login\ne2,u2,p1,2026-03-01T11:00:00Z,login",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> ApiEnv:
    return build_env(tmp_path_factory.mktemp("import"), events=500)


@pytest.fixture
def client(env: ApiEnv, tmp_path: Path) -> Iterator[TestClient]:
    """A server with keys required and a key for a fresh, empty workspace."""
    engine = connect(env.url)
    with engine.begin() as conn:
        key, _ = create_key(conn, tmp_path.name[:60])
    engine.dispose()
    with env.client(require_keys=True, client=LOCAL) as c:
        c.headers.update(env.bearer(key))
        c.workspace = tmp_path.name[:60]  # type: ignore[attr-defined]
        yield c


def _rows(env: ApiEnv, workspace: str) -> dict[str, int]:
    engine = connect(env.url)
    with engine.connect() as conn:
        rows = workspace_status(conn, workspace).rows
    engine.dispose()
    return rows


def _files(files: dict[str, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, text.encode(), "text/csv")) for name, text in files.items()]


def _zip(files: dict[str, str], folder: str = "export/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(folder + name, text)
        archive.writestr("__MACOSX/export/._events.csv", "junk")
    return buffer.getvalue()


def test_csv_files_are_imported_and_counted(client: TestClient, env: ApiEnv) -> None:
    response = client.post("/api/import", files=[*_files(SMALL), *_files({"notes.csv": "a\n1"})])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"]["events.csv"] == 2 and body["ignored"] == ["notes.csv"]
    kpis = client.get("/api/metrics/kpis", params={"from": "2026-03-01", "to": "2026-03-01"})
    assert kpis.json()["kpis"]["logins"] == 2 and kpis.json()["kpis"]["sessions"] == 2


def test_a_zip_of_the_folder_imports_and_a_reupload_duplicates_nothing(
    client: TestClient, env: ApiEnv
) -> None:
    archive = ("files", ("export.zip", _zip(SMALL), "application/zip"))
    assert client.post("/api/import", files=[archive]).status_code == 200
    once = _rows(env, client.workspace)  # type: ignore[attr-defined]
    assert client.post("/api/import", files=[archive]).status_code == 200
    assert _rows(env, client.workspace) == once  # type: ignore[attr-defined]
    assert once["events"] == 2 and once["sessions"] == 2


def test_a_zip_with_the_csvs_at_its_root_imports(client: TestClient, env: ApiEnv) -> None:
    """Issue 15 item 8: only a zip holding a folder worked ("required file is missing")."""
    archive = ("files", ("flat.zip", _zip(SMALL, folder=""), "application/zip"))
    response = client.post("/api/import", files=[archive])
    assert response.status_code == 200, response.text
    assert response.json()["rows"]["events.csv"] == 2
    assert _rows(env, client.workspace)["events"] == 2  # type: ignore[attr-defined]
    bad = dict(SMALL)
    bad["events.csv"] += "\ne9,u9,p1,2026-03-02T10:00:00Z,login"
    rejected = client.post(
        "/api/import", files=[("files", ("flat.zip", _zip(bad, folder=""), "application/zip"))]
    )
    assert rejected.status_code == 422
    assert "events.csv, line 4" in rejected.json()["detail"]


def test_a_rejected_upload_stores_nothing_and_lists_every_error(
    client: TestClient, env: ApiEnv
) -> None:
    assert client.post("/api/import", files=_files(SMALL)).status_code == 200
    before = _rows(env, client.workspace)  # type: ignore[attr-defined]
    bad = dict(SMALL)
    bad["users.csv"] += "\nu3,acme,Cy"
    bad["events.csv"] += "\ne3,u3,p1,2026-03-02T10:00:00Z,login\ne4,u9,p1,not-a-time,login"
    archive = ("files", ("bad.zip", _zip(bad), "application/zip"))
    response = client.post("/api/import", files=[archive])
    assert response.status_code == 422
    body = response.json()
    assert "nothing was imported" in body["detail"]
    located = {(e["file"], e["line"], e["column"]) for e in body["errors"]}
    assert located == {("events.csv", 5, "user_id"), ("events.csv", 5, "occurred_at")}
    assert _rows(env, client.workspace) == before  # u3 and e3 were valid, yet not stored


def test_upload_mistakes_are_clear_422s(client: TestClient) -> None:
    no_accounts = client.post("/api/import", files=_files({"users.csv": SMALL["users.csv"]}))
    assert no_accounts.status_code == 422
    assert no_accounts.json()["errors"][0]["file"] == "accounts.csv"
    assert "required file is missing" in no_accounts.json()["detail"]
    text = client.post("/api/import", files=[("files", ("notes.txt", b"hi", "text/plain"))])
    assert text.status_code == 422 and "notes.txt" in text.json()["detail"]
    broken = client.post("/api/import", files=[("files", ("x.zip", b"PK nope", "application/zip"))])
    assert broken.status_code == 422 and "not a readable zip" in broken.json()["detail"]
    twice = client.post("/api/import", files=[*_files(SMALL), *_files({"Accounts.csv": "x"})])
    assert twice.status_code == 422 and "already uploaded" in twice.json()["detail"]
    assert client.post("/api/import").status_code == 422


def test_zip_members_cannot_escape_the_upload_folder(client: TestClient, tmp_path: Path) -> None:
    files = dict(SMALL)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"../../{name}", text)
    response = client.post("/api/import", files=[("files", ("x.zip", buffer.getvalue(), "a/b"))])
    assert response.status_code == 200, response.text
    assert not any(p.name == "accounts.csv" for p in tmp_path.parent.parent.iterdir())


def test_the_cli_and_the_upload_agree(env: ApiEnv, client: TestClient, tmp_path: Path) -> None:
    """The same folder gives the same rows whether imported by the CLI or uploaded."""
    from metrics.ingest import import_folder

    folder = write_folder(tmp_path / "in", SMALL)
    engine = connect(env.url)
    import_folder(engine, folder, workspace="cli-side")
    engine.dispose()
    assert client.post("/api/import", files=_files(SMALL)).status_code == 200
    assert _rows(env, "cli-side") == _rows(env, client.workspace)  # type: ignore[attr-defined]
