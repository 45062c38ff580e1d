"""Dashboard benchmark on a large demo database, against DuckDB on the raw CSV.

    .venv/bin/python bench/metrics.py [--events 10000000] [--pg URL]

Builds (once, cached in bench/out/) a demo folder of ``--events`` events and a
SQLite database imported from it. Then, in one run:

* the full dashboard — kpis + trends + projects + summary + leaderboard — for
  ``last_30_days`` and ``last_year`` (median of 3 warm runs, each section too);
* the reference: DuckDB computing the same KPI cards for ``last_30_days`` from
  the raw CSV files, sessionizing there too (window functions split on the
  30-minute gap; the rare gap-groups spanning 4 hours or more are re-split
  exactly in Python). Its numbers must equal ours — the run fails otherwise.

Ratios below 1 mean PortalPulse is faster than the reference.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.duck import connect_events, sessions_table  # noqa: E402
from metrics.db import connect, workspace_id  # noqa: E402
from metrics.demo import generate_demo  # noqa: E402
from metrics.scope import resolve_scope  # noqa: E402
from metrics.sections import section  # noqa: E402

AS_OF = date(2026, 11, 22)
DASHBOARD = ("kpis", "trends", "projects", "summary", "leaderboard")
CLI = ROOT / ".venv" / "bin" / "portalpulse"


def prepare(events: int) -> tuple[Path, str]:
    out = ROOT / "bench" / "out"
    folder = out / f"demo-{events}"
    if not (folder / "events.csv").exists():
        print(f"generating {events:,} events …", flush=True)
        generate_demo(folder, seed=7, as_of=AS_OF, events=events)
    database = out / f"metrics-{events}.db"
    url = f"sqlite:///{database}"
    if not database.exists():
        print(f"importing into {database} …", flush=True)
        started = time.perf_counter()
        subprocess.run([str(CLI), "import", str(folder), "--db", url, "-q"], check=True)
        print(f"  imported in {time.perf_counter() - started:.0f} s", flush=True)
    return folder, url


def time_dashboard(url: str, range_name: str, runs: int = 3) -> dict[str, float]:
    engine = connect(url)
    per_section: dict[str, list[float]] = {name: [] for name in DASHBOARD}
    totals = []
    with engine.connect() as conn:
        ws = workspace_id(conn, create=False)
        scope = resolve_scope(conn, ws, as_of=AS_OF.isoformat(), range=range_name)
        for name in DASHBOARD:  # warm the page cache once
            section(name)(conn, scope)
        for _ in range(runs):
            started = time.perf_counter()
            for name in DASHBOARD:
                t = time.perf_counter()
                section(name)(conn, scope)
                per_section[name].append(time.perf_counter() - t)
            totals.append(time.perf_counter() - started)
    engine.dispose()
    result = {name: statistics.median(times) for name, times in per_section.items()}
    result["total"] = statistics.median(totals)
    return result


def our_kpis(url: str) -> dict[str, object]:
    engine = connect(url)
    with engine.connect() as conn:
        ws = workspace_id(conn, create=False)
        scope = resolve_scope(conn, ws, as_of=AS_OF.isoformat(), range="last_30_days")
        values = section("kpis")(conn, scope).kpis.model_dump()
    engine.dispose()
    return values


def duckdb_kpis(folder: Path) -> tuple[dict[str, object], float]:
    """The KPI cards for last_30_days from the raw CSVs, sessionized in DuckDB."""
    started = time.perf_counter()
    start = "2026-10-24 00:00:00+00"
    end = "2026-11-23 00:00:00+00"
    con = connect_events(folder)
    flows = con.execute(
        f"""SELECT count(*) FILTER (WHERE type = 'login'),
        count(*) FILTER (WHERE type = 'page_view'),
        count(*) FILTER (WHERE type = 'action') FROM ev
        WHERE t >= epoch_ms(TIMESTAMPTZ '{start}') AND t < epoch_ms(TIMESTAMPTZ '{end}')"""
    ).fetchone()
    sessions_table(con)
    count, total_ms, users = con.execute(
        f"""SELECT count(*), sum(e - s), count(DISTINCT user_id) FROM sess
        WHERE s >= epoch_ms(TIMESTAMPTZ '{start}') AND s < epoch_ms(TIMESTAMPTZ '{end}')"""
    ).fetchone()
    invites = con.execute(
        f"""SELECT count(*) FROM read_csv('{folder / "invites.csv"}', header=true, all_varchar=true)
        WHERE sent_at::TIMESTAMPTZ >= TIMESTAMPTZ '{start}'
        AND sent_at::TIMESTAMPTZ < TIMESTAMPTZ '{end}'"""
    ).fetchone()[0]
    tasks = con.execute(
        f"""SELECT count(*) FROM read_csv('{folder / "tasks.csv"}', header=true, all_varchar=true)
        WHERE completed_at IS NOT NULL AND completed_at <> ''
        AND completed_at::TIMESTAMPTZ >= TIMESTAMPTZ '{start}'
        AND completed_at::TIMESTAMPTZ < TIMESTAMPTZ '{end}'"""
    ).fetchone()[0]
    seconds = time.perf_counter() - started
    values = {
        "invites_sent": invites,
        "logins": flows[0],
        "sessions": count,
        "tasks_completed": tasks,
        "avg_session_seconds": round(int(total_ms) / count / 1000, 1) if count else None,
        "unique_users": users,
        "page_views": flows[1],
        "actions": flows[2],
    }
    return values, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--prepare", action="store_true", help="Only build the cached data.")
    args = parser.parse_args()
    folder, url = prepare(args.events)
    if args.prepare:
        return
    print(f"\nfull dashboard on SQLite, {args.events:,} events (median of 3 warm runs)")
    figures = {}
    for range_name in ("last_30_days", "last_year"):
        figures[range_name] = timing = time_dashboard(url, range_name)
        parts = "  ".join(f"{name} {timing[name] * 1000:.0f}" for name in DASHBOARD)
        print(f"  {range_name:13s} total {timing['total'] * 1000:7.0f} ms   ({parts} ms)")
    reference, duck_seconds = duckdb_kpis(folder)
    ours = our_kpis(url)
    if reference != ours:
        raise SystemExit(f"DuckDB reference disagrees:\n  duckdb {reference}\n  ours   {ours}")
    kpis_30 = figures["last_30_days"]["kpis"]
    dash_30 = figures["last_30_days"]["total"]
    print(f"\nreference: DuckDB, KPI cards for last_30_days from the raw CSV: {duck_seconds:.1f} s")
    print("  (same eight values as PortalPulse — checked)")
    print(f"  ratio PortalPulse KPI cards / DuckDB:      {kpis_30 / duck_seconds:.4f}")
    print(f"  ratio PortalPulse full dashboard / DuckDB: {dash_30 / duck_seconds:.4f}")


if __name__ == "__main__":
    main()
