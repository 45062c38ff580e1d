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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, insert, text

from metrics.models import MS_PER_DAY, DailyActivity, Session

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
_DELETE_SESSIONS_FROM = text(
    "DELETE FROM sessions WHERE workspace_id = :ws AND user_id = :user"
    " AND project_id = :project AND started_at >= :at"
)
_DELETE_DAYS_FROM = text(
    "DELETE FROM daily_activity WHERE workspace_id = :ws AND user_id = :user"
    " AND project_id = :project AND day >= :day"
)


class _Writer:
    """Buffers derived rows and writes them in batches."""

    def __init__(self, conn: Connection, batch: int = 20_000) -> None:
        self.conn = conn
        self.batch = batch
        self.sessions: list[dict[str, object]] = []
        self.days: list[dict[str, object]] = []
        self.sessions_written = 0

    def flush(self, force: bool = False) -> None:
        if self.sessions and (force or len(self.sessions) >= self.batch):
            self.conn.execute(insert(Session), self.sessions)
            self.sessions_written += len(self.sessions)
            self.sessions = []
        if self.days and (force or len(self.days) >= self.batch):
            self.conn.execute(insert(DailyActivity), self.days)
            self.days = []


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
    sessions before, which skips the look-ups and deletes.
    """
    writer = _Writer(conn)
    for (user, project), earliest in sorted(changed.items()):
        key = {"ws": workspace_id, "user": user, "project": project}
        first_day = day_start_ms(earliest)
        session_from = (
            None if fresh else conn.scalar(_LAST_SESSION_AT_OR_BEFORE, {**key, "at": earliest})
        )
        read_from = first_day if session_from is None else min(session_from, first_day)
        if not fresh:
            conn.execute(
                _DELETE_SESSIONS_FROM,
                {**key, "at": read_from if session_from is None else session_from},
            )
            conn.execute(_DELETE_DAYS_FROM, {**key, "day": day_of(first_day)})
        rows = conn.execute(_EVENTS_FROM, {**key, "at": read_from}).all()
        in_sessions = (r for r in rows if session_from is None or r[0] >= session_from)
        for visit in sessionize(in_sessions):
            writer.sessions.append(
                {
                    "workspace_id": workspace_id,
                    "user_id": user,
                    "project_id": project,
                    "started_at": visit.started_at,
                    "ended_at": visit.ended_at,
                    "duration_ms": visit.duration_ms,
                    "events": visit.events,
                    "logins": visit.logins,
                    "page_views": visit.page_views,
                    "actions": visit.actions,
                    "device": visit.device,
                }
            )
        _count_days(writer.days, workspace_id, user, project, rows, first_day)
        writer.flush()
    writer.flush(force=True)
    return writer.sessions_written


def _count_days(
    out: list[dict[str, object]],
    workspace_id: int,
    user: str,
    project: str,
    rows: list[tuple[int, str, str | None]],
    from_ms: int,
) -> None:
    counts: dict[int, list[int]] = {}
    for occurred, kind, _device in rows:
        if occurred < from_ms:
            continue
        bucket = counts.setdefault(occurred // MS_PER_DAY, [0, 0, 0])
        bucket[0 if kind == "login" else 1 if kind == "page_view" else 2] += 1
    for day_number, (logins, page_views, actions) in counts.items():
        out.append(
            {
                "workspace_id": workspace_id,
                "user_id": user,
                "project_id": project,
                "day": date.fromordinal(_EPOCH_ORDINAL + day_number),
                "logins": logins,
                "page_views": page_views,
                "actions": actions,
            }
        )
