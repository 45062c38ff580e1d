"""A plain-Python reference for SPEC §6's general query, for property tests.

Facts come from :mod:`tests.reference` (raw contract tables, its own
sessions); each is attributed to dimension values the way SPEC §6 says, in
the most direct way, and grouped in dicts. Nothing here is shared with
``metrics/semantic``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from metrics.scope import Scope
from tests.reference import Ref, ts
from tests.reference_projects import task_exists, task_is_open, task_is_overdue

TIME = ("day", "week", "month")


def _bucket(kind: str, instant: float) -> str:
    day = datetime.fromtimestamp(instant, tz=UTC).date()
    if kind == "week":
        day = day - timedelta(days=day.weekday())
    elif kind == "month":
        day = date(day.year, day.month, 1)
    return day.isoformat()


def _portal_values(ref: Ref, project_id: str, user_id: str | None) -> dict[str, object]:
    """Dimension values of a fact in a portal (user_id None: a task, by its project)."""
    project = ref.projects.get(project_id) if project_id else None
    if user_id is None:
        account = ref.accounts[project["account_id"]]  # type: ignore[index]
        role = None
    else:
        user = ref.users[user_id]
        account = ref.accounts[user["account_id"]]
        role = user["role"]
    owner = ref.project_owner(project_id) if project is not None else account["owner_id"]
    return {
        "project": project_id or None,
        "account": account["account_id"],
        "owner": owner,
        "partner_type": account["partner_type"],
        "kind": account["kind"],
        "playbook": project["playbook"] if project else None,
        "status": project["status"] if project else None,
        "role": role,
    }


def _key(values: dict[str, object], by: tuple[str, ...]) -> tuple:
    return tuple(values[d] for d in by)


def ref_query(ref: Ref, scope: Scope, measures: list[str], by: tuple[str, ...]) -> dict:
    """Group key → {measure: value}, and the totals, for ``measures`` by ``by``."""
    groups: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))

    def add(measure: str, values: dict[str, object], instant: float | None, item: object) -> None:
        values = dict(values)
        for kind in TIME:
            if kind in by:
                values[kind] = _bucket(kind, instant)  # type: ignore[arg-type]
        groups[_key(values, by)][measure].append(item)

    in_window = lambda t: ref.in_window(scope, t)  # noqa: E731
    for measure in measures:
        if measure in ("logins", "page_views", "actions"):
            kind = {"logins": "login", "page_views": "page_view", "actions": "action"}[measure]
            for e in ref.events:
                if (
                    e["type"] == kind
                    and in_window(e["t"])
                    and ref.portal_in_scope(scope, e["project_id"], e["user_id"])
                ):
                    values = _portal_values(ref, e["project_id"], e["user_id"])
                    values.update(device=e["device"], room=e["room_id"], resource=e["resource_id"])
                    add(measure, values, e["t"], 1)
        elif measure in ("sessions", "unique_users", "avg_session_seconds"):
            for s in ref.sessions:
                if in_window(s.start) and ref.portal_in_scope(scope, s.project_id, s.user_id):
                    values = _portal_values(ref, s.project_id, s.user_id)
                    values["device"] = s.device
                    add(measure, values, s.start, s)
        elif measure == "invites_sent":
            for i in ref.invites:
                t = ts(i["sent_at"])
                if in_window(t) and ref.portal_in_scope(scope, i["project_id"], i["user_id"]):
                    add(measure, _portal_values(ref, i["project_id"], i["user_id"]), t, 1)
        elif measure == "tasks_completed":
            for task in ref.tasks:
                t = ts(task["completed_at"])
                if in_window(t) and ref.project_in_scope(scope, task["project_id"]):
                    add(measure, _portal_values(ref, task["project_id"], None), t, 1)
        elif measure in ("invited", "logged_in"):
            for i in ref.invites:
                t = ts(i["sent_at"])
                if t < ts(scope.until) and ref.portal_in_scope(
                    scope, i["project_id"], i["user_id"]
                ):
                    if measure == "logged_in" and not any(
                        e["type"] == "login"
                        and e["user_id"] == i["user_id"]
                        and e["project_id"] == i["project_id"]
                        and e["t"] < ts(scope.until)
                        for e in ref.events
                    ):
                        continue
                    add(
                        measure, _portal_values(ref, i["project_id"], i["user_id"]), t, i["user_id"]
                    )
        else:
            test: Callable[[Scope, dict], bool] = {
                "tasks_assigned": lambda sc, tk: task_exists(sc, tk) and tk["assignee_user_id"],
                "tasks_unassigned": lambda sc, tk: (
                    task_is_open(sc, tk) and not tk["assignee_user_id"]
                ),
                "tasks_overdue": task_is_overdue,
                "tasks_open": task_is_open,
            }[measure]
            for task in ref.tasks:
                if ref.project_in_scope(scope, task["project_id"]) and test(scope, task):
                    add(measure, _portal_values(ref, task["project_id"], None), None, 1)
    return {key: _finish(items, measures) for key, items in groups.items()}


def _finish(items: dict[str, list], measures: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for m in measures:
        found = items.get(m, [])
        if m == "unique_users":
            out[m] = len({s.user_id for s in found})
        elif m in ("invited", "logged_in"):
            out[m] = len(set(found))
        elif m == "avg_session_seconds":
            ms = [round(s.duration * 1000) for s in found]
            out[m] = round(sum(ms) / len(ms) / 1000, 1) if ms else None
        elif m == "sessions":
            out[m] = len(found)
        else:
            out[m] = sum(found)
    return out


def ref_totals(ref: Ref, scope: Scope, measures: list[str]) -> dict[str, object]:
    groups = ref_query(ref, scope, measures, ())
    return groups.get((), _finish({}, measures))
