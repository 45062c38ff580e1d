"""Risk signals and project health (SPEC §4.9).

Signals "before as_of" (never_logged_in, inactive_project, low_invite_conversion,
overdue_tasks, unassigned_tasks, declining_duration, dormant_partner) are anchored
on ``scope.as_of``; visits_without_actions looks at the window ``[start, until)``.
Scope filters choose which projects, partners and invited users are considered.
The rules and the risk level are in :mod:`metrics.sections._risks_rules`, the signal
rows (texts, numbers, severities) in :mod:`metrics.sections._risks_signals`; all of it
is documented in ``docs/metrics/risks.md``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Connection

from metrics.results import Result
from metrics.scope import Scope, iso
from metrics.sections._risks_entities import entity_facts
from metrics.sections._risks_facts import EntityFacts, invite_pairs, members
from metrics.sections._risks_rules import (
    SEVERITIES,
    SIGNALS,
    InvitedPortal,
    RiskThresholds,
    Signal,
    days_between,
    engagement_level,
    on_time_health,
    risk_level,
)
from metrics.sections._risks_signals import Builder
from metrics.semantic.vocabulary import REGISTRY

__all__ = [
    "SIGNALS",
    "InvitedPortal",
    "ProjectHealth",
    "RiskThresholds",
    "RisksResult",
    "Signal",
    "compute",
]

RISK_LEVELS = tuple(REGISTRY.levels)
"""Most urgent first, as the registry declares them."""


class ProjectHealth(BaseModel):
    """Health of one project in scope at as_of."""

    project_id: str
    project: str
    account_id: str
    account: str
    owner_id: str | None
    owner: str | None
    status: str
    on_time_health: str
    """on_track / at_risk / off_track / no_tasks_due."""
    overdue: int
    due: int
    """Tasks (existing at as_of) due before as_of's UTC date, done or not."""
    engagement_level: str
    """high / medium / low / none."""
    days_since_activity: int | None
    last_visit: datetime | None
    risk_level: str
    """high / medium / low, see :func:`metrics.sections._risks_rules.risk_level`."""
    risk_reasons: list[str]
    signals: list[str]
    """Every project signal that fired, drivers or not."""


class RisksResult(Result):
    """Risk signals (sorted by severity, signal, entity name), counts and project health."""

    section: str = "risks"
    signals: list[Signal]
    counts: dict[str, int]
    projects: list[ProjectHealth]
    thresholds: dict[str, int | float]


def _signal_key(row: Signal) -> tuple:
    return (SEVERITIES.index(row.severity), row.signal, row.entity, row.entity_id)


def _health(
    p: EntityFacts, fired: set[str], t: datetime, th: RiskThresholds, members: dict[str, str]
) -> ProjectHealth:
    health = on_time_health(p.tasks_overdue, p.tasks_due, th)
    days = days_between(p.last_visit, t)
    level, reasons = risk_level(health, fired)
    return ProjectHealth(
        project_id=p.entity_id,
        project=p.name,
        account_id=p.account_id,
        account=p.account,
        owner_id=p.owner_id,
        owner=members.get(p.owner_id or ""),
        status=p.status or "",
        on_time_health=health,
        overdue=p.tasks_overdue,
        due=p.tasks_due,
        engagement_level=engagement_level(days, th),
        days_since_activity=days,
        last_visit=p.last_visit,
        risk_level=level,
        risk_reasons=reasons,
        signals=[s for s in SIGNALS if s in fired],
    )


def compute(
    conn: Connection, scope: Scope, thresholds: RiskThresholds | None = None
) -> RisksResult:
    """Every risk signal for the entities in scope, with per-project health and risk level."""
    th = thresholds or RiskThresholds()
    t = scope.as_of
    names = members(conn, scope.workspace_id)
    facts = entity_facts(conn, scope, t, th.declining_days)
    projects, partners = facts.projects, facts.partners
    pairs = invite_pairs(conn, scope, t)
    for pair in pairs:
        project = projects.get(pair.project_id) if pair.project_id else None
        if project is not None:
            project.users += 1
            project.logged_in += pair.logged_in
    build = Builder(names, th, t, (iso(scope.start), iso(scope.until)))
    signals = build.never_logged_in(pairs, projects)
    rows = []
    for p in projects.values():
        fired = build.project_signals(p)
        signals += fired
        rows.append(_health(p, {s.signal for s in fired}, t, th, names))
    for p in partners.values():
        signals += build.partner_signals(p)
    signals.sort(key=_signal_key)
    rows.sort(key=lambda r: (RISK_LEVELS.index(r.risk_level), r.project, r.project_id))
    counts = dict.fromkeys(SIGNALS, 0)
    for row in signals:
        counts[row.signal] += 1
    return RisksResult(
        scope=scope.describe(),
        signals=signals,
        counts=counts,
        projects=rows,
        thresholds=asdict(th),
    )
