"""Seeded demo data: a SPEC §2 CSV folder that looks like a real book of business.

:func:`generate_demo` writes all ten files of the import contract. The data is
a pure function of ``(seed, as_of, events)``: the same arguments give
byte-identical files, and no wall clock or global random state is used.

Everything is relative to *now*, the end of ``as_of`` (``as_of + 1 day`` at
00:00 UTC): about twelve months of history, most of it in the last four
months, and nothing (event, invite, ticket, task completion) after now.

The data deliberately contains every pattern the metrics and risk signals of
SPEC §4 look for: engaged and drifting users, invited users who never log in
(and projects where fewer than half of the invited did), ``in_progress``
projects without a session in the last 14 days, dormant partners, declining
session durations, visits without actions, overdue tasks, a project with a
backlog of more than ten unassigned tasks, mobile/desktop/tablet sessions and
support tickets resolved by self-service, by an agent, or still open.

Events are streamed to disk in batches, so memory stays bounded (about 60 MB
for ten million events, written in about 30 s at some 340k events/s). The
number of accounts and users grows with ``events`` (see
:func:`metrics.demo.world.sizes`): about 20,000 users for ten million events.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import TextIO

from metrics.demo.budget import assign_budgets
from metrics.demo.events import Emitter, RowWriter
from metrics.demo.tasks import build_tasks
from metrics.demo.world import build_world

FILES: dict[str, tuple[str, ...]] = {
    "team_members.csv": ("member_id", "name", "email"),
    "accounts.csv": ("account_id", "name", "kind", "partner_type", "owner_id"),
    "projects.csv": (
        "project_id",
        "account_id",
        "name",
        "owner_id",
        "status",
        "playbook",
        "started_on",
        "target_live_on",
    ),
    "users.csv": ("user_id", "account_id", "name", "email", "role"),
    "invites.csv": ("invite_id", "user_id", "project_id", "sent_at"),
    "events.csv": (
        "event_id",
        "user_id",
        "project_id",
        "occurred_at",
        "type",
        "action",
        "room_id",
        "resource_id",
        "device",
    ),
    "tasks.csv": (
        "task_id",
        "project_id",
        "title",
        "assignee_user_id",
        "due_on",
        "completed_at",
        "created_at",
    ),
    "rooms.csv": ("room_id", "name"),
    "resources.csv": ("resource_id", "title", "kind"),
    "tickets.csv": ("ticket_id", "user_id", "created_at", "resolution"),
}
"""Every file of the import contract (SPEC §2) with its columns, in the order written."""


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    folder: Path
    as_of: date
    counts: dict[str, int]
    """Data rows (header excluded) written per file name, e.g. ``{"events.csv": 50000}``."""


def now_of(as_of: date) -> datetime:
    """The instant that plays "now" for a demo as of ``as_of``: the end of that day, UTC."""
    return datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)


TIMESTAMP_COLUMNS = {
    "invites.csv": ("sent_at",),
    "events.csv": ("occurred_at",),
    "tasks.csv": ("completed_at", "created_at"),
    "tickets.csv": ("created_at",),
}
"""The instant columns of the files the demo writes (dates such as ``due_on`` stay)."""


def shift_timestamps(folder: Path, delta: timedelta) -> None:
    """Move every instant in the demo's CSV files by ``delta`` (whole seconds)."""
    seconds = int(delta.total_seconds())
    if not seconds:
        return
    for name, columns in TIMESTAMP_COLUMNS.items():
        path = Path(folder) / name
        shifted = path.with_suffix(".shifting")
        with (
            path.open(encoding="utf-8", newline="") as src,
            shifted.open("w", encoding="utf-8", newline="") as dst,
        ):
            rows = csv.reader(src)
            header = next(rows)
            at = [header.index(c) for c in columns]
            out = _writer(dst)
            out.writerow(header)
            for row in rows:
                for i in at:
                    if row[i]:
                        moved = datetime.fromisoformat(row[i].replace("Z", "+00:00"))
                        row[i] = f"{moved + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%SZ}"
                out.writerow(row)
        shifted.replace(path)


def _writer(handle: TextIO) -> RowWriter:
    return csv.writer(handle, lineterminator="\n")


def generate_demo(
    folder: Path,
    *,
    seed: int = 7,
    as_of: date | datetime,
    events: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Write a SPEC §2 CSV folder (all ten files, header rows) into ``folder``.

    ``folder`` is created if needed; existing files of the same names are
    replaced. ``events`` is the exact number of event rows written (the
    world around them scales with it: about 40 customer and 12 partner
    accounts up to about 220k events, proportionally more above). ``progress``, if given, is
    called with the number of events written since its previous call,
    about every 10,000 events, so a caller can drive a progress bar.

    ``as_of`` a date: the data ends at the end of that day. An instant (an aware
    datetime; ``portalpulse demo`` passes the current time): the data of its date
    is made, then every timestamp is moved back by the rest of that day, so the
    data ends at that instant — nothing happens after the demo's "now", and a
    dashboard open on it does not creep up as the day goes on.
    """
    if isinstance(as_of, datetime):
        instant = as_of.astimezone(UTC)
        summary = generate_demo(
            folder, seed=seed, as_of=instant.date(), events=events, progress=progress
        )
        shift_timestamps(summary.folder, instant - now_of(instant.date()))
        return summary
    if events < 0:
        raise ValueError("events must be >= 0")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = Random(seed)
    now = int(now_of(as_of).timestamp())
    world = build_world(rng, now, events)
    world.tables["tasks.csv"] = build_tasks(rng, now, world.projects)
    assign_budgets(world.streams, events, now)
    counts: dict[str, int] = {}
    for name, header in FILES.items():
        if name in ("events.csv", "tickets.csv"):
            continue
        rows = world.tables[name]
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            out = _writer(handle)
            out.writerow(header)
            out.writerows(rows)
        counts[name] = len(rows)
    with (
        (folder / "events.csv").open("w", encoding="utf-8", newline="") as ev_handle,
        (folder / "tickets.csv").open("w", encoding="utf-8", newline="") as tk_handle,
    ):
        ev_out, tk_out = _writer(ev_handle), _writer(tk_handle)
        ev_out.writerow(FILES["events.csv"])
        tk_out.writerow(FILES["tickets.csv"])
        emitter = Emitter(rng, world, ev_out, tk_out, events, progress)
        counts["events.csv"], counts["tickets.csv"] = emitter.run()
    return DemoSummary(folder=folder, as_of=as_of, counts={name: counts[name] for name in FILES})
