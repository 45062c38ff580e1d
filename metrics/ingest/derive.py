"""The session rule of SPEC §4.1 and daily counts, computed for many keys at once.

Input is columns of events sorted by key, then time (then event id, so equal
timestamps have one order): an integer code per ``(user_id, project_id)`` key,
the instant in epoch milliseconds, the kind code (:data:`KINDS`) and a device
code. An event continues the current session when it is at most 30 minutes
after the previous event *and* less than 4 hours after the session's first
event. Gaps are found for all events at once; only the rare run of events with
no 30-minute gap that spans 4 hours or more is walked event by event to place
the 4-hour cuts. This is the one implementation of the rule: the import, the
API's ingestion and the incremental re-sessionizing all call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metrics.models import MS_PER_DAY

IDLE_MS = 30 * 60 * 1000
"""An event at most this long after the previous one continues the session."""
CAP_MS = 4 * 60 * 60 * 1000
"""An event this long or longer after the session's first event starts a new one."""

KINDS = ("login", "page_view", "action")
"""Kind codes: 0 login, 1 page view, 2 action (any other type counts as an action)."""
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Sessions:
    """One entry per session, in input order (so grouped by key)."""

    key: Ints
    started_at: Ints
    ended_at: Ints
    events: Ints
    logins: Ints
    page_views: Ints
    actions: Ints
    first: Ints
    """Index (into the input) of each session's first event, e.g. to read its device."""

    def __len__(self) -> int:
        return len(self.key)


@dataclass(frozen=True)
class Days:
    """Events per key and UTC day (days since 1970-01-01), by kind."""

    key: Ints
    day: Ints
    logins: Ints
    page_views: Ints
    actions: Ints

    def __len__(self) -> int:
        return len(self.key)


def _starts_of_keys(keys: Ints) -> npt.NDArray[np.bool_]:
    change = np.empty(len(keys), dtype=bool)
    if len(keys):
        change[0] = True
        np.not_equal(keys[1:], keys[:-1], out=change[1:])
    return change


def _cap_cuts(times: Ints, starts: Ints, ends: Ints) -> list[int]:
    """Where the 4-hour cap starts a session inside runs that have no 30-minute gap."""
    cuts: list[int] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        first = int(times[start])
        for i, at in enumerate(times[start + 1 : end].tolist(), start=start + 1):
            if at - first >= CAP_MS:
                cuts.append(i)
                first = at
    return cuts


def _ends(starts: Ints, n: int) -> Ints:
    """Where each group that begins at ``starts`` ends (exclusive)."""
    return np.append(starts[1:], n).astype(np.int64) if len(starts) else starts


def _sums(values: npt.NDArray[np.bool_], starts: Ints) -> Ints:
    """How many of ``values`` hold in each group (no widened copy of ``values``)."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    return np.add.reduceat(values, starts, dtype=np.int64)


def split_sessions(keys: Ints, times: Ints, kinds: npt.NDArray[np.int8]) -> Sessions:
    """Sessions of events sorted by ``(key, time)``."""
    n = len(times)
    cut = _starts_of_keys(keys)
    if n > 1:
        cut[1:] |= (times[1:] - times[:-1]) > IDLE_MS
    runs = np.flatnonzero(cut).astype(np.int64)
    run_ends = _ends(runs, n)
    long = (times[run_ends - 1] - times[runs]) >= CAP_MS
    starts = runs
    if long.any():
        cuts = _cap_cuts(times, runs[long], run_ends[long])
        starts = np.union1d(runs, np.asarray(cuts, dtype=np.int64))
    ends = _ends(starts, n)
    return Sessions(
        key=keys[starts],
        started_at=times[starts],
        ended_at=times[ends - 1],
        events=ends - starts,
        logins=_sums(kinds == 0, starts),
        page_views=_sums(kinds == 1, starts),
        actions=_sums(kinds >= 2, starts),
        first=starts,
    )


def count_days(keys: Ints, times: Ints, kinds: npt.NDArray[np.int8]) -> Days:
    """Events per key and UTC day, for events sorted by ``(key, time)``."""
    days = times // MS_PER_DAY
    cut = _starts_of_keys(keys)
    if len(days) > 1:
        cut[1:] |= days[1:] != days[:-1]
    starts = np.flatnonzero(cut).astype(np.int64)
    return Days(
        key=keys[starts],
        day=days[starts],
        logins=_sums(kinds == 0, starts),
        page_views=_sums(kinds == 1, starts),
        actions=_sums(kinds >= 2, starts),
    )


def kind_code(event_type: str | None) -> int:
    """The kind code of an event type name (an unknown type counts as an action)."""
    return KIND_CODE.get(event_type, 2)  # type: ignore[arg-type]


def kind_codes(types: Iterable[str]) -> npt.NDArray[np.int8]:
    """Kind codes of event type names."""
    return np.fromiter(map(kind_code, types), dtype=np.int8)
