"""Partner leaderboard (SPEC §4.6): partner-portal engagement per partner account, scored.

Every partner account in scope (:func:`metrics.query.partners_select`) is a row,
with zeros when it had no activity. A partner's activity is its users' activity
in the partner portal (``project_id = ''``) inside the window:

* ``users`` — distinct users of the account with a partner-portal session;
* ``sessions`` and ``avg_session_seconds`` — those sessions;
* ``page_views`` — partner-portal page_view events (flow counts of
  :func:`metrics.query.activity`).

Each metric is divided by its largest value among the partners in scope (0 where
that largest value is 0; the duration ratio uses the exact mean, not the rounded
one) and ``score = 100 × (0.4·sessions + 0.3·users + 0.2·page_views + 0.1·duration)``,
computed exactly and rounded half up to one decimal. Rank 1 is the highest
score; equal scores are ordered by partner name, then id, and still get
distinct consecutive ranks. Scores and ranks are computed over all partners in
scope before sorting and paging.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Select, and_, func, select
from sqlalchemy.sql.selectable import Subquery

from metrics.models import PARTNER_PORTAL, Account, Session, TeamMember, User
from metrics.query import activity, partners_select
from metrics.results import Result, seconds
from metrics.scope import Scope

WEIGHTS = {
    "sessions": Fraction(4, 10),
    "users": Fraction(3, 10),
    "page_views": Fraction(2, 10),
    "avg_session_seconds": Fraction(1, 10),
}
"""Weight of each metric's ratio in the score."""
PAGE_SIZE = 25
COLUMNS = (
    "rank",
    "partner_id",
    "partner",
    "partner_type",
    "owner_id",
    "owner",
    "users",
    "sessions",
    "page_views",
    "avg_session_seconds",
    "score",
)
"""Columns the leaderboard can be sorted by."""


class Why(BaseModel):
    """The four ratios behind a score: the partner's value ÷ the largest in scope (4 decimals)."""

    sessions: float
    users: float
    page_views: float
    avg_session_seconds: float


class LeaderboardRow(BaseModel):
    partner_id: str
    partner: str
    partner_type: str | None
    owner_id: str | None
    owner: str | None
    users: int
    sessions: int
    page_views: int
    avg_session_seconds: float | None
    score: float
    rank: int
    why: Why


class Footer(BaseModel):
    """Totals over all partners in scope (not only the page)."""

    users: int
    sessions: int
    page_views: int
    avg_session_seconds: float | None


class LeaderboardResult(Result):
    section: str = "leaderboard"
    rows: list[LeaderboardRow]
    total_rows: int
    page: int
    pages: int
    page_size: int
    sort: str
    descending: bool
    footer: Footer
    weights: dict[str, float]
    """Weight of each metric's ratio in the score (sessions 0.4, users 0.3, …)."""


