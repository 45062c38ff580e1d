"""Ingest benchmark: import a generated folder and print events/s and peak memory.

    .venv/bin/python bench/ingest.py [--events 1000000] [--pg URL]

The demo generator writes the folder once (cached in bench/out/). Each import
runs as `portalpulse import` in a child process into a fresh database, so its
peak RSS is measured alone. In the same run, a floor reference — Python's csv
module plus sqlite3 executemany into an unindexed table, no validation, no
sessions — shows what any Python importer pays just to move the rows.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from metrics.demo import generate_demo  # noqa: E402

CLI = ROOT / ".venv" / "bin" / "portalpulse"


def folder_for(events: int) -> Path:
    folder = ROOT / "bench" / "out" / f"demo-{events}"
    if not (folder / "events.csv").exists():
        print(f"generating {events:,} events into {folder} …", flush=True)
        generate_demo(folder, seed=7, as_of=date(2026, 11, 22), events=events)
    return folder


def run_import(folder: Path, url: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one `portalpulse import` child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [str(CLI), "import", str(folder), "--db", url, "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def floor_reference(folder: Path) -> float:
    """csv + executemany into an unindexed SQLite table: the cost of moving rows at all."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "floor.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        with (folder / "events.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            conn.execute(f"CREATE TABLE events ({', '.join(header)})")
            marks = ", ".join("?" for _ in header)
            batch = []
            for row in reader:
                batch.append(row)
                if len(batch) == 20_000:
                    conn.executemany(f"INSERT INTO events VALUES ({marks})", batch)
                    batch = []
            conn.executemany(f"INSERT INTO events VALUES ({marks})", batch)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("PORTALPULSE_BENCH_PG_URL"))
    args = parser.parse_args()
    folder = folder_for(args.events)
    events = args.events
    print(
        f"\nimport of {events:,} events ({(folder / 'events.csv').stat().st_size / 2**20:.0f} MiB)"
    )
    floor = floor_reference(folder)
    print(f"  floor (csv + executemany, no checks): {floor:6.1f} s  {events / floor:>9,.0f} ev/s")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        seconds, peak = run_import(folder, url)
        print(
            f"  SQLite, fresh:  {seconds:6.1f} s  {events / seconds:>9,.0f} ev/s  "
            f"peak RSS {peak:,.0f} MiB  ratio to floor {seconds / floor:.2f}"
        )
        seconds, peak = run_import(folder, url)
        print(
            f"  SQLite, re-import of the same folder (all updates):  {seconds:6.1f} s  "
            f"{events / seconds:>9,.0f} ev/s  peak RSS {peak:,.0f} MiB"
        )
    if args.pg:
        from sqlalchemy import create_engine, text

        schema = f"bench_{os.getpid()}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            sep = "&" if "?" in args.pg else "?"
            seconds, peak = run_import(folder, f"{args.pg}{sep}options=-csearch_path%3D{schema}")
            print(
                f"  PostgreSQL, fresh:  {seconds:6.1f} s  {events / seconds:>9,.0f} ev/s  "
                f"peak RSS {peak:,.0f} MiB"
            )
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
