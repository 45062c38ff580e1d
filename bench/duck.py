"""DuckDB references for the benchmarks: the raw CSV folder, sessionized in DuckDB.

:func:`sessions_table` builds table ``sess(user_id, project_id, s, e)`` (epoch ms)
from ``events.csv`` with SPEC §4.1's rule: window functions split on the
30-minute gap; the rare gap groups spanning 4 hours or more are re-split
exactly in Python and written back.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

IDLE_MS = 1_800_000
CAP_MS = 14_400_000


def split_at_cap(times: list[int]) -> list[tuple[int, int]]:
    """Sessions of one 30-minute-gap group: a new one at 4 h after the current one's start."""
    out: list[tuple[int, int]] = []
    start = last = times[0]
    for t in times[1:]:
        if t - start >= CAP_MS:
            out.append((start, last))
            start = t
        last = t
    out.append((start, last))
    return out


def connect_events(folder: Path) -> Any:
    """A DuckDB connection with table ``ev(user_id, project_id, t, event_id, type)``."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""CREATE TABLE ev AS SELECT user_id, coalesce(project_id, '') AS project_id,
        epoch_ms(occurred_at::TIMESTAMPTZ) AS t, event_id, type
        FROM read_csv('{folder / "events.csv"}', header=true, all_varchar=true)"""
    )
    return con


def sessions_table(con: Any) -> None:
    """Table ``sess(user_id, project_id, s, e)``: every session of the events in ``ev``."""
    con.execute(
        f"""CREATE TABLE grouped AS SELECT *, sum(new) OVER (PARTITION BY user_id, project_id
        ORDER BY t, event_id ROWS UNBOUNDED PRECEDING) AS g FROM (
          SELECT *, CASE WHEN t - lag(t) OVER w <= {IDLE_MS} THEN 0 ELSE 1 END AS new
          FROM ev WINDOW w AS (PARTITION BY user_id, project_id ORDER BY t, event_id))"""
    )
    con.execute(
        """CREATE TABLE sess AS SELECT user_id, project_id, g, min(t) AS s, max(t) AS e
        FROM grouped GROUP BY ALL"""
    )
    rows = con.execute(
        f"""SELECT user_id, project_id, g, t FROM grouped
        WHERE (user_id, project_id, g) IN (SELECT user_id, project_id, g FROM sess
          WHERE e - s >= {CAP_MS})
        ORDER BY user_id, project_id, g, t, event_id"""
    ).fetchall()
    con.execute(f"DELETE FROM sess WHERE e - s >= {CAP_MS}")
    split = [
        (user, project, group, s, e)
        for (user, project, group), items in groupby(rows, key=itemgetter(0, 1, 2))
        for s, e in split_at_cap([r[3] for r in items])
    ]
    if split:
        con.executemany("INSERT INTO sess VALUES (?, ?, ?, ?, ?)", split)
