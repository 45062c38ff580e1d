"""Hypothesis strategies: small random workspaces and scopes over them.

A dataset is a dict of contract file name → list of records (strings, as an
import would see them). :func:`load_dataset` imports one into a fresh
workspace through the real importer, so derived tables are built exactly as
in production.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st
from sqlalchemy import Connection, Engine

from metrics.db import workspace_id
from metrics.ingest.contract import (
    ACTIONS,
    DEVICES,
    FILES,
    FILES_BY_NAME,
    PROJECT_STATUSES,
)
from metrics.ingest.importer import Importer
from metrics.scope import RANGES, Scope, resolve_scope

AS_OF = date(2026, 3, 31)
"""Month, quarter and (almost) year ends are all near: named ranges cross them."""
ORIGIN = datetime(2025, 12, 20, tzinfo=UTC)
SPAN_S = 110 * 86400
"""Instants fall between ORIGIN and about 10 days after AS_OF."""
_counter = itertools.count()


def _instant(offset_s: int) -> str:
    return (ORIGIN + timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z")


@st.composite
def datasets(draw: st.DrawFn, max_events: int = 60) -> dict[str, list[dict[str, str]]]:
    members = [f"tm{i}" for i in range(draw(st.integers(1, 3)))]
    owner = st.sampled_from([*members, ""])
    accounts = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["customer", "partner"]))
        accounts.append(
            {
                "account_id": f"a{i}",
                "name": f"Account {i}",
                "kind": kind,
                "partner_type": draw(st.sampled_from(["referral", "reseller"]))
                if kind == "partner"
                else "",
                "owner_id": draw(owner),
            }
        )
    customer_ids = [a["account_id"] for a in accounts if a["kind"] == "customer"]
    projects = []
    for i in range(draw(st.integers(0, 4)) if customer_ids else 0):
        projects.append(
            {
                "project_id": f"p{i}",
                "account_id": draw(st.sampled_from(customer_ids)),
                "name": f"Project {i}",
                "owner_id": draw(owner),
                "status": draw(st.sampled_from(PROJECT_STATUSES)),
                "playbook": draw(st.sampled_from(["Enterprise", "SMB", ""])),
            }
        )
    users = [
        {
            "user_id": f"u{i}",
            "account_id": draw(st.sampled_from([a["account_id"] for a in accounts])),
            "name": f"User {i}",
            "role": draw(st.sampled_from(["admin", "member", ""])),
        }
        for i in range(draw(st.integers(1, 6)))
    ]
    portals = [p["project_id"] for p in projects] + [""]
    user_ids = [u["user_id"] for u in users]
    offset = st.integers(0, SPAN_S)
    invites = [
        {
            "invite_id": f"i{i}",
            "user_id": draw(st.sampled_from(user_ids)),
            "project_id": draw(st.sampled_from(portals)),
            "sent_at": _instant(draw(offset)),
        }
        for i in range(draw(st.integers(0, 8)))
    ]
    events = []
    clock = {}
    for i in range(draw(st.integers(0, max_events))):
        user = draw(st.sampled_from(user_ids))
        portal = draw(st.sampled_from(portals))
        # Mostly short gaps after the previous event of the key, so sessions form.
        last = clock.get((user, portal))
        if last is None or draw(st.booleans()):
            at = draw(offset)
        else:
            at = last + draw(st.sampled_from([0, 60, 900, 1800, 1801, 7200, 14400]))
        clock[(user, portal)] = at
        kind = draw(st.sampled_from(["login", "page_view", "action"]))
        events.append(
            {
                "event_id": f"e{i}",
                "user_id": user,
                "project_id": portal,
                "occurred_at": _instant(at),
                "type": kind,
                "action": draw(st.sampled_from(ACTIONS)) if kind == "action" else "",
                "room_id": draw(st.sampled_from(["", "r0", "r1"])),
                "resource_id": draw(st.sampled_from(["", "res0", "res1"])),
                "device": draw(st.sampled_from([*DEVICES, ""])),
            }
        )
    tasks = []
    for i in range(draw(st.integers(0, 8)) if projects else 0):
        created = draw(offset)
        tasks.append(
            {
                "task_id": f"t{i}",
                "project_id": draw(st.sampled_from([p["project_id"] for p in projects])),
                "title": f"Task {i}",
                "assignee_user_id": draw(st.sampled_from([*user_ids, ""])),
                "due_on": draw(
                    st.sampled_from(
                        ["", "2026-03-30", "2026-03-31", "2026-04-01", "2026-02-28", "2026-01-15"]
                    )
                ),
                "completed_at": draw(st.sampled_from(["", _instant(created + 86400)])),
                "created_at": _instant(created),
            }
        )
    tickets = [
        {
            "ticket_id": f"k{i}",
            "user_id": draw(st.sampled_from(user_ids)),
            "created_at": _instant(draw(offset)),
            "resolution": draw(st.sampled_from(["self_service", "agent", ""])),
        }
        for i in range(draw(st.integers(0, 5)))
    ]
    return {
        "team_members.csv": [{"member_id": m, "name": f"Member {m}"} for m in members],
        "accounts.csv": accounts,
        "projects.csv": projects,
        "users.csv": users,
        "rooms.csv": [{"room_id": "r0", "name": "Lobby"}, {"room_id": "r1", "name": "Docs"}],
        "resources.csv": [
            {"resource_id": "res0", "title": "Guide", "kind": "pdf"},
            {"resource_id": "res1", "title": "Video", "kind": "video"},
        ],
        "invites.csv": invites,
        "events.csv": events,
        "tasks.csv": tasks,
        "tickets.csv": tickets,
    }


def load_dataset(engine: Engine, data: dict[str, list[dict[str, str]]]) -> int:
    """Import ``data`` into a new workspace with the real importer; return its id."""
    with engine.begin() as conn:
        ws = workspace_id(conn, f"prop{next(_counter)}_{id(data)}")
        importer = Importer(conn, ws)
        for spec in FILES:
            importer.add_records(FILES_BY_NAME[spec.name], data.get(spec.name, []))
        importer.finish()
    return ws


@st.composite
def scopes(draw: st.DrawFn, data: dict[str, list[dict[str, str]]]) -> dict[str, object]:
    """Keyword arguments for :func:`resolve_scope` that fit ``data``."""
    as_of = draw(st.sampled_from([AS_OF.isoformat(), "2026-03-31T12:30:00Z", "2026-04-01"]))
    kwargs: dict[str, object] = {"as_of": as_of}
    if draw(st.booleans()):
        kwargs["range"] = draw(st.sampled_from(RANGES))
    else:
        first = draw(st.dates(date(2026, 1, 1), date(2026, 4, 5)))
        kwargs["start"] = first
        kwargs["end"] = first + timedelta(days=draw(st.integers(0, 45)))
    pick = st.booleans()
    if draw(pick) and data["team_members.csv"]:
        kwargs["owner"] = draw(st.sampled_from([m["member_id"] for m in data["team_members.csv"]]))
    if draw(pick):
        kwargs["accounts"] = [
            draw(st.sampled_from([a["account_id"] for a in data["accounts.csv"]]))
        ]
    if draw(pick) and draw(pick):
        kwargs["partner_type"] = draw(st.sampled_from(["referral", "reseller"]))
    playbooks = sorted({p["playbook"] for p in data["projects.csv"] if p["playbook"]})
    if playbooks and draw(pick) and draw(pick):
        kwargs["playbook"] = draw(st.sampled_from(playbooks))
    if draw(pick) and draw(pick):
        kwargs["status"] = [draw(st.sampled_from(PROJECT_STATUSES))]
    if draw(pick) and data["projects.csv"] and draw(pick):
        kwargs["projects"] = [
            draw(st.sampled_from([p["project_id"] for p in data["projects.csv"]]))
        ]
    return kwargs


def scope_for(conn: Connection, ws: int, kwargs: dict[str, object]) -> Scope:
    return resolve_scope(conn, ws, **kwargs)  # type: ignore[arg-type]
