"""Sessions (visits) and daily activity, derived from events at ingest (SPEC §4.1).

Events of one user in one portal — the key ``(user_id, project_id)`` — sorted by
time (then event id, so equal timestamps have one order) form sessions. An event
continues the current session when it is at most 30 minutes after the previous
event *and* less than 4 hours after the session's first event.

When events arrive (import, API, late or out of order), only the affected keys
are recomputed, and only from the last stored session that starts at or before
the earliest changed instant: sessions before it cannot change, because a
session depends only on the events from its own start onwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from itertools import islice, repeat
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, TextClause, text

from metrics.ingest.derive import Days, Sessions, count_days, kind_codes, split_sessions
from metrics.ingest.driver import insert_rows
from metrics.models import MS_PER_DAY

SessionKey = tuple[str, str]
"""``(user_id, project_id)``; project_id ``""`` is the partner portal."""

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
WRITE_BATCH = 100_000


def day_of(ms: int) -> date:
    """The UTC date of an instant in epoch milliseconds."""
    return date.fromordinal(_EPOCH_ORDINAL + ms // MS_PER_DAY)


def day_start_ms(ms: int) -> int:
    return ms - ms % MS_PER_DAY


_ALL_EVENTS = text(
    "SELECT user_id, project_id, occurred_at, type, device FROM events WHERE workspace_id = :ws"
    " ORDER BY user_id, project_id, occurred_at, event_id"
)
SESSION_COLUMNS = (
    "workspace_id",
    "user_id",
    "project_id",
    "started_at",
    "ended_at",
    "duration_ms",
    "events",
    "logins",
    "page_views",
    "actions",
    "device",
)
DAY_COLUMNS = ("workspace_id", "user_id", "project_id", "day", "logins", "page_views", "actions")


def write_derived(
    conn: Connection,
    workspace_id: int,
    names: Sequence[SessionKey],
    found: Sessions,
    devices: Sequence[str | None],
    days: Days,
) -> None:
    """Insert sessions (with their first event's device) and day counts.

    Key codes in ``found`` and ``days`` index ``names``.
    """
    users = np.array([user for user, _ in names], dtype=object)
    projects = np.array([project for _, project in names], dtype=object)
    ws = repeat(workspace_id)
    for at in range(0, len(found), WRITE_BATCH):
        part = slice(at, at + WRITE_BATCH)
        key, started, ended = found.key[part], found.started_at[part], found.ended_at[part]
        rows = zip(
            ws,
            users[key].tolist(),
            projects[key].tolist(),
            started.tolist(),
            ended.tolist(),
            (ended - started).tolist(),
            found.events[part].tolist(),
            found.logins[part].tolist(),
            found.page_views[part].tolist(),
            found.actions[part].tolist(),
            devices[part],
            strict=False,  # the workspace id repeats
        )
        insert_rows(conn, "sessions", SESSION_COLUMNS, list(rows))
    for at in range(0, len(days), WRITE_BATCH):
        part = slice(at, at + WRITE_BATCH)
        key = days.key[part]
        rows = zip(
            ws,
            users[key].tolist(),
            projects[key].tolist(),
            np.datetime_as_string(days.day[part].astype("datetime64[D]")).tolist(),
            days.logins[part].tolist(),
            days.page_views[part].tolist(),
            days.actions[part].tolist(),
            strict=False,  # the workspace id repeats
        )
        insert_rows(conn, "daily_activity", DAY_COLUMNS, list(rows))


class _Derived:
    """Derives and writes sessions and day counts of ordered event rows, many keys at a time.

    Rows are ``(user_id, project_id, occurred_ms, type, device)`` sorted by key,
    then time and event id. ``limits`` may give a key the instants from which
    its sessions and its day counts are rebuilt (earlier rows are only read).
    """

    def __init__(self, conn: Connection, workspace_id: int, batch: int = WRITE_BATCH) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.batch = batch
        self.limits: dict[SessionKey, tuple[int | None, int | None]] = {}
        self.sessions_written = 0
        self.keys = 0

    def feed(self, rows: Iterable[Sequence[Any]]) -> None:
        """Derive from all of ``rows``, in batches that never split a key."""
        source = iter(rows)
        carry: list[Sequence[Any]] = []
        while chunk := list(islice(source, self.batch)):
            chunk = carry + chunk
            user, project = chunk[-1][0], chunk[-1][1]
            cut = len(chunk)
            while cut and chunk[cut - 1][0] == user and chunk[cut - 1][1] == project:
                cut -= 1
            if cut:
                self._derive(chunk[:cut])
            carry = chunk[cut:]
        if carry:
            self._derive(carry)

    def _derive(self, rows: Sequence[Sequence[Any]]) -> None:
        users, projects, occurred, types, device_names = zip(*rows, strict=True)
        count = len(rows)
        # Rows come sorted by key: a key starts wherever user or project changes.
        user_ids = np.array(users, dtype=object)
        project_ids = np.array(projects, dtype=object)
        starts = np.ones(count, dtype=bool)
        starts[1:] = (user_ids[1:] != user_ids[:-1]) | (project_ids[1:] != project_ids[:-1])
        keys = np.cumsum(starts) - 1
        first = np.flatnonzero(starts)
        names = list(zip(user_ids[first].tolist(), project_ids[first].tolist(), strict=True))
        times = np.fromiter(occurred, dtype=np.int64, count=count)
        kinds = kind_codes(types)
        devices = np.array(device_names, dtype=object)
        in_sessions, in_days = self._masks(names, keys, times)
        found = split_sessions(keys[in_sessions], times[in_sessions], kinds[in_sessions])
        days = count_days(keys[in_days], times[in_days], kinds[in_days])
        first_devices = devices[in_sessions][found.first].tolist()
        write_derived(self.conn, self.workspace_id, names, found, first_devices, days)
        self.sessions_written += len(found)
        self.keys += len(names)

    def _masks(
        self, names: list[SessionKey], keys: npt.NDArray[np.int64], times: npt.NDArray[np.int64]
    ) -> tuple[slice | npt.NDArray[np.bool_], slice | npt.NDArray[np.bool_]]:
        if not self.limits:
            return slice(None), slice(None)
        lowest = np.iinfo(np.int64).min
        bounds = [self.limits.get(name, (None, None)) for name in names]
        sessions_from = np.array([lowest if s is None else s for s, _ in bounds], np.int64)
        days_from = np.array([lowest if d is None else d for _, d in bounds], np.int64)
        return times >= sessions_from[keys], times >= days_from[keys]


def rebuild(
    conn: Connection,
    workspace_id: int,
    changed: dict[SessionKey, int],
    *,
    fresh: bool = False,
) -> int:
    """Recompute sessions and daily activity of the changed keys; return sessions written.

    ``changed`` maps each key to the earliest instant (epoch ms) at which one of
    its events was added, moved or removed. ``fresh`` says the workspace held no
    sessions before: then every event is new, and one ordered scan replaces the
    per-key look-ups and deletes.
    """
    derived = _Derived(conn, workspace_id)
    _derive(conn, workspace_id, changed, fresh, derived)
    return derived.sessions_written


def rebuild_all(conn: Connection, workspace_id: int) -> tuple[int, int]:
    """Sessions and daily activity of a workspace that had none: (keys, sessions written).

    One ordered scan over every stored event; nothing is deleted.
    """
    derived = _Derived(conn, workspace_id)
    return _derive_all(conn, workspace_id, derived), derived.sessions_written


def _scan(conn: Connection, query: TextClause, params: dict[str, Any]) -> Iterable[Sequence[Any]]:
    """Rows of a large ordered read, streamed with bounded memory."""
    if conn.dialect.name == "sqlite":
        # The driver's own cursor yields plain tuples at C speed; SQLAlchemy's
        # streamed result costs a Python fetchone per row.
        return conn.connection.cursor().execute(query.text, params)
    # a server-side cursor
    return conn.execution_options(stream_results=True, yield_per=50_000).execute(query, params)


def _derive_all(conn: Connection, workspace_id: int, derived: _Derived) -> int:
    derived.feed(_scan(conn, _ALL_EVENTS, {"ws": workspace_id}))
    return derived.keys


def _derive(
    conn: Connection,
    workspace_id: int,
    changed: dict[SessionKey, int],
    fresh: bool,
    derived: _Derived,
) -> None:
    if fresh:
        _derive_all(conn, workspace_id, derived)
        return
    if changed:
        _derive_changed(conn, workspace_id, changed, derived)


_KEYS = "pp_changed_keys"


def _derive_changed(
    conn: Connection, workspace_id: int, changed: dict[SessionKey, int], derived: _Derived
) -> None:
    """Recompute the changed keys set-wise: a handful of statements, however many keys.

    For each key, the session that holds the earliest change (the last one that
    starts at or before it) and everything after it are rebuilt, and day counts
    from the change's day on; so events are re-read from whichever is earlier.
    """
    postgres = conn.dialect.name == "postgresql"
    suffix = " ON COMMIT DROP" if postgres else ""
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_KEYS} (user_id TEXT, project_id TEXT,"
        f" earliest BIGINT, session_from BIGINT, read_from BIGINT, first_day DATE){suffix}"
    )
    conn.exec_driver_sql(f"DELETE FROM {_KEYS}")
    ws = {"ws": workspace_id}
    rows = [(user, project, at) for (user, project), at in changed.items()]
    insert_rows(conn, _KEYS, ("user_id", "project_id", "earliest"), rows)
    found = conn.execute(
        text(
            f"SELECT k.user_id, k.project_id, k.earliest, (SELECT MAX(s.started_at) FROM sessions s"
            " WHERE s.workspace_id = :ws AND s.user_id = k.user_id"
            f" AND s.project_id = k.project_id AND s.started_at <= k.earliest) FROM {_KEYS} k"
        ),
        ws,
    ).all()
    rows = []
    for user, project, earliest, session_from in found:
        first_day = day_start_ms(earliest)
        # With no session at or before the change, nothing stored precedes it.
        read_from = first_day if session_from is None else min(session_from, first_day)
        derived.limits[(user, project)] = (session_from, first_day)
        rows.append(
            (user, project, earliest, session_from or read_from, read_from, day_of(first_day))
        )
    conn.exec_driver_sql(f"DELETE FROM {_KEYS}")
    columns = ("user_id", "project_id", "earliest", "session_from", "read_from", "first_day")
    insert_rows(conn, _KEYS, columns, rows)
    # Keys drive every join (SQLite has no statistics on the temporary table:
    # CROSS JOIN fixes the loop order there).
    join = "JOIN" if postgres else "CROSS JOIN"
    match = "x.workspace_id = :ws AND x.user_id = k.user_id AND x.project_id = k.project_id"
    for table, row_id, condition in (
        ("sessions", "id", "x.started_at >= k.session_from"),
        ("daily_activity", "ctid" if postgres else "rowid", "x.day >= k.first_day"),
    ):
        conn.execute(
            text(
                f"DELETE FROM {table} WHERE {row_id} IN (SELECT x.{row_id} FROM {_KEYS} k"
                f" {join} {table} x ON {match} AND {condition})"
            ),
            ws,
        )
    events = text(
        f"SELECT k.user_id, k.project_id, x.occurred_at, x.type, x.device FROM {_KEYS} k"
        f" {join} events x ON {match} AND x.occurred_at >= k.read_from"
        " ORDER BY k.user_id, k.project_id, x.occurred_at, x.event_id"
    )
    derived.feed(_scan(conn, events, ws))
