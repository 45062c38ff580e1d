"""The digest as data: what a template shows and what a summary may quote.

Built by :mod:`assistant.digest.content`; every number in it comes from a metrics
section or lookup.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class Card(BaseModel):
    key: str
    label: str
    value: int | float | None
    previous: int | float | None
    change_pct: float | None


class Risk(BaseModel):
    signal: str
    label: str
    entity_type: str
    entity_id: str
    entity: str
    account: str | None
    severity: str
    rule: str
    numbers: dict[str, Any]
    next_step: str
    link: str


class Win(BaseModel):
    kind: str
    """``went_live`` or ``climbed``."""
    entity_id: str
    entity: str
    account: str | None = None
    went_live_on: date | None = None
    rank: int | None = None
    previous_rank: int | None = None
    score: float | None = None
    link: str


class ChaseUser(BaseModel):
    user_id: str
    user: str
    email: str | None
    account: str
    portal: str
    days_since_invite: int


class ChaseTask(BaseModel):
    task_id: str
    task: str
    project: str
    account: str
    assignee: str | None
    due_on: date
    days_overdue: int


class TrendPoint(BaseModel):
    week: date
    """The Monday of the ISO week."""
    sessions: int
    unique_users: int


class MemberLink(BaseModel):
    member_id: str
    name: str
    link: str


class DigestContent(BaseModel):
    """Everything a digest shows; ``facts()`` is what the summary may quote."""

    workspace: str
    week: str
    first_day: date
    last_day: date
    recipient_id: str
    recipient: str
    email: str
    team: list[MemberLink]
    """The team's members for a manager's digest; empty for an own-book digest."""
    cards: list[Card]
    risks: list[Risk]
    risks_total: int
    risks_by_severity: dict[str, int]
    wins: list[Win]
    never_logged_in: list[ChaseUser]
    never_logged_in_total: int
    overdue_tasks: list[ChaseTask]
    overdue_tasks_total: int
    trend: list[TrendPoint]
    dashboard_link: str
    unsubscribe_link: str = ""

    def card(self, key: str) -> Card:
        return next(c for c in self.cards if c.key == key)

    def facts(self) -> dict[str, Any]:
        """The figures a summary may state (links and addresses left out)."""
        data = self.model_dump(
            mode="json",
            exclude={"dashboard_link", "unsubscribe_link", "email", "team"},
        )
        for group in ("risks", "wins"):
            for item in data[group]:
                item.pop("link", None)
        return data
