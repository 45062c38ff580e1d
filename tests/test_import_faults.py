"""A rejected or killed import leaves schema and data exactly as they were (issue 15 item 2).

On SQLite the driver used to run ``DROP INDEX`` outside any transaction (it opens
one only before INSERT/UPDATE/DELETE), so a large first load that was then rejected
— or killed — lost the events indexes for good.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from metrics.ingest import ImportRejected, bulk, columnar, import_folder
from tests.conftest import Db, write_folder

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "accounts.csv": """account_id,name,kind
        a1,Acme,customer""",
    "users.csv": """user_id,account_id,name
        u1,a1,Ann""",
}


def events(n: int, bad_last: bool = False) -> str:
    rows = [
        f"e{i},u1,,2026-03-01T{(i // 60) % 24:02d}:{i % 60:02d}:00Z,page_view" for i in range(n)
    ]
    if bad_last:
        rows[-1] = f"e{n - 1},nobody,,2026-03-02T10:00:00Z,login"
    return "event_id,user_id,project_id,occurred_at,type\n" + "\n".join(rows)


def snapshot(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        inspector = inspect(conn)
        indexes = {
            table: sorted(ix["name"] for ix in inspector.get_indexes(table))
            for table in ("events", "sessions", "daily_activity")
        }
        counts = {
            table: conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
            for table in ("accounts", "users", "events", "sessions")
        }
    return {"indexes": indexes, "counts": counts}


@pytest.fixture
def small_bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk mode (indexes dropped, rebuilt at the end) for loads of a few hundred rows,
    read in blocks of a few dozen rows (so the first ones are written before the bad one)."""
    monkeypatch.setattr(bulk, "BULK_MIN_ROWS", 10)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 2048)


def test_a_rejected_bulk_import_keeps_every_index(db: Db, tmp_path: Path, small_bulk: None) -> None:
    import_folder(db.engine, write_folder(tmp_path / "base", BASE), workspace=db.workspace)
    before = snapshot(db.engine)
    assert "ix_events_session_key" in before["indexes"]["events"]
    bad = write_folder(
        tmp_path / "bad",
        {"accounts.csv": "account_id,name,kind", "events.csv": events(400, bad_last=True)},
    )
    with pytest.raises(ImportRejected) as rejected:
        import_folder(db.engine, bad, workspace=db.workspace)
    assert "events.csv, line 401" in str(rejected.value.errors[0])
    assert snapshot(db.engine) == before
    # The next large import works and builds what it dropped.
    good = write_folder(tmp_path / "good", {**BASE, "events.csv": events(400)})
    report = import_folder(db.engine, good, workspace=db.workspace)
    assert report.rows["events.csv"] == 400
    assert snapshot(db.engine)["indexes"] == before["indexes"]


def test_a_bulk_import_repairs_a_database_that_lost_its_indexes(
    sqlite_db: Db, tmp_path: Path, small_bulk: None
) -> None:
    db = sqlite_db  # PostgreSQL never lost one; and its test schema is shared
    import_folder(db.engine, write_folder(tmp_path / "base", BASE), workspace=db.workspace)
    before = snapshot(db.engine)
    with db.engine.begin() as conn:  # what an older version left behind
        conn.execute(text("DROP INDEX ix_events_session_key"))
    good = write_folder(tmp_path / "good", {**BASE, "events.csv": events(400)})
    import_folder(db.engine, good, workspace=db.workspace)
    assert snapshot(db.engine)["indexes"] == before["indexes"]


KILLED = """
import sys, time
from pathlib import Path
from metrics.db import connect
from metrics.ingest import bulk, columnar, import_folder
bulk.BULK_MIN_ROWS = 10
columnar.BLOCK_BYTES = 2048
write = bulk.EventWriter.write
def stall(self, batch, *, find_old):
    out = write(self, batch, find_old=find_old)
    Path(sys.argv[3]).write_text("written")
    time.sleep(600)
    return out
bulk.EventWriter.write = stall
import_folder(connect(sys.argv[1]), Path(sys.argv[2]), workspace=sys.argv[4])
"""


def test_an_import_killed_after_dropping_indexes_changes_nothing(db: Db, tmp_path: Path) -> None:
    import_folder(db.engine, write_folder(tmp_path / "base", BASE), workspace=db.workspace)
    before = snapshot(db.engine)
    # Only a header in accounts.csv: no write comes before the indexes are dropped.
    folder = write_folder(
        tmp_path / "big", {"accounts.csv": "account_id,name,kind", "events.csv": events(400)}
    )
    flag = tmp_path / "flag"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, db.url, str(folder), str(flag), db.workspace], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert proc.poll() is None, "the import ended before it was killed"
            assert time.monotonic() < deadline, "the import never wrote a batch"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    if db.backend == "postgres":  # the server notices the dead client and rolls back
        time.sleep(0.5)
    assert snapshot(db.engine) == before
    report = import_folder(db.engine, folder, workspace=db.workspace)
    assert report.rows["events.csv"] == 400
    assert snapshot(db.engine)["indexes"] == before["indexes"]


def test_over_http_a_rejected_bulk_upload_leaves_the_next_one_working(
    sqlite_db: Db, tmp_path: Path, small_bulk: None
) -> None:
    """The 422-then-500 sequence of issue 15 item 2 over ``POST /api/import``."""
    import io
    import zipfile

    from fastapi.testclient import TestClient

    from server import Config, create_app
    from tests.api_support import LOCAL

    def archive(files: dict[str, str]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            for name, content in files.items():
                zipped.writestr(f"export/{name}", content)
        return buffer.getvalue()

    app = create_app(Config(database_url=sqlite_db.url))
    before = snapshot(sqlite_db.engine)
    bad = {"accounts.csv": "account_id,name,kind\n", "events.csv": events(400, bad_last=True)}
    good = {
        "accounts.csv": "account_id,name,kind\na1,Acme,customer\n",
        "users.csv": "user_id,account_id,name\nu1,a1,Ann\n",
        "events.csv": events(400),
    }
    with TestClient(app, client=LOCAL) as api:
        rejected = api.post("/api/import", files={"files": ("bad.zip", archive(bad))})
        assert rejected.status_code == 422
        assert snapshot(sqlite_db.engine)["indexes"] == before["indexes"]
        accepted = api.post("/api/import", files={"files": ("good.zip", archive(good))})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["rows"]["events.csv"] == 400
