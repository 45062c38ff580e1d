"""Sessionization rules of SPEC §4.1, on the pure function and through the database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from metrics.db import workspace_id
from metrics.ingest.contract import FILES_BY_NAME
from metrics.ingest.derive import CAP_MS, IDLE_MS, kind_codes, split_sessions
from metrics.ingest.importer import Importer
from metrics.models import DailyActivity, Session, to_millis


@dataclass
class Visit:
    started_at: int
    ended_at: int
    events: int
    logins: int
    page_views: int
    actions: int
    device: str | None

    @property
    def duration_ms(self) -> int:
        return self.ended_at - self.started_at


def sessionize(events: Iterable[tuple[int, str, str | None]]) -> list[Visit]:
    """One key's events ``(occurred_ms, type, device)``, sorted by time, through the rule."""
    rows = list(events)
    times = np.array([r[0] for r in rows], dtype=np.int64)
    kinds = kind_codes(r[1] for r in rows)
    found = split_sessions(np.zeros(len(rows), dtype=np.int64), times, kinds)
    return [
        Visit(
            started_at=int(found.started_at[i]),
            ended_at=int(found.ended_at[i]),
            events=int(found.events[i]),
            logins=int(found.logins[i]),
            page_views=int(found.page_views[i]),
            actions=int(found.actions[i]),
            device=rows[int(found.first[i])][2],
        )
        for i in range(len(found))
    ]


T0 = to_millis(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
MIN = 60_000


def visits(*offsets_ms: int, kinds: str = "") -> list[tuple[int, int, int]]:
    events = [
        (T0 + o, (kinds[i] if i < len(kinds) else "p"), None) for i, o in enumerate(offsets_ms)
    ]
    kind = {"l": "login", "p": "page_view", "a": "action"}
    return [
        (v.started_at - T0, v.duration_ms, v.events)
        for v in sessionize((t, kind[k], d) for t, k, d in events)
    ]


def test_gap_of_exactly_30_minutes_continues_the_session() -> None:
    assert visits(0, IDLE_MS) == [(0, IDLE_MS, 2)]


def test_gap_just_over_30_minutes_starts_a_new_session() -> None:
    assert visits(0, IDLE_MS + 1) == [(0, 0, 1), (IDLE_MS + 1, 0, 1)]


def test_event_exactly_4_hours_after_first_starts_a_new_session() -> None:
    offsets = [*range(0, CAP_MS, 20 * MIN), CAP_MS]
    result = visits(*offsets)
    assert result[0] == (0, offsets[-2], len(offsets) - 1)
    assert result[1] == (CAP_MS, 0, 1)


def test_event_just_under_4_hours_continues() -> None:
    offsets = [*range(0, CAP_MS - 1, 20 * MIN), CAP_MS - 1]
    assert visits(*offsets) == [(0, CAP_MS - 1, len(offsets))]


def test_one_event_session_lasts_zero_seconds() -> None:
    assert visits(0) == [(0, 0, 1)]


def test_equal_timestamps_stay_in_one_session() -> None:
    assert visits(0, 0, 0) == [(0, 0, 3)]


def test_counts_by_type_and_first_device() -> None:
    rows = [
        (T0, "login", "mobile"),
        (T0 + MIN, "page_view", "desktop"),
        (T0 + 2 * MIN, "action", None),
    ]
    (visit,) = sessionize(rows)
    assert (visit.logins, visit.page_views, visit.actions, visit.device) == (1, 1, 1, "mobile")


def reference_sessions(times: list[int]) -> list[tuple[int, int]]:
    """The rule written the other way round: close a session, then open the next."""
    out: list[tuple[int, int]] = []
    start = last = None
    for t in sorted(times):
        if start is not None and t - last <= IDLE_MS and t - start < CAP_MS:
            last = t
            continue
        if start is not None:
            out.append((start, last))
        start = last = t
    if start is not None:
        out.append((start, last))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=12 * 3600 * 1000), max_size=60))
def test_sessionize_matches_reference(times: list[int]) -> None:
    got = [
        (v.started_at, v.ended_at)
        for v in sessionize((t, "page_view", None) for t in sorted(times))
    ]
    assert got == reference_sessions(times)
    assert sum(v.events for v in sessionize((t, "login", None) for t in sorted(times))) == len(
        times
    )


# -- through the database -------------------------------------------------------------


