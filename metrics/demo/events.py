"""Events and tickets of the demo data (:mod:`metrics.demo`), streamed to CSV.

Each :class:`~metrics.demo.world.Stream` (one invited user in one portal) gets
exactly ``stream.budget`` events, as sessions: a ``login`` then page views and
actions a few seconds to twenty minutes apart, now and then a break of more
than thirty minutes (a continuation, which SPEC §4.1 counts as a new session).
Rows are written in batches of :data:`FLUSH_EVERY`, so memory stays bounded
whatever the number of events. The hot loop draws from precomputed tables
(gaps, session lengths, content targets) to stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from random import Random
from typing import Protocol

from metrics.demo.world import DAY, Stream, World, iso_day, iso_ts

FLUSH_EVERY = 10_000
ACTION_WEIGHTS = (
    ("card_view", 20),
    ("link_click", 15),
    ("video_play", 15),
    ("pdf_open", 14),
    ("file_download", 12),
    ("search", 12),
    ("image_view", 8),
    ("goal_complete", 4),
)
# action -> (resource kinds it opens, share of such actions naming a resource)
ACTION_RESOURCES = {
    "video_play": (("video",), 0.85),
    "pdf_open": (("pdf",), 0.85),
    "file_download": (("pdf", "template", "image"), 0.8),
    "image_view": (("image",), 0.6),
    "link_click": (("link",), 0.5),
}
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 9, 6, 8, 9, 9, 7, 5, 3, 2, 2, 2, 1, 1)
OTHER_DEVICES = ("desktop",) * 7 + ("mobile",) * 3
ACTION_SHARE = 0.42  # of the events after a session's login
BREAK_SHARE = 0.012  # of in-session gaps that are a break of more than 30 minutes
TICKET_SHARE = 0.03  # of sessions followed by a support ticket
PROFILE = 0.5  # session start x**PROFILE over a stream's span: more activity lately


class RowWriter(Protocol):
    """What :func:`csv.writer` returns, as far as this module uses it."""

    def writerow(self, row: Iterable[str], /) -> object: ...

    def writerows(self, rows: Iterable[Iterable[str]], /) -> None: ...


@cache
def _clock_strings() -> tuple[str, ...]:
    """``HH:MM:SSZ`` for every second of a day."""
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
    )


def _popular(rng: Random, items: list) -> list[float]:
    """Zipf-like popularity weights in a random order."""
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(items))]
    rng.shuffle(weights)
    return weights


class Emitter:
    """Writes events.csv and tickets.csv rows for a :class:`World`."""

    def __init__(
        self,
        rng: Random,
        world: World,
        events_out: RowWriter,
        tickets_out: RowWriter,
        total: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.rng, self.world, self.now = rng, world, world.now
        self.events_out, self.tickets_out, self.progress = events_out, tickets_out, progress
        self.event_id = "evt_%0" + str(max(7, len(str(total)))) + "d"
        self.events = 0
        self.ticket_rows: list[tuple[int, str, str]] = []  # (created, user_id, resolution)
        self.buffer: list[tuple[str, ...]] = []
        self.base = (self.now - 500 * DAY) // DAY * DAY
        self.days = tuple(iso_day(self.base + i * DAY) + "T" for i in range(502))
        self.clock = _clock_strings()
        self.pages = {k: self._page_table(k) for k in ("customer", "partner")}
        self.actions = {k: self._action_table(k) for k in ("customer", "partner")}
        self.gaps = [self._gap() for _ in range(4096)]
        self.lengths = [self._length() for _ in range(1024)]
        hours = rng.choices(range(24), HOUR_WEIGHTS, k=4096)
        self.times_of_day = [h * 3600 + rng.randrange(3600) for h in hours]

    # -- precomputed tables ---------------------------------------------------

    def _page_table(self, kind: str) -> list[tuple[str, str]]:
        rng, rooms, res = self.rng, self.world.rooms[kind], self.world.resources[kind]
        room_w, res_w = _popular(rng, rooms), _popular(rng, res)
        table = []
        for _ in range(512):
            r = rng.random()
            room = rng.choices(rooms, room_w)[0]
            if r < 0.4:
                table.append((room, ""))
            elif r < 0.75:
                rid = rng.choices(res, res_w)[0][0]
                table.append((room if rng.random() < 0.5 else "", rid))
            else:
                table.append(("", ""))
        return table

    def _action_table(self, kind: str) -> list[tuple[str, str, str]]:
        rng, rooms, res = self.rng, self.world.rooms[kind], self.world.resources[kind]
        room_w = _popular(rng, rooms)
        by_kind = {
            a: [r for r in res if r[1] in kinds] for a, (kinds, _) in ACTION_RESOURCES.items()
        }
        weights = {k: _popular(rng, v) for k, v in by_kind.items()}
        names, action_w = zip(*ACTION_WEIGHTS, strict=True)
        table = []
        for action in rng.choices(names, action_w, k=1024):
            room = rng.choices(rooms, room_w)[0] if rng.random() < 0.4 else ""
            rid = ""
            share = ACTION_RESOURCES[action][1] if by_kind.get(action) else 0.0
            if rng.random() < share:
                rid = rng.choices(by_kind[action], weights[action])[0][0]
            table.append((action, room, rid))
        return table

    def _gap(self) -> int:
        r, rng = self.rng.random(), self.rng
        if r < 0.75:
            return rng.randint(5, 90)
        return rng.randint(90, 300) if r < 0.96 else rng.randint(300, 1200)

    def _length(self) -> int:
        r, rng = self.rng.random(), self.rng
        if r < 0.15:
            return 1 if r < 0.05 else 2
        if r < 0.55:
            return rng.randint(3, 6)
        return rng.randint(7, 12) if r < 0.85 else rng.randint(13, 25)

    # -- planning ----------------------------------------------------------

    def _start(self, lo: int, hi: int) -> int:
        """A session start in ``[lo, hi)``, favouring recent weekdays at office hours."""
        rnd, hi = self.rng.random, hi - 300
        span = hi - lo
        tod = self.times_of_day
        for _ in range(4):
            t = lo + int(rnd() ** PROFILE * span)
            day = t - t % DAY
            if (day // DAY + 3) % 7 >= 5 and rnd() < 0.75:
                continue  # fewer sessions on weekends
            t = day + tod[int(rnd() * 4096)]
            if lo <= t <= hi:
                return t
        return lo + int(rnd() * max(1, span))

    def _first_starts(self, st: Stream) -> list[int]:
        """Where the first sessions go: soon after the invite; recently for active users."""
        rnd, now = self.rng.random, self.now
        starts = []
        if st.kind in ("regular", "engaged") and st.hi > now - DAY:
            starts.append(self._start(max(st.lo, now - 10 * DAY), st.hi))
        if rnd() < 0.75 and st.hi - st.lo > 3 * DAY + 600:
            starts.append(st.lo + 300 + int(rnd() * 3 * DAY))
        return starts

    def _plan(self, st: Stream) -> list[tuple[int, int, bool]]:
        """(start, events, short) per session, sorted; exactly ``st.budget`` events.

        In a declining portal, sessions of the last 14 days are short (one or
        two events, seconds apart) and as few as the user's usual pace gives.
        """
        rnd, now, remaining = self.rng.random, self.now, st.budget
        plans: list[tuple[int, int, bool]] = []
        if st.anchored:  # long sessions 16-25 days ago, short ones in the last 14 days
            plans += [(now - int((16 + 9 * rnd()) * DAY), 10, False) for _ in range(2)]
            plans += [(now - int((2 + 10 * rnd()) * DAY), 2, True) for _ in range(2)]
            remaining -= 2 * 10 + 2 * 2
        cut, hi = now - 14 * DAY, st.hi
        if "declining" in st.portal.traits and st.lo < cut < hi:
            count = min(remaining, max(1, round(remaining / 8 * (hi - cut) / (hi - st.lo))))
            plans += [(self._start(cut, hi), 1, True) for _ in range(count)]
            remaining -= count
            hi = cut
        bonus = 4 if st.kind == "engaged" else 0
        lengths, first = self.lengths, [t for t in self._first_starts(st) if t < hi]
        while remaining > 0:
            start = first.pop(0) if first else self._start(st.lo, hi)
            short = start >= cut and "declining" in st.portal.traits
            n = 1 + int(rnd() * 2) if short else lengths[int(rnd() * 1024)] + bonus
            n = min(n, remaining)
            plans.append((start, n, short))
            remaining -= n
        plans.sort()
        return plans

    # -- emitting ----------------------------------------------------------

    def _flush(self) -> None:
        if self.buffer:
            self.events_out.writerows(self.buffer)
            if self.progress is not None:
                self.progress(len(self.buffer))
            self.buffer = []

    def _ticket(self, uid: str, created: int) -> None:
        if created < self.now:
            open_share = 0.4 if created > self.now - 7 * DAY else 0.06
            r = self.rng.random()
            resolution = "" if r < open_share else "self_service" if r < 0.55 else "agent"
            self.ticket_rows.append((created, uid, resolution))

    def _write_tickets(self) -> int:
        """tickets.csv in time order; each resolution (open too) present from 3 tickets on."""
        rows = sorted(self.ticket_rows)
        if len(rows) >= 3:
            for index, resolution in ((-1, ""), (0, "self_service"), (1, "agent")):
                if all(r[2] != resolution for r in rows):
                    rows[index] = (*rows[index][:2], resolution)
        for i, (created, uid, resolution) in enumerate(rows, start=1):
            self.tickets_out.writerow((f"tkt_{i:06d}", uid, iso_ts(created), resolution))
        return len(rows)

    def _emit(self, st: Stream) -> None:
        rnd = self.rng.random
        uid, pid, hi, pref = st.user_id, st.portal.project_id, st.hi, st.device
        kind = "partner" if pid == "" else "customer"
        pages, actions = self.pages[kind], self.actions[kind]
        n_pages, n_actions = len(pages), len(actions)
        p_action = 0.0 if "no_actions" in st.portal.traits else ACTION_SHARE
        p_break = 0.0 if "declining" in st.portal.traits else BREAK_SHARE
        gaps, days, clock, base = self.gaps, self.days, self.clock, self.base
        buf, fmt, n = self.buffer, self.event_id, self.events
        prev_end = 0
        for start, length, short in self._plan(st):
            if start < prev_end + 1860 and prev_end + 1860 < hi - 600:
                start = min(prev_end + 1860 + int(rnd() * 3600), hi - 600)  # keep them apart
            dev = pref if rnd() < 0.85 else OTHER_DEVICES[int(rnd() * 10)]
            t = min(start, hi)
            d, s = divmod(t - base, DAY)
            n += 1
            buf.append((fmt % n, uid, pid, days[d] + clock[s], "login", "", "", "", dev))
            for _ in range(length - 1):
                if short:
                    t += 5 + int(rnd() * 40)
                elif rnd() < p_break and t - start < 7200:
                    t += 1860 + int(rnd() * 2700)
                else:
                    t += gaps[int(rnd() * 4096)]
                if t > hi:
                    t = hi
                d, s = divmod(t - base, DAY)
                stamp = days[d] + clock[s]
                n += 1
                if rnd() < p_action:
                    action, room, res = actions[int(rnd() * n_actions)]
                    buf.append((fmt % n, uid, pid, stamp, "action", action, room, res, dev))
                else:
                    room, res = pages[int(rnd() * n_pages)]
                    buf.append((fmt % n, uid, pid, stamp, "page_view", "", room, res, dev))
            prev_end = t
            if rnd() < TICKET_SHARE:
                later = 120 + rnd() * DAY if rnd() < 0.65 else (1.5 + 10 * rnd()) * DAY
                self._ticket(uid, t + int(later))
            if len(buf) >= FLUSH_EVERY:
                self.events = n
                self._flush()
                buf = self.buffer
        self.events = n

    def run(self) -> tuple[int, int]:
        """Write all events, then tickets of users who never got in; (events, tickets)."""
        for stream in self.world.streams:
            self._emit(stream)
        self._flush()
        rnd = self.rng.random
        for uid, sent in self.world.never_invited:
            if rnd() < 0.05:
                self._ticket(uid, sent + int((1 + 5 * rnd()) * DAY))
        return self.events, self._write_tickets()
