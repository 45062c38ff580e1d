"""A plain-Python reference implementation of SPEC §3–4, for property tests.

It reads the raw contract tables of a workspace (never ``sessions`` or
``daily_activity``), sessionizes them itself and computes each metric the
obvious way, so that the SQL sections can be compared against it on random
small datasets. It favours clarity over speed: no shortcut here is shared
with ``metrics/``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from metrics import models
from metrics.scope import Scope

IDLE_S = 1800
CAP_S = 14400


def ts(value: datetime | None) -> float | None:
    """Seconds since the epoch (float, ms precision) of a stored instant."""
    return None if value is None else value.timestamp()


@dataclass
class RefSession:
    user_id: str
    project_id: str
    start: float
    end: float
    events: list[dict] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def device(self) -> str | None:
        return self.events[0]["device"]


@dataclass
class Ref:
    team_members: dict[str, dict]
    accounts: dict[str, dict]
    projects: dict[str, dict]
    users: dict[str, dict]
    invites: list[dict]
    events: list[dict]
    tasks: list[dict]
    tickets: list[dict]
    rooms: dict[str, dict]
    resources: dict[str, dict]
    sessions: list[RefSession] = field(default_factory=list)

    # -- scope -------------------------------------------------------------------------

    def project_owner(self, project_id: str) -> str | None:
        project = self.projects[project_id]
        return project["owner_id"] or self.accounts[project["account_id"]]["owner_id"]

    def project_in_scope(self, scope: Scope, project_id: str) -> bool:
        f = scope.filters
        project = self.projects[project_id]
        if f.partner_type:
            return False
        if f.owner and self.project_owner(project_id) != f.owner:
            return False
        if f.accounts and project["account_id"] not in f.accounts:
            return False
        if f.playbook and project["playbook"] != f.playbook:
            return False
        if f.status and project["status"] not in f.status:
            return False
        return not (f.projects and project_id not in f.projects)

    def partner_in_scope(self, scope: Scope, account_id: str) -> bool:
        f = scope.filters
        account = self.accounts[account_id]
        if account["kind"] != "partner":
            return False
        if f.playbook or f.status or f.projects:
            return False
        if f.partner_type and account["partner_type"] != f.partner_type:
            return False
        if f.owner and account["owner_id"] != f.owner:
            return False
        return not (f.accounts and account_id not in f.accounts)

    def portal_in_scope(self, scope: Scope, project_id: str, user_id: str) -> bool:
        if project_id:
            return self.project_in_scope(scope, project_id)
        if scope.filters.empty:
            return True
        return self.partner_in_scope(scope, self.users[user_id]["account_id"])

    def in_window(self, scope: Scope, instant: float | None) -> bool:
        return instant is not None and ts(scope.start) <= instant < ts(scope.until)


def load(conn: Connection, workspace_id: int) -> Ref:
    """Every contract table of the workspace as dicts, plus reference sessions."""

    def rows(model: type) -> list[dict]:
        table = model.__table__
        result = conn.execute(select(table).where(table.c.workspace_id == workspace_id))
        return [dict(r._mapping) for r in result]

    def by(model: type, key: str) -> dict[str, dict]:
        return {r[key]: r for r in rows(model)}

    ref = Ref(
        team_members=by(models.TeamMember, "member_id"),
        accounts=by(models.Account, "account_id"),
        projects=by(models.Project, "project_id"),
        users=by(models.User, "user_id"),
        invites=rows(models.Invite),
        events=rows(models.Event),
        tasks=rows(models.Task),
        tickets=rows(models.Ticket),
        rooms=by(models.Room, "room_id"),
        resources=by(models.Resource, "resource_id"),
    )
    for event in ref.events:
        event["t"] = ts(event["occurred_at"])
    ref.sessions = sessionize(ref.events)
    return ref


def sessionize(events: list[dict]) -> list[RefSession]:
    """SPEC §4.1 written out directly: group by key, sort, split on idle and cap."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for event in events:
        groups[(event["user_id"], event["project_id"])].append(event)
    out: list[RefSession] = []
    for (user, project), group in groups.items():
        group.sort(key=lambda e: (e["t"], e["event_id"]))
        current: RefSession | None = None
        for event in group:
            t = event["t"]
            if current and t - current.end <= IDLE_S and t - current.start < CAP_S:
                current.end = t
                current.events.append(event)
            else:
                current = RefSession(user, project, t, t, [event])
                out.append(current)
    return out


def at(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def ref_kpis(ref: Ref, scope: Scope) -> dict[str, object]:
    """SPEC §4.2 over the scope's window."""
    sessions = [
        s
        for s in ref.sessions
        if ref.in_window(scope, s.start) and ref.portal_in_scope(scope, s.project_id, s.user_id)
    ]
    events = [
        e
        for e in ref.events
        if ref.in_window(scope, e["t"])
        and ref.portal_in_scope(scope, e["project_id"], e["user_id"])
    ]
    durations_ms = [round(s.duration * 1000) for s in sessions]
    return {
        "invites_sent": sum(
            1
            for i in ref.invites
            if ref.in_window(scope, ts(i["sent_at"]))
            and ref.portal_in_scope(scope, i["project_id"], i["user_id"])
        ),
        "logins": sum(1 for e in events if e["type"] == "login"),
        "sessions": len(sessions),
        "tasks_completed": sum(
            1
            for t in ref.tasks
            if ref.in_window(scope, ts(t["completed_at"]))
            and ref.project_in_scope(scope, t["project_id"])
        ),
        "avg_session_seconds": round(sum(durations_ms) / len(sessions) / 1000, 1)
        if sessions
        else None,
        "unique_users": len({s.user_id for s in sessions}),
        "page_views": sum(1 for e in events if e["type"] == "page_view"),
        "actions": sum(1 for e in events if e["type"] == "action"),
    }
