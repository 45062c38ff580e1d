"""Concurrent writers on one SQLite file (issue 15 item 3): a bounded wait for the write
lock, then a 503 with Retry-After — never a 500, and nothing acknowledged is lost."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from metrics.db import connect
from metrics.ingest import import_folder
from server import Config, create_app
from tests.api_support import LOCAL
from tests.conftest import write_folder

BOOK = {
    "accounts.csv": """account_id,name,kind
        a1,Acme,customer""",
    "users.csv": """user_id,account_id,name
        u1,a1,Ann
        u2,a1,Bo""",
}


def event(i: int) -> dict[str, str]:
    return {
        "event_id": f"ev{i}",
        "user_id": f"u{1 + i % 2}",
        "occurred_at": f"2026-03-01T{(i // 60) % 24:02d}:{i % 60:02d}:00Z",
        "type": "page_view",
    }


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "busy.db"
    import_folder(connect(f"sqlite:///{path}"), write_folder(tmp_path / "book", BOOK))
    return str(path)


def client(path: str) -> TestClient:
    return TestClient(create_app(Config(database_url=f"sqlite:///{path}")), client=LOCAL)


def stored_events(path: str) -> set[str]:
    with sqlite3.connect(path) as raw:
        return {row[0] for row in raw.execute("SELECT event_id FROM events")}


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTALPULSE_SQLITE_BUSY_TIMEOUT_S", "0.3")


def test_a_writer_holding_the_lock_too_long_gives_503_with_retry_after(
    database: str, short_wait: None
) -> None:
    with client(database) as api:
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # e.g. a CLI import in another process
        try:
            started = time.monotonic()
            busy = api.post("/api/events", json=[event(1)])
            waited = time.monotonic() - started
            assert busy.status_code == 503, busy.text
            assert busy.headers["Retry-After"].isdigit()
            assert "busy" in busy.json()["detail"]
            assert waited >= 0.25  # it did wait for the lock first
            kpis = api.get("/api/metrics/kpis", params={"range": "last_30_days"})
            assert kpis.status_code == 200  # readers are not held up by a writer
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert "ev1" not in stored_events(database)
        assert api.post("/api/events", json=[event(1)]).status_code == 200
    assert "ev1" in stored_events(database)


def test_two_servers_and_another_writer_on_one_file_lose_nothing(database: str) -> None:
    """Two server processes' apps (separate engines and locks) post events while a third
    writer keeps taking the lock for short spells: every request succeeds."""
    stop = threading.Event()

    def other_writer() -> None:
        raw = sqlite3.connect(database, isolation_level=None, timeout=30)
        while not stop.is_set():
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("UPDATE accounts SET name = name WHERE account_id = 'a1'")
            time.sleep(0.05)
            raw.execute("COMMIT")
            time.sleep(0.01)
        raw.close()

    with client(database) as first, client(database) as second:
        writer = threading.Thread(target=other_writer)
        writer.start()
        try:
            apis = [first, second]

            def post(i: int) -> int:
                api = apis[i % 2]
                if i % 5 == 0:
                    return api.get(
                        "/api/metrics/kpis", params={"range": "last_30_days"}
                    ).status_code
                return api.post("/api/events", json=[event(i)]).status_code

            with ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(post, range(80)))
        finally:
            stop.set()
            writer.join()
    assert codes == [200] * 80
    assert stored_events(database) == {f"ev{i}" for i in range(80) if i % 5}


def test_busy_timeout_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from metrics.db import DatabaseError, busy_timeout_s

    monkeypatch.setenv("PORTALPULSE_SQLITE_BUSY_TIMEOUT_S", "soon")
    with pytest.raises(DatabaseError, match="PORTALPULSE_SQLITE_BUSY_TIMEOUT_S"):
        busy_timeout_s()
    monkeypatch.setenv("PORTALPULSE_SQLITE_BUSY_TIMEOUT_S", "2.5")
    assert busy_timeout_s() == 2.5


def test_events_posted_while_a_cli_import_runs_are_never_500s(
    database: str, tmp_path: Path
) -> None:
    """A real ``portalpulse import`` in another process holds the write lock for a while;
    the API waits for it (busy timeout) and stores every event it acknowledges."""
    import subprocess
    import sys
    from datetime import date

    from metrics.demo import generate_demo

    folder = tmp_path / "demo"
    generate_demo(folder, seed=5, as_of=date(2026, 11, 22), events=60_000)
    root = Path(__file__).resolve().parents[1]
    with client(database) as api:
        importing = subprocess.Popen(
            [sys.executable, "-c", "from cli import main; main()", "import", str(folder),
             "--db", f"sqlite:///{database}", "--workspace", "other"],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        responses: list = []
        try:
            with ThreadPoolExecutor(4) as pool:  # keep posting until the import is over
                while importing.poll() is None or len(responses) < 40:
                    numbers = range(len(responses), len(responses) + 4)
                    responses += pool.map(
                        lambda i: api.post("/api/events", json=[event(i)]), numbers
                    )
        finally:
            _, err = importing.communicate(timeout=300)
    assert importing.returncode == 0, err.decode()
    codes = [r.status_code for r in responses]
    assert all(code in (200, 503) for code in codes), codes
    assert all(r.headers.get("Retry-After") for r in responses if r.status_code == 503)
    acknowledged = {f"ev{i}" for i, r in enumerate(responses) if r.status_code == 200}
    assert acknowledged <= stored_events(database)
    assert codes.count(200) >= len(codes) - 4  # the import holds the lock for seconds, not 10
