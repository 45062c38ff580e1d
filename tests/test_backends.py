"""The same data gives the same derived tables on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from metrics.db import workspace_id
from metrics.demo import generate_demo
from metrics.ingest import import_folder
from metrics.models import DailyActivity, Session
from tests.conftest import Db


def derived(engine: Engine, workspace: str) -> tuple[list[tuple], list[tuple]]:
    with engine.connect() as conn:
        ws = workspace_id(conn, workspace, create=False)
        sessions = conn.execute(
            select(
                Session.user_id,
                Session.project_id,
                Session.started_at,
                Session.ended_at,
                Session.duration_ms,
                Session.events,
                Session.logins,
                Session.page_views,
                Session.actions,
                Session.device,
            ).where(Session.workspace_id == ws)
        ).all()
        days = conn.execute(
            select(
                DailyActivity.user_id,
                DailyActivity.project_id,
                DailyActivity.day,
                DailyActivity.logins,
                DailyActivity.page_views,
                DailyActivity.actions,
            ).where(DailyActivity.workspace_id == ws)
        ).all()
    return sorted(map(tuple, sessions)), sorted(map(tuple, days))


@pytest.mark.postgres
def test_demo_data_gives_identical_sessions_on_both_backends(
    sqlite_db: Db, pg_engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "demo"
    generate_demo(folder, seed=11, as_of=date(2026, 3, 31), events=6000)
    import_folder(sqlite_db.engine, folder, workspace="same")
    import_folder(pg_engine, folder, workspace=f"same_{tmp_path.name}")
    on_sqlite = derived(sqlite_db.engine, "same")
    on_postgres = derived(pg_engine, f"same_{tmp_path.name}")
    assert len(on_sqlite[0]) > 500
    assert on_sqlite == on_postgres


def test_incremental_import_equals_one_big_import(db: Db, tmp_path: Path) -> None:
    """Events arriving in shuffled chunks, late and out of order, end where one import does."""
    folder = tmp_path / "demo"
    generate_demo(folder, seed=5, as_of=date(2026, 3, 31), events=4000)
    import_folder(db.engine, folder, workspace=db.workspace + "_whole")
    lines = (folder / "events.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    chunks = [rows[i::3] for i in (2, 0, 1)]  # every chunk spans the whole history
    for i, chunk in enumerate(chunks):
        part = tmp_path / f"part{i}"
        part.mkdir()
        for other in folder.iterdir():
            if other.name != "events.csv":
                (part / other.name).write_bytes(other.read_bytes())
        (part / "events.csv").write_text("\n".join([header, *chunk]) + "\n")
        import_folder(db.engine, part, workspace=db.workspace + "_parts")
    assert derived(db.engine, db.workspace + "_parts") == derived(
        db.engine, db.workspace + "_whole"
    )
