"""Sessions of a workspace's first load, derived from the events as they stream in.

When a workspace holds no events yet, every key's sessions are built from
scratch. Instead of reading a million events back from the database in key
order, the importer hands each written batch here; it keeps four compact
columns per event (a key code, the instant, the kind and a device code: 14
bytes) and, at the end, sorts them once and derives every session and day
count with :mod:`metrics.ingest.derive`.

Two things only the database knows are settled there: which of several events
at the same instant comes first (the lowest event id: its device is the
session's), and whether an event id came twice (the later row replaced the
earlier one; the importer then falls back to reading the stored events).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from metrics.ingest.bulk import BULK_MIN_DERIVED, bulk_mode, indexes_rebuilt
from metrics.ingest.columnar import Block
from metrics.ingest.derive import Days, Sessions, count_days, kind_code, split_sessions
from metrics.ingest.driver import insert_rows
from metrics.ingest.sessions import SessionKey, write_derived
from metrics.models import DailyActivity, Session

PART_EVENTS = 2_500_000
"""Events sorted and derived at a time (the sort needs about 16 extra bytes an event)."""
_TIES = "pp_tied_starts"
_SET_DEVICE = text(
    "UPDATE sessions SET device = :device WHERE workspace_id = :ws AND user_id = :user"
    " AND project_id = :project AND started_at = :at"
)


class FreshSessions:
    """Collects ``(key, instant, kind, device)`` of every event written by a first load."""

    def __init__(self) -> None:
        self.keys: dict[SessionKey, int] = {}
        self.devices: dict[str | None, int] = {None: 0}
        self._columns: tuple[list[npt.NDArray[np.generic]], ...] = ([], [], [], [])
        """Per batch: key codes (int32), instants (int64), kinds (int8), device codes (int16)."""
        self.rows = 0
        self.tied: list[tuple[str, str, int]] = []
        """``(user, project, instant)`` of sessions whose first instant holds several events."""

    def add_columns(
        self,
        user: pa.Array,
        project: pa.Array,
        millis: npt.NDArray[np.int64],
        kind: pa.Array,
        device: pa.Array,
    ) -> None:
        """One batch: user and project ids, epoch ms, event type names and devices."""
        users = pc.dictionary_encode(user)
        projects = pc.dictionary_encode(project)
        width = max(len(projects.dictionary), 1)
        pairs = users.indices.to_numpy().astype(np.int64) * width + projects.indices.to_numpy()
        unique, inverse = np.unique(pairs, return_inverse=True)
        user_names = users.dictionary.to_pylist()
        project_names = projects.dictionary.to_pylist()
        codes = np.fromiter(
            (
                self.keys.setdefault(
                    (user_names[p // width], project_names[p % width]), len(self.keys)
                )
                for p in unique.tolist()
            ),
            dtype=np.int32,
            count=len(unique),
        )
        kinds = _codes(kind, kind_code)
        devices = _codes(device, lambda name: self.devices.setdefault(name, len(self.devices)))
        batch = (
            codes[inverse.reshape(-1)],
            millis.astype(np.int64, copy=False),
            kinds.astype(np.int8),
            devices.astype(np.int16),
        )
        for column, values in zip(self._columns, batch, strict=True):
            column.append(values)
        self.rows += len(millis)

    def add_block(self, block: Block) -> None:
        """One block parsed by the column-wise reader."""
        micros = block.column("occurred_at").cast(pa.int64()).to_numpy()
        self.add_columns(
            block.column("user_id"),
            block.column("project_id"),
            np.floor_divide(micros, 1000),
            block.column("type"),
            block.column("device"),
        )

    def add_rows(self, rows: Sequence[Sequence[object]]) -> None:
        """One batch of validated rows in the events table's column order."""
        if not rows:
            return
        user, project, occurred, kind, _action, _room, _resource, device = (
            list(c) for c in zip(*(r[1:] for r in rows), strict=True)
        )
        self.add_columns(
            pa.array(user, pa.string()),
            pa.array(project, pa.string()),
            np.fromiter(occurred, dtype=np.int64, count=len(occurred)),
            pa.array(kind, pa.string()),
            pa.array(device, pa.string()),
        )

    def _join(self, number: int) -> npt.NDArray[np.generic]:
        parts = self._columns[number]
        joined = np.concatenate(parts)
        parts.clear()
        return joined

    def write(self, conn: Connection, workspace_id: int) -> int:
        """Derive and insert every session and day count; return the sessions written.

        Needs no index on events, so it runs before they are built (the collected
        columns are freed before the index sorts need their memory); then call
        :meth:`settle_ties`. Keys are taken in parts of about :data:`PART_EVENTS`
        events, so the sort's extra memory stays bounded however large the load.
        """
        if not self.rows:
            return 0
        # One column at a time, each batch list dropped once joined.
        columns = [self._join(n) for n in range(4)]
        pa.default_memory_pool().release_unused()  # Arrow's block buffers, before the sort
        names = list(self.keys)
        parts = -(-self.rows // PART_EVENTS)
        derived = []
        for part in range(parts):
            if parts == 1:
                derived.append(self._derive(names, *columns))
            else:
                mask = columns[0] % parts == part
                derived.append(self._derive(names, *(column[mask] for column in columns)))
        del columns
        sessions = sum(len(found) for found, _devices, _days in derived)
        days = sum(len(counts) for _found, _devices, counts in derived)
        many_sessions = bulk_mode(conn, sessions, "sessions", minimum=BULK_MIN_DERIVED)
        many_days = bulk_mode(conn, days, "daily_activity", minimum=BULK_MIN_DERIVED)
        with (
            indexes_rebuilt(conn, Session.__table__, when=many_sessions),
            indexes_rebuilt(conn, DailyActivity.__table__, when=many_days),
        ):
            while derived:
                found, first_devices, counts = derived.pop(0)
                write_derived(conn, workspace_id, names, found, first_devices, counts)
        return sessions

    def _derive(
        self,
        names: list[SessionKey],
        keys: npt.NDArray[np.generic],
        times: npt.NDArray[np.generic],
        kinds: npt.NDArray[np.generic],
        devices: npt.NDArray[np.generic],
    ) -> tuple[Sessions, list[str | None], Days]:
        """Sessions (with first devices) and day counts of some keys' events, in any order."""
        order = np.lexsort((times, keys))
        keys = keys[order]
        times = times[order]
        kinds = kinds[order]
        devices = devices[order]
        del order
        found = split_sessions(keys, times, kinds)
        days = count_days(keys, times, kinds)
        device_names = np.array(list(self.devices), dtype=object)
        first_devices = device_names[devices[found.first]].tolist()
        # Several events at a session's first instant: the device stays the first one's
        # in file order until settle_ties() looks up the lowest event id's.
        after = np.minimum(found.first + 1, len(times) - 1)
        tied = np.flatnonzero(
            (found.first + 1 < len(times))
            & (keys[after] == found.key)
            & (times[after] == found.started_at)
        )
        self.tied.extend(
            (*names[k], at)
            for k, at in zip(found.key[tied].tolist(), found.started_at[tied].tolist(), strict=True)
        )
        return found, first_devices, days

    def settle_ties(self, conn: Connection, workspace_id: int) -> None:
        """Give sessions whose first instant holds several events the lowest event id's device.

        One look-up statement over the events index, then one update per such session.
        """
        if not self.tied:
            return
        devices = _first_devices(conn, workspace_id, self.tied)
        conn.execute(
            _SET_DEVICE,
            [
                {"device": device, "ws": workspace_id, "user": user, "project": project, "at": at}
                for device, (user, project, at) in zip(devices, self.tied, strict=True)
            ],
        )
        self.tied = []


def _codes(values: pa.Array, code_of: Callable[[str | None], int]) -> npt.NDArray[np.int64]:
    """Integer codes of a string array's values (null included) through ``code_of(value)``."""
    encoded = pc.dictionary_encode(values)
    names = [*encoded.dictionary.to_pylist(), None]
    table = np.array([code_of(name) for name in names], dtype=np.int64)
    return table[encoded.indices.fill_null(len(names) - 1).to_numpy()]


def _first_devices(
    conn: Connection, workspace_id: int, starts: list[tuple[str, str, int]]
) -> list[str | None]:
    """Device of the lowest event id at each ``(user, project, instant)``, in one statement."""
    suffix = " ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_TIES}"
        f" (n BIGINT, user_id TEXT, project_id TEXT, at BIGINT){suffix}"
    )
    conn.exec_driver_sql(f"DELETE FROM {_TIES}")
    rows = [(n, *start) for n, start in enumerate(starts)]
    insert_rows(conn, _TIES, ("n", "user_id", "project_id", "at"), rows)
    found = conn.execute(
        text(
            "SELECT t.n, (SELECT e.device FROM events e WHERE e.workspace_id = :ws"
            " AND e.user_id = t.user_id AND e.project_id = t.project_id AND e.occurred_at = t.at"
            f" ORDER BY e.event_id LIMIT 1) FROM {_TIES} t ORDER BY t.n"
        ),
        {"ws": workspace_id},
    )
    return [device for _n, device in found]
