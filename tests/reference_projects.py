"""Plain-Python reference for trends, projects, users and summary (SPEC §4.3–4.5).

Built on :class:`tests.reference.Ref` (raw rows and reference sessions); every
metric is computed the obvious way, by looping over raw rows, so the SQL
sections can be compared against it on random small datasets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from metrics.scope import Scope
from tests.reference import Ref, ref_kpis, ts

TREND_KEYS = (
    "invites_sent",
    "logins",
    "sessions",
    "tasks_completed",
    "page_views",
    "actions",
    "unique_users",
)


def utc_date(instant: float) -> date:
    return datetime.fromtimestamp(instant, tz=UTC).date()


def ref_bucket(scope: Scope, bucket: str | None) -> str:
    if bucket:
        return bucket
    days = (scope.window.end - scope.window.start).total_seconds() / 86400
    return "day" if days < 14 else "week" if days <= 60 else "month"


def bucket_label(day: date, bucket: str) -> date:
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.isoweekday() - 1)
    return date(day.year, day.month, 1)


def ref_trends(ref: Ref, scope: Scope, bucket: str | None = None) -> dict[str, object]:
    """Buckets from every day in [start, until), each counting the in-window instants it holds."""
    size = ref_bucket(scope, bucket)
    start, until = ts(scope.start), ts(scope.until)
    labels: list[date] = []
    t = start
    while t < until:
        period = bucket_label(utc_date(t), size)
        if period not in labels:
            labels.append(period)
        t += 86400
    rows = {p: dict.fromkeys(TREND_KEYS, 0) for p in labels}
    users: dict[date, set[str]] = {p: set() for p in labels}

    def add(key: str, instant: float | None) -> None:
        if ref.in_window(scope, instant):
            rows[bucket_label(utc_date(instant), size)][key] += 1  # type: ignore[arg-type]

    for invite in ref.invites:
        if ref.portal_in_scope(scope, invite["project_id"], invite["user_id"]):
            add("invites_sent", ts(invite["sent_at"]))
    for event in ref.events:
        if ref.portal_in_scope(scope, event["project_id"], event["user_id"]):
            add(
                {"login": "logins", "page_view": "page_views"}.get(event["type"], "actions"),
                event["t"],
            )
    for session in ref.sessions:
        if ref.portal_in_scope(scope, session.project_id, session.user_id):
            add("sessions", session.start)
            if ref.in_window(scope, session.start):
                users[bucket_label(utc_date(session.start), size)].add(session.user_id)
    for task in ref.tasks:
        if ref.project_in_scope(scope, task["project_id"]):
            add("tasks_completed", ts(task["completed_at"]))
    for period, who in users.items():
        rows[period]["unique_users"] = len(who)
    return {"bucket": size, "series": [{"period": p, **rows[p]} for p in labels]}


# -- projects ---------------------------------------------------------------------------


def _before_until(scope: Scope, instant: float | None) -> bool:
    return instant is not None and instant < ts(scope.until)


def task_exists(scope: Scope, task: dict) -> bool:
    return task["created_at"] is None or _before_until(scope, ts(task["created_at"]))


def task_is_open(scope: Scope, task: dict) -> bool:
    return task_exists(scope, task) and not _before_until(scope, ts(task["completed_at"]))


def task_is_overdue(scope: Scope, task: dict) -> bool:
    state_day = scope.until.astimezone(UTC).date()
    return (
        task_is_open(scope, task)
        and task["assignee_user_id"] is not None
        and task["due_on"] is not None
        and task["due_on"] < state_day
    )


def _rounded_mean_s(durations: list[float]) -> float | None:
    if not durations:
        return None
    return round(sum(round(d * 1000) for d in durations) / len(durations) / 1000, 1)


def _first_invites(ref: Ref, scope: Scope, project_id: str) -> dict[str, float]:
    first: dict[str, float] = {}
    for invite in ref.invites:
        sent = ts(invite["sent_at"])
        if invite["project_id"] == project_id and _before_until(scope, sent):
            first[invite["user_id"]] = min(sent, first.get(invite["user_id"], sent))
    return first


def _first_login(ref: Ref, scope: Scope, project_id: str, user_id: str) -> float | None:
    times = [
        e["t"]
        for e in ref.events
        if e["project_id"] == project_id
        and e["user_id"] == user_id
        and e["type"] == "login"
        and _before_until(scope, e["t"])
    ]
    return min(times, default=None)


def ref_projects(ref: Ref, scope: Scope) -> list[dict[str, object]]:
    """One row per project in scope, ordered by project id."""
    out = []
    for project_id in sorted(ref.projects):
        if not ref.project_in_scope(scope, project_id):
            continue
        project = ref.projects[project_id]
        owner_id = ref.project_owner(project_id)
        invited = _first_invites(ref, scope, project_id)
        sessions = [
            s for s in ref.sessions if s.project_id == project_id and ref.in_window(scope, s.start)
        ]
        visits = [
            s.start
            for s in ref.sessions
            if s.project_id == project_id and _before_until(scope, s.start)
        ]
        actions = [
            e
            for e in ref.events
            if e["project_id"] == project_id
            and e["type"] == "action"
            and _before_until(scope, e["t"])
        ]
        last = max(actions, key=lambda e: (e["t"], e["event_id"]), default=None)
        tasks = [t for t in ref.tasks if t["project_id"] == project_id]
        out.append(
            {
                "project_id": project_id,
                "project": project["name"],
                "account_id": project["account_id"],
                "account": ref.accounts[project["account_id"]]["name"],
                "owner_id": owner_id,
                "owner": ref.team_members[owner_id]["name"] if owner_id else None,
                "status": project["status"],
                "playbook": project["playbook"],
                "invited": len(invited),
                "logged_in": (
                    logged := sum(
                        1 for u in invited if _first_login(ref, scope, project_id, u) is not None
                    )
                ),
                "conversion": round(logged / len(invited), 4) if invited else None,
                "sessions": len(sessions),
                "avg_session_seconds": _rounded_mean_s([s.duration for s in sessions]),
                "last_visit": max(visits, default=None),
                "last_action": None
                if last is None
                else {"action": last["action"], "at": last["t"]},
                "tasks_completed": sum(
                    1 for t in tasks if ref.in_window(scope, ts(t["completed_at"]))
                ),
                "tasks_assigned": sum(
                    1 for t in tasks if t["assignee_user_id"] and task_exists(scope, t)
                ),
                "tasks_unassigned": sum(
                    1 for t in tasks if not t["assignee_user_id"] and task_is_open(scope, t)
                ),
                "tasks_overdue": sum(1 for t in tasks if task_is_overdue(scope, t)),
            }
        )
    return out


def ref_project_users(ref: Ref, scope: Scope) -> list[dict[str, object]]:
    """One row per (project in scope, invited user), ordered by (project id, user id)."""
    out = []
    for project_id in sorted(ref.projects):
        if not ref.project_in_scope(scope, project_id):
            continue
        for user_id, invited_at in sorted(_first_invites(ref, scope, project_id).items()):
            user = ref.users[user_id]
            mine = [s for s in ref.sessions if (s.project_id, s.user_id) == (project_id, user_id)]
            tasks = [
                t
                for t in ref.tasks
                if t["project_id"] == project_id and t["assignee_user_id"] == user_id
            ]
            out.append(
                {
                    "project_id": project_id,
                    "project": ref.projects[project_id]["name"],
                    "user_id": user_id,
                    "user": user["name"],
                    "account_id": user["account_id"],
                    "account": ref.accounts[user["account_id"]]["name"],
                    "invited_at": invited_at,
                    "first_login": _first_login(ref, scope, project_id, user_id),
                    "last_visit": max(
                        (s.start for s in mine if _before_until(scope, s.start)), default=None
                    ),
                    "logins": sum(
                        1
                        for e in ref.events
                        if (e["project_id"], e["user_id"]) == (project_id, user_id)
                        and e["type"] == "login"
                        and ref.in_window(scope, e["t"])
                    ),
                    "sessions": sum(1 for s in mine if ref.in_window(scope, s.start)),
                    "tasks_completed": sum(
                        1 for t in tasks if ref.in_window(scope, ts(t["completed_at"]))
                    ),
                    "open_assigned_tasks": sum(1 for t in tasks if task_is_open(scope, t)),
                }
            )
    return out


def ref_summary(ref: Ref, scope: Scope, threshold: int = 10) -> dict[str, object]:
    rows = ref_projects(ref, scope)
    cards = ref_kpis(ref, scope)
    unassigned = sum(r["tasks_unassigned"] for r in rows)  # type: ignore[misc]
    return {
        "projects": len(rows),
        "invites_sent": cards["invites_sent"],
        "logins": cards["logins"],
        "tasks_unassigned": unassigned,
        "tasks_overdue": sum(r["tasks_overdue"] for r in rows),  # type: ignore[misc]
        "tasks_unassigned_flag": unassigned > threshold,
        "unassigned_threshold": threshold,
    }