def compute(
    conn: Connection,
    scope: Scope,
    sort: str = "rank",
    descending: bool = False,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> LeaderboardResult:
    """The leaderboard page ``page`` sorted by ``sort``; score and rank over all partners."""
    if sort not in COLUMNS:
        raise ValueError(
            f"cannot sort the leaderboard by {sort!r}; use one of: {', '.join(COLUMNS)}"
        )
    if page < 1:
        raise ValueError(f"page must be 1 or more (got {page})")
    if page_size < 1:
        raise ValueError(f"page_size must be 1 or more (got {page_size})")
    partners = _partners(conn, scope)
    _add_sessions(conn, scope, partners)
    _add_page_views(conn, scope, partners)
    rows = _score_and_rank(list(partners.values()))
    footer = _footer(list(partners.values()))
    ordered = sort_rows(rows, sort, descending)
    first = (page - 1) * page_size
    return LeaderboardResult(
        scope=scope.describe(),
        rows=ordered[first : first + page_size],
        total_rows=len(rows),
        page=page,
        pages=math.ceil(len(rows) / page_size),
        page_size=page_size,
        sort=sort,
        descending=descending,
        footer=footer,
        weights={metric: float(weight) for metric, weight in WEIGHTS.items()},
    )


def _partners(conn: Connection, scope: Scope) -> dict[str, dict[str, Any]]:
    """Partner accounts in scope with their owner, and zeroed counters."""
    accounts = partners_select(
        scope, Account.account_id, Account.name, Account.partner_type, Account.owner_id
    ).subquery()
    query = select(accounts, TeamMember.name.label("owner")).outerjoin(
        TeamMember,
        and_(
            TeamMember.workspace_id == scope.workspace_id,
            TeamMember.member_id == accounts.c.owner_id,
        ),
    )
    return {
        r.account_id: {
            "partner_id": r.account_id,
            "partner": r.name,
            "partner_type": r.partner_type,
            "owner_id": r.owner_id,
            "owner": r.owner,
            "users": 0,
            "sessions": 0,
            "total_ms": 0,
            "page_views": 0,
        }
        for r in conn.execute(query)
    }


def _add_sessions(conn: Connection, scope: Scope, partners: dict[str, dict[str, Any]]) -> None:
    """Partner-portal sessions starting in the window, per partner account.

    Summed per user first, then joined to users: one account lookup per user, not per session.
    """
    per_user = (
        select(
            Session.user_id,
            func.count().label("sessions"),
            func.sum(Session.duration_ms).label("total_ms"),
        )
        .where(
            Session.workspace_id == scope.workspace_id,
            Session.project_id == PARTNER_PORTAL,
            Session.started_at >= scope.start,
            Session.started_at < scope.until,
        )
        .group_by(Session.user_id)
        .subquery("per_user")
    )
    query = _per_partner(
        scope,
        per_user,
        func.sum(per_user.c.sessions),
        func.sum(per_user.c.total_ms),
        func.count(),
    )
    for account_id, count, total_ms, users in conn.execute(query):
        row = partners[account_id]
        row.update(sessions=int(count), total_ms=int(total_ms or 0), users=users)


def _add_page_views(conn: Connection, scope: Scope, partners: dict[str, dict[str, Any]]) -> None:
    """Partner-portal page views in the window (flow counts), per partner account."""
    flows = activity(scope)
    per_user = (
        select(flows.c.user_id, func.sum(flows.c.page_views).label("page_views"))
        .where(flows.c.project_id == PARTNER_PORTAL)
        .group_by(flows.c.user_id)
        .subquery("per_user")
    )
    query = _per_partner(scope, per_user, func.sum(per_user.c.page_views))
    for account_id, views in conn.execute(query):
        partners[account_id]["page_views"] = int(views or 0)


def _per_partner(scope: Scope, per_user: Subquery, *aggregates: Any) -> Select:
    """``aggregates`` over the rows of ``per_user`` (one per user), per partner in scope."""
    return (
        select(User.account_id, *aggregates)
        .select_from(per_user)
        .join(
            User,
            and_(User.workspace_id == scope.workspace_id, User.user_id == per_user.c.user_id),
        )
        .where(User.account_id.in_(partners_select(scope).scalar_subquery()))
        .group_by(User.account_id)
    )


def _exact(row: dict[str, Any], metric: str) -> Fraction:
    """A metric's exact value (the mean duration in ms as a fraction; 0 without sessions)."""
    if metric == "avg_session_seconds":
        return Fraction(row["total_ms"], row["sessions"]) if row["sessions"] else Fraction(0)
    return Fraction(row[metric])


def _round_half_up(value: Fraction, digits: int) -> float:
    scale = 10**digits
    return math.floor(value * scale + Fraction(1, 2)) / scale


def _score_and_rank(partners: list[dict[str, Any]]) -> list[LeaderboardRow]:
    """Ratios to the maxima, score and rank for every partner (all partners in scope)."""
    maxima = {m: max((_exact(p, m) for p in partners), default=Fraction(0)) for m in WEIGHTS}
    scored = []
    for p in partners:
        ratios = {m: _exact(p, m) / maxima[m] if maxima[m] else Fraction(0) for m in WEIGHTS}
        score = _round_half_up(100 * sum(WEIGHTS[m] * ratios[m] for m in WEIGHTS), 1)
        scored.append((p, ratios, score))
    scored.sort(key=lambda item: (-item[2], item[0]["partner"], item[0]["partner_id"]))
    return [
        LeaderboardRow(
            partner_id=p["partner_id"],
            partner=p["partner"],
            partner_type=p["partner_type"],
            owner_id=p["owner_id"],
            owner=p["owner"],
            users=p["users"],
            sessions=p["sessions"],
            page_views=p["page_views"],
            avg_session_seconds=seconds(p["total_ms"], p["sessions"]),
            score=score,
            rank=rank,
            why=Why(**{m: _round_half_up(r, 4) for m, r in ratios.items()}),
        )
        for rank, (p, ratios, score) in enumerate(scored, start=1)
    ]


def _footer(partners: list[dict[str, Any]]) -> Footer:
    """Totals over all partners; a user belongs to one account, so users add up."""
    sessions = sum(p["sessions"] for p in partners)
    return Footer(
        users=sum(p["users"] for p in partners),
        sessions=sessions,
        page_views=sum(p["page_views"] for p in partners),
        avg_session_seconds=seconds(sum(p["total_ms"] for p in partners), sessions),
    )


def sort_rows(rows: list[LeaderboardRow], column: str, descending: bool) -> list[LeaderboardRow]:
    """Rows ordered by ``column`` either way; ties by rank; empty values (null) always last."""
    by_rank = sorted(rows, key=lambda r: r.rank)
    present = [r for r in by_rank if getattr(r, column) is not None]
    missing = [r for r in by_rank if getattr(r, column) is None]
    # sorted() is stable: rows with equal values stay in rank order either way.
    present = sorted(present, key=lambda r: getattr(r, column), reverse=descending)
    return present + missing
