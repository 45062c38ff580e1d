"""Plain-Python reference for the leaderboard, content and adoption sections (SPEC §4.6–4.8).

Built on :class:`tests.reference.Ref` (raw rows and reference sessions); shares
no code with ``metrics/``. Instants are compared as integer milliseconds.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from metrics.ingest.contract import ACTIONS
from metrics.scope import Scope
from tests.reference import Ref, ref_kpis

DAY_MS = 86_400_000


def ms(value: datetime | float | None) -> int | None:
    """Integer epoch milliseconds of a datetime or of float seconds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.timestamp()
    return round(value * 1000)


def half_up(value: Fraction, digits: int) -> float:
    """``value`` rounded half up to ``digits`` decimals."""
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return float(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def mean_seconds(durations_ms: list[int]) -> float | None:
    return round(sum(durations_ms) / len(durations_ms) / 1000, 1) if durations_ms else None


# -- leaderboard (§4.6) ---------------------------------------------------------------


def ref_leaderboard(ref: Ref, scope: Scope) -> tuple[list[dict], dict]:
    """All rows in rank order (with score, rank and the ratios), and the footer."""
    partners = [a for a in ref.accounts.values() if ref.partner_in_scope(scope, a["account_id"])]
    stats = {}
    for account in partners:
        aid = account["account_id"]
        sessions = [
            s
            for s in ref.sessions
            if s.project_id == ""
            and ref.users[s.user_id]["account_id"] == aid
            and ref.in_window(scope, s.start)
        ]
        views = sum(
            1
            for e in ref.events
            if e["type"] == "page_view"
            and e["project_id"] == ""
            and ref.users[e["user_id"]]["account_id"] == aid
            and ref.in_window(scope, e["t"])
        )
        durations = [ms(s.end) - ms(s.start) for s in sessions]
        owner = ref.team_members.get(account["owner_id"] or "")
        stats[aid] = {
            "partner_id": aid,
            "partner": account["name"],
            "partner_type": account["partner_type"],
            "owner_id": account["owner_id"],
            "owner": owner["name"] if owner else None,
            "users": len({s.user_id for s in sessions}),
            "sessions": len(sessions),
            "page_views": views,
            "avg_session_seconds": mean_seconds(durations),
            "_durations": durations,
        }
    metrics = {"sessions": 4, "users": 3, "page_views": 2, "avg_session_seconds": 1}

    def exact(row: dict, metric: str) -> Fraction:
        if metric == "avg_session_seconds":
            d = row["_durations"]
            return Fraction(sum(d), len(d)) if d else Fraction(0)
        return Fraction(row[metric])

    for row in stats.values():
        why = {}
        for metric in metrics:
            top = max(exact(r, metric) for r in stats.values())
            why[metric] = exact(row, metric) / top if top else Fraction(0)
        row["score"] = half_up(sum(100 * w * why[m] / 10 for m, w in metrics.items()), 1)
        row["why"] = {m: half_up(v, 4) for m, v in why.items()}
    rows = sorted(stats.values(), key=lambda r: (-r["score"], r["partner"], r["partner_id"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    every = [d for r in rows for d in r.pop("_durations")]
    footer = {
        "users": sum(r["users"] for r in rows),
        "sessions": sum(r["sessions"] for r in rows),
        "page_views": sum(r["page_views"] for r in rows),
        "avg_session_seconds": mean_seconds(every),
    }
    return rows, footer


def ref_sorted(rows: list[dict], column: str, descending: bool) -> list[dict]:
    """Rows ordered by ``column`` (nulls last either way), equal values by rank."""

    def compare(a: dict, b: dict) -> int:
        x, y = a[column], b[column]
        if x is None or y is None:
            if x is None and y is None:
                return a["rank"] - b["rank"]
            return 1 if x is None else -1
        if x != y:
            order = -1 if x < y else 1
            return -order if descending else order
        return a["rank"] - b["rank"]

    return sorted(rows, key=functools.cmp_to_key(compare))


# -- content (§4.7) -------------------------------------------------------------------


def ref_content(ref: Ref, scope: Scope) -> dict[str, list[dict]]:
    """Every resource and room with views, in ranked order."""
    views = [
        e
        for e in ref.events
        if e["type"] == "page_view"
        and ref.in_window(scope, e["t"])
        and ref.portal_in_scope(scope, e["project_id"], e["user_id"])
    ]
    resources = []
    for rid in {e["resource_id"] for e in views if e["resource_id"]}:
        hits = [e for e in views if e["resource_id"] == rid]
        resources.append(
            {
                "resource_id": rid,
                "title": ref.resources[rid]["title"],
                "kind": ref.resources[rid]["kind"],
                "views": len(hits),
                "unique_users": len({e["user_id"] for e in hits}),
            }
        )
    rooms = []
    for rid in {e["room_id"] for e in views if e["room_id"]}:
        hits = [e for e in views if e["room_id"] == rid]
        rooms.append(
            {
                "room_id": rid,
                "room": ref.rooms[rid]["name"],
                "views": len(hits),
                "unique_users": len({e["user_id"] for e in hits}),
            }
        )
    resources.sort(key=lambda r: (-r["views"], r["title"], r["resource_id"]))
    rooms.sort(key=lambda r: (-r["views"], r["room"], r["room_id"]))
    return {"resources": resources, "rooms": rooms}


# -- adoption (§4.8) ------------------------------------------------------------------


def ref_role(ref: Ref, user_id: str | None) -> str:
    role = ref.users[user_id]["role"] if user_id else None
    return role or "unassigned"


def ref_by_role(ref: Ref, scope: Scope) -> list[dict]:
    """:func:`tests.reference.ref_kpis` over each role's share of the records."""
    roles = {ref_role(ref, u) for u in ref.users} | {"unassigned"}
    out = []
    for role in sorted(roles, key=lambda r: (r == "unassigned", r)):
        part = replace(
            ref,
            invites=[i for i in ref.invites if ref_role(ref, i["user_id"]) == role],
            events=[e for e in ref.events if ref_role(ref, e["user_id"]) == role],
            tasks=[t for t in ref.tasks if ref_role(ref, t["assignee_user_id"]) == role],
            sessions=[s for s in ref.sessions if ref_role(ref, s.user_id) == role],
        )
        cards = ref_kpis(part, scope)
        if any(v for v in cards.values()):
            out.append({"role": role, "kpis": cards})
    return out


def ticket_in_scope(ref: Ref, scope: Scope, ticket: dict) -> bool:
    """The ticket's user's account has a project in scope or is a partner in scope."""
    if scope.filters.empty:
        return True
    account = ref.users[ticket["user_id"]]["account_id"]
    return ref.partner_in_scope(scope, account) or any(
        p["account_id"] == account and ref.project_in_scope(scope, pid)
        for pid, p in ref.projects.items()
    )


def ref_adoption(
    ref: Ref,
    scope: Scope,
    cost_per_ticket: float = 10.0,
    portal_cost: float | None = None,
    gain: float | None = None,
) -> dict[str, object]:
    """Every field of the adoption section."""
    start, until = ms(scope.start), ms(scope.until)
    day = ms(datetime.combine(scope.as_of_date, time(0), tzinfo=UTC))
    as_of = ms(scope.as_of)

    def active(first: int) -> int:
        return len(
            {
                s.user_id
                for s in ref.sessions
                if first <= ms(s.start) < min(day + DAY_MS, as_of)
                and ref.portal_in_scope(scope, s.project_id, s.user_id)
            }
        )

    dau, wau, mau = active(day), active(day - 6 * DAY_MS), active(day - 29 * DAY_MS)
    sessions = [
        s
        for s in ref.sessions
        if start <= ms(s.start) < until and ref.portal_in_scope(scope, s.project_id, s.user_id)
    ]
    users = {s.user_id for s in sessions}
    actions = [
        e
        for e in ref.events
        if e["type"] == "action"
        and start <= ms(e["t"]) < until
        and ref.portal_in_scope(scope, e["project_id"], e["user_id"])
        and e["user_id"] in users
    ]
    features = []
    for action in ACTIONS:
        n = len({e["user_id"] for e in actions if e["action"] == action})
        features.append({"action": action, "users": n, "share": share(n, len(users))})
    mobile = sum(1 for s in sessions if s.device == "mobile")

    # activation: first in-scope invite before until, at least 90 days before it
    first_invite: dict[str, int] = {}
    for invite in ref.invites:
        sent = ms(invite["sent_at"])
        if sent < until and ref.portal_in_scope(scope, invite["project_id"], invite["user_id"]):
            user = invite["user_id"]
            first_invite[user] = min(sent, first_invite.get(user, sent))
    eligible = {u: t for u, t in first_invite.items() if t <= until - 90 * DAY_MS}
    activated = sum(
        1
        for user, first in eligible.items()
        if any(
            e["user_id"] == user
            and e["type"] == "login"
            and first <= ms(e["t"]) < first + 90 * DAY_MS
            and ref.portal_in_scope(scope, e["project_id"], e["user_id"])
            for e in ref.events
        )
    )
    rate = share(activated, len(eligible))

    tickets = [
        t
        for t in ref.tickets
        if start <= ms(t["created_at"]) < until and ticket_in_scope(ref, scope, t)
    ]
    self_service = sum(1 for t in tickets if t["resolution"] == "self_service")
    after_portal = sum(
        1
        for t in tickets
        if any(
            s.user_id == t["user_id"]
            and ms(t["created_at"]) - DAY_MS <= ms(s.end) <= ms(t["created_at"])
            for s in ref.sessions
        )
    )
    savings = round(self_service * cost_per_ticket, 2)
    used_gain = None if portal_cost is None else (savings if gain is None else gain)
    return {
        "active_date": scope.as_of_date,
        "dau": dau,
        "wau": wau,
        "mau": mau,
        "stickiness": share(dau, mau),
        "users_with_session": len(users),
        "feature_utilization": features,
        "sessions": len(sessions),
        "mobile_sessions": mobile,
        "mobile_share": share(mobile, len(sessions)),
        "by_role": ref_by_role(ref, scope),
        "activation": {
            "days": 90,
            "eligible": len(eligible),
            "activated": activated,
            "rate": rate,
            "benchmark": 0.6,
            "meets_benchmark": None if not eligible else activated * 10 >= 6 * len(eligible),
        },
        "tickets": len(tickets),
        "self_service_tickets": self_service,
        "self_service_rate": share(self_service, len(tickets)),
        "tickets_after_portal": after_portal,
        "ticket_after_portal_rate": share(after_portal, len(tickets)),
        "deflection": {
            "self_service_tickets": self_service,
            "cost_per_ticket": cost_per_ticket,
            "savings": savings,
        },
        "gain": used_gain,
        "portal_cost": portal_cost,
        "roi_pct": None
        if used_gain is None
        else round((used_gain - portal_cost) / portal_cost * 100, 1),
    }
