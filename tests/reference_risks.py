"""Plain-Python reference for the risk signals, project health and the never_logged_in lookup.

Built on :mod:`tests.reference` (raw rows and reference sessions; nothing read from
``sessions`` or ``daily_activity``). Each rule is written out directly from the
definitions in ``docs/metrics/risks.md``; nothing is shared with ``metrics/`` except
the threshold dataclass and the ISO formatter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import strategies as st

from metrics.scope import Scope, iso
from metrics.sections.risks import RiskThresholds
from tests.reference import Ref, ts
from tests.strategies import ORIGIN, datasets, scopes

DAY = 86400.0
SEVERITY = {"high": 0, "medium": 1, "low": 2}
LEVEL = {"high": 0, "medium": 1, "low": 2}


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _last_day(t: float) -> date:
    return _dt(t - 0.001).date()


def _days(earlier: float | None, t: float) -> int | None:
    if earlier is None:
        return None
    return (_last_day(t) - _dt(earlier).date()).days


def _frac(x: float) -> Fraction:
    return Fraction(str(x))


def _portal_name(ref: Ref, project_id: str) -> str:
    return ref.projects[project_id]["name"] if project_id else "partner portal"


def _logged(ref: Ref, user: str, portal: str, t: float) -> bool:
    return any(
        e["type"] == "login" and e["user_id"] == user and e["project_id"] == portal and e["t"] < t
        for e in ref.events
    )


def invited_portals(
    ref: Ref, scope: Scope, t: float, keep=lambda invite: True
) -> dict[str, dict[str, float]]:
    """user → {portal → first invite} for in-scope invites sent before ``t``."""
    out: dict[str, dict[str, float]] = {}
    for invite in ref.invites:
        sent = ts(invite["sent_at"])
        if sent >= t or not keep(invite):
            continue
        if not ref.portal_in_scope(scope, invite["project_id"], invite["user_id"]):
            continue
        portals = out.setdefault(invite["user_id"], {})
        portal = invite["project_id"]
        portals[portal] = min(portals.get(portal, sent), sent)
    return out


def never_users(ref: Ref, invited: dict[str, dict[str, float]], t: float) -> dict[str, dict]:
    """Users none of whose invited portals has a login before ``t``."""
    return {
        user: portals
        for user, portals in invited.items()
        if not any(_logged(ref, user, portal, t) for portal in portals)
    }


def _mean_ms(sessions: list) -> Fraction | None:
    if not sessions:
        return None
    return Fraction(sum(round(s.duration * 1000) for s in sessions), len(sessions))


def _seconds(sessions: list) -> float | None:
    total = sum(round(s.duration * 1000) for s in sessions)
    return round(total / len(sessions) / 1000, 1) if sessions else None


def _activity_signals(
    ref: Ref, scope: Scope, th: RiskThresholds, t: float, sessions: list, events: list
) -> list[tuple[str, str, dict]]:
    """(signal, severity, numbers) for declining_duration and visits_without_actions."""
    out = []
    n = th.declining_days * DAY
    recent = [s for s in sessions if t - n <= s.start < t]
    before = [s for s in sessions if t - 2 * n <= s.start < t - n]
    if recent and before:
        r, b = _mean_ms(recent), _mean_ms(before)
        if r < _frac(th.declining_ratio) * b:
            out.append(
                (
                    "declining_duration",
                    "medium" if r * 2 < _frac(th.declining_ratio) * b else "low",
                    {
                        "recent_avg_seconds": _seconds(recent),
                        "previous_avg_seconds": _seconds(before),
                        "recent_sessions": len(recent),
                        "previous_sessions": len(before),
                        "change": round(float(r) / float(b), 4),
                    },
                )
            )
    in_window = [s for s in sessions if ref.in_window(scope, s.start)]
    window_events = [e for e in events if ref.in_window(scope, e["t"])]
    actions = sum(1 for e in window_events if e["type"] == "action")
    if in_window and not actions:
        out.append(
            (
                "visits_without_actions",
                "low",
                {
                    "sessions": len(in_window),
                    "page_views": sum(1 for e in window_events if e["type"] == "page_view"),
                    "actions": 0,
                },
            )
        )
    return out


def _risk(health: str, fired: set[str]) -> tuple[str, list[str]]:
    order = [
        "on_time_health:off_track",
        "on_time_health:at_risk",
        "inactive_project",
        "overdue_tasks",
        "low_invite_conversion",
        "declining_duration",
        "unassigned_tasks",
        "visits_without_actions",
    ]
    high = set()
    if health == "off_track":
        high.add("on_time_health:off_track")
    if "inactive_project" in fired and "overdue_tasks" in fired:
        high |= {"inactive_project", "overdue_tasks"}
    if "inactive_project" in fired and "low_invite_conversion" in fired:
        high |= {"inactive_project", "low_invite_conversion"}
    if high:
        return "high", [r for r in order if r in high]
    medium = {
        s
        for s in fired
        if s in ("inactive_project", "overdue_tasks", "low_invite_conversion", "declining_duration")
    }
    if health == "at_risk":
        medium.add("on_time_health:at_risk")
    if medium:
        return "medium", [r for r in order if r in medium]
    return "low", [r for r in order if r in fired]


def ref_risks(ref: Ref, scope: Scope, th: RiskThresholds) -> dict[str, object]:
    """Signals (comparable tuples, sorted), counts and project rows as the section gives them."""
    t = ts(scope.as_of)
    cutoff = scope.as_of.astimezone(UTC).date()
    signals: list[dict] = []

    def owner_of_project(project_id: str) -> str | None:
        return ref.project_owner(project_id)

    # never_logged_in
    invited = invited_portals(ref, scope, t)
    for user, portals in never_users(ref, invited, t).items():
        ordered = sorted(portals.items(), key=lambda kv: (kv[1], _portal_name(ref, kv[0]), kv[0]))
        first_portal, first_sent = ordered[0]
        days = _days(first_sent, t)
        account = ref.users[user]["account_id"]
        signals.append(
            {
                "signal": "never_logged_in",
                "entity_type": "user",
                "entity_id": user,
                "entity": ref.users[user]["name"],
                "account_id": account,
                "owner_id": owner_of_project(first_portal)
                if first_portal
                else ref.accounts[account]["owner_id"],
                "severity": "high"
                if days >= th.invite_high_days
                else "medium"
                if days >= th.invite_medium_days
                else "low",
                "numbers": {"portals": len(portals), "days_since_invite": days},
                "portals": [(p or None, _dt(sent)) for p, sent in ordered],
            }
        )

    projects = []
    for pid, project in ref.projects.items():
        if not ref.project_in_scope(scope, pid):
            continue
        sessions = [s for s in ref.sessions if s.project_id == pid and s.start < t]
        last = max((s.start for s in sessions), default=None)
        events = [e for e in ref.events if e["project_id"] == pid]
        fired: list[tuple[str, str, dict]] = []
        if project["status"] == "in_progress" and (
            last is None or last < t - th.inactive_days * DAY
        ):
            fired.append(
                (
                    "inactive_project",
                    "high" if last is None or last < t - 2 * th.inactive_days * DAY else "medium",
                    {
                        "days_since_last_visit": _days(last, t),
                        "last_visit": iso(_dt(last)) if last is not None else None,
                    },
                )
            )
        users = {u for u, portals in invited.items() if pid in portals}
        logged = {u for u in users if _logged(ref, u, pid, t)}
        if len(users) >= th.min_invited and Fraction(len(logged), len(users)) < _frac(
            th.conversion_below
        ):
            fired.append(
                (
                    "low_invite_conversion",
                    "medium" if logged else "high",
                    {
                        "invited": len(users),
                        "logged_in": len(logged),
                        "conversion": round(len(logged) / len(users), 4),
                    },
                )
            )
        tasks = [
            task
            for task in ref.tasks
            if task["project_id"] == pid
            and (task["created_at"] is None or ts(task["created_at"]) < t)
        ]
        open_tasks = [
            task for task in tasks if task["completed_at"] is None or ts(task["completed_at"]) >= t
        ]
        due = [task for task in tasks if task["due_on"] is not None and task["due_on"] < cutoff]
        overdue = [task for task in due if task in open_tasks and task["assignee_user_id"]]
        unassigned = [task for task in open_tasks if not task["assignee_user_id"]]
        if not due:
            health = "no_tasks_due"
        elif Fraction(len(overdue), len(due)) < _frac(th.on_track_below):
            health = "on_track"
        elif Fraction(len(overdue), len(due)) > _frac(th.off_track_above):
            health = "off_track"
        else:
            health = "at_risk"
        if overdue:
            fired.append(
                (
                    "overdue_tasks",
                    {"off_track": "high", "at_risk": "medium"}.get(health, "low"),
                    {
                        "overdue": len(overdue),
                        "due": len(due),
                        "overdue_share": round(len(overdue) / len(due), 4),
                    },
                )
            )
        if unassigned:
            fired.append(
                (
                    "unassigned_tasks",
                    "medium" if len(unassigned) > th.unassigned_threshold else "low",
                    {"unassigned": len(unassigned), "open": len(open_tasks)},
                )
            )
        fired += _activity_signals(ref, scope, th, t, sessions, events)
        account = project["account_id"]
        for signal, severity, numbers in fired:
            signals.append(
                {
                    "signal": signal,
                    "entity_type": "project",
                    "entity_id": pid,
                    "entity": project["name"],
                    "account_id": account,
                    "owner_id": owner_of_project(pid),
                    "severity": severity,
                    "numbers": numbers,
                    "portals": None,
                }
            )
        days = _days(last, t)
        if days is None:
            engagement = "none"
        elif days <= th.engagement_high_days:
            engagement = "high"
        elif days <= th.engagement_medium_days:
            engagement = "medium"
        else:
            engagement = "low"
        names = {f[0] for f in fired}
        level, reasons = _risk(health, names)
        projects.append(
            {
                "project_id": pid,
                "project": project["name"],
                "account_id": account,
                "owner_id": owner_of_project(pid),
                "status": project["status"],
                "on_time_health": health,
                "overdue": len(overdue),
                "due": len(due),
                "engagement_level": engagement,
                "days_since_activity": days,
                "risk_level": level,
                "risk_reasons": reasons,
            }
        )

    for aid, account in ref.accounts.items():
        if not ref.partner_in_scope(scope, aid):
            continue
        members = {u for u, user in ref.users.items() if user["account_id"] == aid}
        sessions = [
            s for s in ref.sessions if s.project_id == "" and s.user_id in members and s.start < t
        ]
        events = [e for e in ref.events if e["project_id"] == "" and e["user_id"] in members]
        last = max((s.start for s in sessions), default=None)
        fired = []
        if last is None or last < t - th.dormant_days * DAY:
            fired.append(
                (
                    "dormant_partner",
                    "high" if last is None else "medium",
                    {
                        "days_since_last_visit": _days(last, t),
                        "last_visit": iso(_dt(last)) if last is not None else None,
                        "users": len(members),
                    },
                )
            )
        fired += _activity_signals(ref, scope, th, t, sessions, events)
        for signal, severity, numbers in fired:
            signals.append(
                {
                    "signal": signal,
                    "entity_type": "partner",
                    "entity_id": aid,
                    "entity": account["name"],
                    "account_id": aid,
                    "owner_id": account["owner_id"],
                    "severity": severity,
                    "numbers": numbers,
                    "portals": None,
                }
            )

    signals.sort(key=lambda s: (SEVERITY[s["severity"]], s["signal"], s["entity"], s["entity_id"]))
    projects.sort(key=lambda p: (LEVEL[p["risk_level"]], p["project"], p["project_id"]))
    counts: dict[str, int] = {}
    for s in signals:
        counts[s["signal"]] = counts.get(s["signal"], 0) + 1
    return {"signals": signals, "counts": counts, "projects": projects}


def ref_never_logged_in(
    ref: Ref,
    scope: Scope,
    project: str | None = None,
    account: str | None = None,
    kind: str | None = None,
) -> dict[str, object]:
    """The never_logged_in lookup at ``until``: totals, rows and counts."""
    t = ts(scope.until)

    def keep(invite: dict) -> bool:
        if project is not None and invite["project_id"] != project:
            return False
        if account is not None and ref.users[invite["user_id"]]["account_id"] != account:
            return False
        if kind == "customer" and invite["project_id"] == "":
            return False
        return not (kind == "partner" and invite["project_id"] != "")

    invited = invited_portals(ref, scope, t, keep)
    never = never_users(ref, invited, t)
    rows = []
    for user, portals in never.items():
        for portal, sent in portals.items():
            rows.append(
                {
                    "user_id": user,
                    "account_id": ref.users[user]["account_id"],
                    "project_id": portal or None,
                    "invited_at": _dt(sent),
                    "days_since_invite": _days(sent, t),
                }
            )
    rows.sort(
        key=lambda r: (
            r["invited_at"],
            ref.users[r["user_id"]]["name"],
            r["user_id"],
            ref.projects[r["project_id"]]["name"] if r["project_id"] else "",
            r["project_id"] or "",
        )
    )
    by_project: dict[str | None, int] = {}
    for r in rows:
        by_project[r["project_id"]] = by_project.get(r["project_id"], 0) + 1
    by_account: dict[str, set[str]] = {}
    for r in rows:
        by_account.setdefault(r["account_id"], set()).add(r["user_id"])
    return {
        "total": len(never),
        "invited": len(invited),
        "invites": len(rows),
        "rows": rows,
        "by_project": by_project,
        "by_account": {a: len(users) for a, users in by_account.items()},
    }


# -- random data dense in risk signals ---------------------------------------------------

AS_OF_END = 102 * 86400
"""2026-04-01T00:00Z (the end of strategies.AS_OF) as an offset from ORIGIN."""


def _at(offset: int) -> str:
    return (ORIGIN + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")


@st.composite
def risk_datasets(draw: st.DrawFn) -> dict[str, list[dict[str, str]]]:
    """The shared random datasets plus an extra customer with projects, a partner, users,
    invites piled on few portals and visit bursts in the weeks around as_of, so that every
    signal fires in a good share of examples."""
    data = draw(datasets(max_events=20))
    members = [m["member_id"] for m in data["team_members.csv"]]
    owner = st.sampled_from([*members, ""])
    data["accounts.csv"] += [
        {"account_id": "xa", "name": "Extra Customer", "kind": "customer", "owner_id": draw(owner)},
        {
            "account_id": "xb",
            "name": "Extra Partner",
            "kind": "partner",
            "partner_type": draw(st.sampled_from(["referral", "reseller"])),
            "owner_id": draw(owner),
        },
    ]
    status = st.sampled_from(["in_progress", "in_progress", "live", "on_hold"])
    data["projects.csv"] += [
        {
            "project_id": f"xp{i}",
            "account_id": "xa",
            "name": f"Extra Project {i}",
            "owner_id": draw(owner),
            "status": draw(status),
            "playbook": draw(st.sampled_from(["Enterprise", ""])),
        }
        for i in range(2)
    ]
    data["users.csv"] += [
        {"user_id": f"xu{i}", "account_id": draw(st.sampled_from(["xa", "xb"])), "name": f"X {i}"}
        for i in range(4)
    ]
    users = [u["user_id"] for u in data["users.csv"]]
    portals = [p["project_id"] for p in data["projects.csv"]] + [""]
    hot = draw(st.lists(st.sampled_from(portals), min_size=1, max_size=2, unique=True))
    near = st.integers(AS_OF_END - 40 * 86400, AS_OF_END + 86400)
    for i in range(draw(st.integers(3, 12))):
        data["invites.csv"].append(
            {
                "invite_id": f"xi{i}",
                "user_id": draw(st.sampled_from(users)),
                "project_id": draw(st.sampled_from(hot + portals[:1])),
                "sent_at": _at(draw(near)),
            }
        )
    kinds = st.sampled_from(["login", "page_view", "page_view", "action"])
    for i in range(draw(st.integers(2, 10))):
        user, portal, at = draw(st.sampled_from(users)), draw(st.sampled_from(portals)), draw(near)
        for j in range(draw(st.integers(1, 3))):
            at += draw(st.sampled_from([0, 60, 600, 1700]))
            kind = draw(kinds)
            data["events.csv"].append(
                {
                    "event_id": f"x{i}_{j}",
                    "user_id": user,
                    "project_id": portal,
                    "occurred_at": _at(at),
                    "type": kind,
                    "action": "video_play" if kind == "action" else "",
                }
            )
    due = st.sampled_from(["", "2026-03-01", "2026-03-31", "2026-04-01"])
    for i in range(draw(st.integers(0, 6))):
        created = draw(near)
        data["tasks.csv"].append(
            {
                "task_id": f"xt{i}",
                "project_id": draw(st.sampled_from(["xp0", "xp1"])),
                "title": f"X task {i}",
                "assignee_user_id": draw(st.sampled_from([*users[:2], ""])),
                "due_on": draw(due),
                "completed_at": draw(st.sampled_from(["", _at(created + 3600)])),
                "created_at": draw(st.sampled_from(["", _at(created)])),
            }
        )
    return data


@st.composite
def risk_scopes(draw: st.DrawFn, data: dict[str, list[dict[str, str]]]) -> dict[str, object]:
    """Scope keyword arguments: mostly windows near as_of with at most one filter, and a
    third of the time the shared :func:`tests.strategies.scopes` (filters combined)."""
    if draw(st.integers(0, 2)) == 0:
        return draw(scopes(data))
    kwargs: dict[str, object] = {
        "as_of": draw(st.sampled_from(["2026-03-31", "2026-03-31T12:30:00Z", "2026-04-01"])),
    }
    if draw(st.booleans()):
        kwargs["range"] = draw(
            st.sampled_from(["last_7_days", "last_14_days", "last_30_days", "this_month"])
        )
    else:
        first = draw(st.dates(date(2026, 3, 1), date(2026, 3, 31)))
        kwargs["start"], kwargs["end"] = first, first + timedelta(days=draw(st.integers(0, 20)))
    choice = draw(
        st.sampled_from(["", "", "owner", "account", "partner_type", "status", "project"])
    )
    if choice == "owner" and data["team_members.csv"]:
        kwargs["owner"] = draw(st.sampled_from([m["member_id"] for m in data["team_members.csv"]]))
    elif choice == "account":
        kwargs["accounts"] = [
            draw(st.sampled_from([a["account_id"] for a in data["accounts.csv"]]))
        ]
    elif choice == "partner_type":
        kwargs["partner_type"] = draw(st.sampled_from(["referral", "reseller"]))
    elif choice == "status":
        kwargs["status"] = [draw(st.sampled_from(["in_progress", "live"]))]
    elif choice == "project" and data["projects.csv"]:
        kwargs["projects"] = [
            draw(st.sampled_from([p["project_id"] for p in data["projects.csv"]]))
        ]
    return kwargs
