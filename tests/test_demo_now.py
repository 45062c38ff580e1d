"""``portalpulse demo`` as of an instant: the data ends there, so the page does not creep."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from metrics.demo import TIMESTAMP_COLUMNS, generate_demo

NOW = datetime(2026, 11, 22, 15, 30, 7, tzinfo=UTC)


def instants(folder: Path) -> list[datetime]:
    found = []
    for name, columns in TIMESTAMP_COLUMNS.items():
        with (folder / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                found += [
                    datetime.fromisoformat(row[c].replace("Z", "+00:00")) for c in columns if row[c]
                ]
    return found


def test_a_demo_as_of_an_instant_ends_at_that_instant(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "now", seed=5, as_of=NOW, events=3000)
    assert summary.counts["events.csv"] == 3000
    found = instants(summary.folder)
    assert max(found) <= NOW
    assert max(found) > NOW - timedelta(days=2)  # it does run up to its "now"
    whole_day = generate_demo(tmp_path / "day", seed=5, as_of=NOW.date(), events=3000)
    shift = instants(whole_day.folder)
    assert len(shift) == len(found)
    assert max(shift) > NOW  # the date form runs to midnight: later than the instant


def test_the_demo_command_ends_its_data_now(tmp_path: Path) -> None:
    from cli import app
    from cli.common import run_app
    from metrics.db import connect
    from metrics.status import workspace_status

    db = f"sqlite:///{tmp_path / 'd.db'}"
    before = datetime.now(UTC)
    out = str(tmp_path / "csv")
    assert run_app(app, ["demo", "--db", db, "--events", "500", "--out", out]) == 0
    with connect(db).connect() as conn:
        status = workspace_status(conn, "default")
    last = status.last_event if status.last_event.tzinfo else status.last_event.replace(tzinfo=UTC)
    assert last <= datetime.now(UTC) and last >= before - timedelta(days=3)
