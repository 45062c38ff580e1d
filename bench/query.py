"""The general query (SPEC §6) on the large demo database, against DuckDB on the raw CSV.

    .venv/bin/python bench/query.py [--events 10000000]

Uses the cached data of ``bench/metrics.py`` (built on first use). Times, on
SQLite (median of 3 warm runs, in process, totals included):

* ``query sessions,unique_users,avg_session_seconds --by account,month --range last_year``
* ``query logins --by owner --range last_30_days``

and the whole ``portalpulse query ... --json`` command once each (wall clock,
start-up included). In the same run DuckDB computes the same figures from the
raw CSV files (sessionizing there too); every value must agree — the run fails
otherwise. Ratios below 1 mean PortalPulse is faster than the reference.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.duck import connect_events, sessions_table  # noqa: E402
from bench.metrics import AS_OF, CLI, prepare  # noqa: E402
from metrics.db import connect, workspace_id  # noqa: E402
from metrics.scope import resolve_scope  # noqa: E402
from metrics.semantic.query import QueryResult, parse_query, run_query  # noqa: E402

QUERIES = (
    ("sessions,unique_users,avg_session_seconds", "account,month", "last_year"),
    ("logins", "owner", "last_30_days"),
)


def ours(
    url: str, measures: str, by: str, range_name: str, runs: int = 3
) -> tuple[QueryResult, float]:
    engine = connect(url)
    times = []
    with engine.connect() as conn:
        ws = workspace_id(conn, create=False)
        scope = resolve_scope(conn, ws, as_of=AS_OF.isoformat(), range=range_name)
        spec = parse_query(measures, by=by)
        result = run_query(conn, scope, spec)  # warm the page cache
        for _ in range(runs):
            started = time.perf_counter()
            result = run_query(conn, scope, spec)
            times.append(time.perf_counter() - started)
    engine.dispose()
    return result, statistics.median(times)


def cli_seconds(url: str, measures: str, by: str, range_name: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(CLI), "query", measures, "--by", by, "--range", range_name,
         "--as-of", AS_OF.isoformat(), "--json", "--db", url],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def _csv(folder: Path, name: str) -> str:
    return f"read_csv('{folder / name}', header=true, all_varchar=true)"


def duckdb_sessions_by_account_month(con: Any, folder: Path) -> dict[tuple, dict[str, object]]:
    """sessions, unique_users, avg_session_seconds by (account, month) for last_year."""
    rows = con.execute(
        f"""SELECT u.account_id, strftime(make_timestamp(s.s * 1000), '%Y-%m-01') AS month,
        count(*), count(DISTINCT s.user_id), sum(s.e - s.s)
        FROM sess s JOIN {_csv(folder, "users.csv")} u ON u.user_id = s.user_id
        WHERE s.s >= epoch_ms(TIMESTAMPTZ '{AS_OF.year - 1}-01-01 00:00:00+00')
          AND s.s < epoch_ms(TIMESTAMPTZ '{AS_OF.year}-01-01 00:00:00+00')
        GROUP BY ALL"""
    ).fetchall()
    return {
        (account, month): {
            "sessions": n,
            "unique_users": users,
            "avg_session_seconds": round(int(total) / n / 1000, 1),
        }
        for account, month, n, users, total in rows
    }


def duckdb_logins_by_owner(con: Any, folder: Path) -> dict[tuple, dict[str, object]]:
    """logins by owner for last_30_days: the project's owner (else its account's), or the
    partner account's owner for partner-portal logins."""
    start = AS_OF.toordinal() - 29
    rows = con.execute(
        f"""SELECT CASE WHEN ev.project_id = '' THEN ua.owner_id
                        ELSE coalesce(nullif(p.owner_id, ''), nullif(pa.owner_id, '')) END,
                   count(*)
        FROM ev
        JOIN {_csv(folder, "users.csv")} u ON u.user_id = ev.user_id
        JOIN {_csv(folder, "accounts.csv")} ua ON ua.account_id = u.account_id
        LEFT JOIN {_csv(folder, "projects.csv")} p ON p.project_id = ev.project_id
        LEFT JOIN {_csv(folder, "accounts.csv")} pa ON pa.account_id = p.account_id
        WHERE ev.type = 'login'
          AND ev.t >= epoch_ms(DATE '{_day(start)}'::TIMESTAMPTZ)
          AND ev.t < epoch_ms(DATE '{_day(AS_OF.toordinal() + 1)}'::TIMESTAMPTZ)
        GROUP BY ALL"""
    ).fetchall()
    return {(owner,): {"logins": n} for owner, n in rows}


def _day(ordinal: int) -> str:
    from datetime import date

    return date.fromordinal(ordinal).isoformat()


def check(name: str, result: QueryResult, reference: dict[tuple, dict[str, object]]) -> None:
    got = {tuple(r[d] for d in result.by): {m: r[m] for m in result.measures} for r in result.rows}
    for key, values in reference.items():
        if got.get(key) != values:
            raise SystemExit(f"{name}: DuckDB disagrees at {key}: {values} vs ours {got.get(key)}")
    extra = [k for k in got if k not in reference and any(v for v in got[k].values())]
    if extra:
        raise SystemExit(f"{name}: groups DuckDB does not have: {extra[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    folder, url = prepare(args.events)
    print(f"\nportalpulse query on SQLite, {args.events:,} events (median of 3 warm runs)")
    measured = []
    for measures, by, range_name in QUERIES:
        result, seconds = ours(url, measures, by, range_name)
        wall = cli_seconds(url, measures, by, range_name)
        measured.append((result, seconds))
        print(
            f"  {measures} --by {by} --range {range_name}: {seconds * 1000:.0f} ms in process, "
            f"{wall:.2f} s for the whole command ({len(result.rows)} rows)"
        )
    started = time.perf_counter()
    con = connect_events(folder)
    loaded = time.perf_counter() - started
    sessions_table(con)
    sessionized = time.perf_counter() - started
    first = duckdb_sessions_by_account_month(con, folder)
    t1 = time.perf_counter() - started
    second = duckdb_logins_by_owner(con, folder)
    t2 = time.perf_counter() - t1 - started
    check("sessions by account, month", measured[0][0], first)
    check("logins by owner", measured[1][0], second)
    print(f"\nreference: DuckDB from the raw CSV (load {loaded:.1f} s, sessionize "
          f"{sessionized - loaded:.1f} s)")  # fmt: skip
    print("  every value equal to PortalPulse's — checked")
    print(f"  query 1: DuckDB {t1:.1f} s (with load and sessions); ratio ours/DuckDB "
          f"{measured[0][1] / t1:.4f}")  # fmt: skip
    print(f"  query 2: DuckDB {t2 + loaded:.1f} s (with load); ratio ours/DuckDB "
          f"{measured[1][1] / (t2 + loaded):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
