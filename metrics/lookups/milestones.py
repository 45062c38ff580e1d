"""Good news of a week, as metrics: projects that went live, partners that climbed.

The weekly digest (``assistant/digest/content.py``) presents these; the rules live here
with the other metrics so the page, the assistant and the emails can share them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

from pydantic import BaseModel
from sqlalchemy import Connection

from metrics.models import Account, Project
from metrics.query import projects_select
from metrics.scope import Scope
from metrics.sections.leaderboard import LeaderboardRow


class WentLive(BaseModel):
    project_id: str
    project: str
    account_id: str
    account: str
    went_live_on: date


def went_live(conn: Connection, scope: Scope, first: date, last: date) -> list[WentLive]:
    """Projects in scope that are live with a target go-live date in ``[first, last]``,
    by that date then name."""
    query = (
        projects_select(
            scope,
            Project.project_id,
            Project.name,
            Account.account_id,
            Account.name,
            Project.target_live_on,
        )
        .where(
            Project.status == "live",
            Project.target_live_on >= first,
            Project.target_live_on <= last,
        )
        .order_by(Project.target_live_on, Project.name)
    )
    return [
        WentLive(project_id=p, project=n, account_id=a, account=an, went_live_on=d)
        for p, n, a, an, d in conn.execute(query)
    ]


def climbed(
    now: Mapping[str, LeaderboardRow],
    before: Mapping[str, LeaderboardRow],
    owners: Collection[str | None],
) -> list[LeaderboardRow]:
    """Partners owned by ``owners`` with sessions that rank higher on ``now`` than on
    ``before`` (both leaderboards by partner id), the biggest climb first, then by rank."""
    wins = [
        (row.rank - before[pid].rank, row)
        for pid, row in now.items()
        if row.owner_id in owners and row.sessions and pid in before and row.rank < before[pid].rank
    ]
    wins.sort(key=lambda w: (w[0], w[1].rank))
    return [row for _, row in wins]
