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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, text

from metrics.ingest.driver import insert_rows
from metrics.models import MS_PER_DAY

IDLE_MS = 30 * 60 * 1000
"""An event at most this long after the previous one continues the session."""
CAP_MS = 4 * 60 * 60 * 1000
"""An event this long or longer after the session's first event starts a new one."""

SessionKey = tuple[str, str]
"""``(user_id, project_id)``; project_id ``""`` is the partner portal."""

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(slots=True)
class Visit:
    """One session as computed from its events (times in epoch milliseconds)."""

    started_at: int
    ended_at: int
    events: int = 0
    logins: int = 0
    page_views: int = 0
    actions: int = 0
    device: str | None = None

    @property
    def duration_ms(self) -> int:
        return self.ended_at - self.started_at


def sessionize(events: Iterable[tuple[int, str, str | None]]) -> Iterator[Visit]:
    """Split one key's events ``(occurred_ms, type, device)``, sorted by time, into visits."""
    current: Visit | None = None
    for occurred, kind, device in events:
        if (
            current is None
            or occurred - current.ended_at > IDLE_MS
            or occurred - current.started_at >= CAP_MS
        ):
            if current is not None:
                yield current
            current = Visit(started_at=occurred, ended_at=occurred, device=device)
        current.ended_at = occurred
        current.events += 1
        if kind == "login":
            current.logins += 1
        elif kind == "page_view":
            current.page_views += 1
        else:
            current.actions += 1
    if current is not None:
        yield current


def day_of(ms: int) -> date:
    """The UTC date of an instant in epoch milliseconds."""
    return date.fromordinal(_EPOCH_ORDINAL + ms // MS_PER_DAY)


def day_start_ms(ms: int) -> int:
    return ms - ms % MS_PER_DAY


_LAST_SESSION_AT_OR_BEFORE = text(
    "SELECT MAX(started_at) FROM sessions WHERE workspace_id = :ws AND user_id = :user"
    " AND project_id = :project AND started_at <= :at"
)
_EVENTS_FROM = text(
    "SELECT occurred_at, type, device FROM events WHERE workspace_id = :ws AND user_id = :user"
    " AND project_id = :project AND occurred_at >= :at ORDER BY occurred_at, event_id"
)
_ALL_EVENTS = text(
    "SELECT user_id, project_id, occurred_at, type, device FROM events WHERE workspace_id = :ws"
    " ORDER BY user_id, project_id, occurred_at, event_id"
)
_DELETE_SESSIONS_FROM = text(
    "DELETE FROM sessions WHERE workspace_id = :ws AND user_id = :user"
    " AND project_id = :project AND started_at >= :at"
)
_DELETE_DAYS_FROM = text(
    "DELETE FROM daily_activity WHERE workspace_id = :ws AND user_id = :user"
    " AND project_id = :project AND day >= :day"
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


class _Derived:
    """Computes a key's sessions and day counts and writes them in batches."""

    def __init__(self, conn: Connection, workspace_id: int, batch: int = 50_000) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.batch = batch
        self.sessions: list[tuple[object, ...]] = []
        self.days: list[tuple[object, ...]] = []
        self.sessions_written = 0

    def add(
        self,
        user: str,
        project: str,
        events: Sequence[tuple[int, str, str | None]],
        *,
        sessions_from: int | None = None,
        days_from: int | None = None,
    ) -> None:
        """Derive from sorted ``events``: sessions from one instant, day counts from another."""
        ws = self.workspace_id
        in_sessions = (
            events if sessions_from is None else [e for e in events if e[0] >= sessions_from]
        )
        for v in sessionize(in_sessions):
            self.sessions.append(
                (
                    ws,
                    user,
                    project,
                    v.started_at,
                    v.ended_at,
                    v.ended_at - v.started_at,
                    v.events,
                    v.logins,
                    v.page_views,
                    v.actions,
                    v.device,
                )
            )
        counts: dict[int, list[int]] = {}
        for occurred, kind, _device in events:
            if days_from is not None and occurred < days_from:
                continue
            bucket = counts.get(occurred // MS_PER_DAY)
            if bucket is None:
                bucket = counts[occurred // MS_PER_DAY] = [0, 0, 0]
            bucket[0 if kind == "login" else 1 if kind == "page_view" else 2] += 1
        for day_number, (logins, page_views, actions) in counts.items():
            day = date.fromordinal(_EPOCH_ORDINAL + day_number)
            self.days.append((ws, user, project, day, logins, page_views, actions))
        if len(self.sessions) >= self.batch or len(self.days) >= self.batch:
            self.flush()

    def flush(self) -> None:
        insert_rows(self.conn, "sessions", SESSION_COLUMNS, self.sessions)
        insert_rows(self.conn, "daily_activity", DAY_COLUMNS, self.days)
        self.sessions_written += len(self.sessions)
        self.sessions, self.days = [], []


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


def _derive_all(conn: Connection, workspace_id: int, derived: _Derived) -> int:
    rows: Iterable[Sequence[Any]]
    if conn.dialect.name == "sqlite":
        # The driver's own cursor yields plain tuples at C speed with bounded
        # memory; SQLAlchemy's streamed result costs a Python fetchone per row.
        cursor = conn.connection.cursor()
        rows = cursor.execute(_ALL_EVENTS.text, {"ws": workspace_id})
    else:  # a server-side cursor
        scan = conn.execution_options(stream_results=True, yield_per=50_000)
        rows = scan.execute(_ALL_EVENTS, {"ws": workspace_id})
    keys = 0
    for (user, project), group in groupby(rows, key=itemgetter(0, 1)):
        derived.add(user, project, [r[2:] for r in group])
        keys += 1
    derived.flush()
    return keys


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
    derived.flush()


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
    plans: dict[SessionKey, tuple[int | None, int]] = {}
    rows = []
    for user, project, earliest, session_from in found:
        first_day = day_start_ms(earliest)
        # With no session at or before the change, nothing stored precedes it.
        read_from = first_day if session_from is None else min(session_from, first_day)
        plans[(user, project)] = (session_from, first_day)
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
    events = conn.execute(
        text(
            f"SELECT k.user_id, k.project_id, x.occurred_at, x.type, x.device FROM {_KEYS} k"
            f" {join} events x ON {match} AND x.occurred_at >= k.read_from"
            " ORDER BY k.user_id, k.project_id, x.occurred_at, x.event_id"
        ),
        ws,
    )
    for (user, project), group in groupby(events, key=itemgetter(0, 1)):
        session_from, first_day = plans[(user, project)]
        derived.add(
            user,
            project,
            [tuple(r[2:]) for r in group],
            sessions_from=session_from,
            days_from=first_day,
        )