def _ingest(db, events: list[dict[str, str]]) -> None:
    """Load a tiny workspace: one account, one project, two users, then ``events``."""
    with db.engine.begin() as conn:
        ws = workspace_id(conn, db.workspace)
        imp = Importer(conn, ws)
        imp.add_records(
            FILES_BY_NAME["accounts.csv"],
            [{"account_id": "a1", "name": "Acme", "kind": "customer"}],
        )
        imp.add_records(
            FILES_BY_NAME["projects.csv"],
            [{"project_id": "p1", "account_id": "a1", "name": "Rollout", "status": "in_progress"}],
        )
        imp.add_records(
            FILES_BY_NAME["users.csv"],
            [
                {"user_id": "u1", "account_id": "a1", "name": "Ann"},
                {"user_id": "u2", "account_id": "a1", "name": "Bo"},
            ],
        )
        imp.add_records(FILES_BY_NAME["events.csv"], events)
        imp.finish()


def _event(
    eid: str,
    at: datetime,
    user: str = "u1",
    project: str = "p1",
    kind: str = "page_view",
    device: str = "desktop",
) -> dict[str, str]:
    return {
        "event_id": eid,
        "user_id": user,
        "project_id": project,
        "occurred_at": at.isoformat(),
        "type": kind,
        "action": "search" if kind == "action" else "",
        "device": device,
    }


def _stored(db) -> list[tuple[str, str, datetime, int, int]]:
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        rows = conn.execute(
            select(
                Session.user_id,
                Session.project_id,
                Session.started_at,
                Session.duration_ms,
                Session.events,
            )
            .where(Session.workspace_id == ws)
            .order_by(Session.user_id, Session.project_id, Session.started_at)
        ).all()
    return [tuple(r) for r in rows]


START = datetime(2026, 3, 1, 23, 40, tzinfo=UTC)


def test_interleaved_portals_of_one_user_are_separate_sessions(db) -> None:
    _ingest(
        db,
        [
            _event("e1", START),
            _event("e2", START + timedelta(minutes=5), project=""),
            _event("e3", START + timedelta(minutes=10)),
            _event("e4", START + timedelta(minutes=15), project=""),
        ],
    )
    assert _stored(db) == [
        ("u1", "", START + timedelta(minutes=5), 10 * MIN, 2),
        ("u1", "p1", START, 10 * MIN, 2),
    ]


def test_offsets_are_normalized_across_midnight(db) -> None:
    # 01:10+02:00 is 23:10 UTC the day before; 23:35 UTC continues it (25 min later).
    _ingest(
        db,
        [
            {**_event("e1", START), "occurred_at": "2026-03-02T01:10:00+02:00"},
            {**_event("e2", START), "occurred_at": "2026-03-01T23:35:00Z"},
            {**_event("e3", START), "occurred_at": "2026-03-02T00:05:00"},
        ],
    )
    first = datetime(2026, 3, 1, 23, 10, tzinfo=UTC)
    assert _stored(db) == [("u1", "p1", first, 55 * MIN, 3)]
    with db.engine.connect() as conn:
        ws = workspace_id(conn, db.workspace, create=False)
        days = conn.execute(
            select(DailyActivity.day, DailyActivity.page_views)
            .where(DailyActivity.workspace_id == ws)
            .order_by(DailyActivity.day)
        ).all()
    assert [(d.isoformat(), n) for d, n in days] == [("2026-03-01", 2), ("2026-03-02", 1)]


def test_late_event_bridges_two_sessions(db) -> None:
    _ingest(db, [_event("e1", START), _event("e2", START + timedelta(minutes=50))])
    assert len(_stored(db)) == 2
    _ingest(db, [_event("e3", START + timedelta(minutes=25))])  # arrives late, in between
    assert _stored(db) == [("u1", "p1", START, 50 * MIN, 3)]


def test_late_event_only_touches_its_own_key(db) -> None:
    _ingest(db, [_event("e1", START), _event("x1", START, user="u2")])
    before = _stored(db)
    _ingest(db, [_event("e2", START + timedelta(minutes=1))])
    after = _stored(db)
    assert [r for r in after if r[0] == "u2"] == [r for r in before if r[0] == "u2"]
    assert [r for r in after if r[0] == "u1"] == [("u1", "p1", START, MIN, 2)]


def test_moving_an_event_to_another_user_resessionizes_both(db) -> None:
    _ingest(db, [_event("e1", START), _event("e2", START + timedelta(minutes=10))])
    _ingest(db, [_event("e2", START + timedelta(minutes=10), user="u2")])
    assert _stored(db) == [
        ("u1", "p1", START, 0, 1),
        ("u2", "p1", START + timedelta(minutes=10), 0, 1),
    ]


def test_reimport_is_idempotent(db) -> None:
    events = [_event(f"e{i}", START + timedelta(minutes=7 * i)) for i in range(40)]
    _ingest(db, events)
    first = _stored(db)
    _ingest(db, events)
    assert _stored(db) == first
