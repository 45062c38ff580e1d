"""Adoption and ROI (SPEC §4.8): who uses the portals, how, and what it saves in support.

* ``dau`` / ``wau`` / ``mau``: distinct users with a session starting on as_of's
  date D / in the 7 / 30 days ending D (relative to as_of, not to the window);
  ``stickiness = dau ÷ mau``.
* ``feature_utilization``: per action kind, users with a session in the window who
  performed it in the window ÷ users with a session in the window.
* ``mobile_share``: sessions in the window whose first event was on ``mobile`` ÷ sessions.
* ``by_role``: the KPI cards (:mod:`metrics.sections.kpis`) per user role.
* ``activation``: among users first invited at least 90 days before the window end,
  the share who logged in within 90 days of that first invite (benchmark 60%).
* tickets created in the window (a ticket is in scope when its user's account is):
  ``self_service_rate`` and ``ticket_after_portal_rate``.
* ``deflection``: self-service tickets × cost per ticket; ``roi_pct = (gain − cost) ÷ cost``
  when the caller gives the portal cost (gain defaults to the deflection savings).
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from pydantic import BaseModel
from sqlalchemy import Connection

from metrics.results import Result, ratio
from metrics.scope import Scope
from metrics.sections._adoption_support import (
    ACTIVATION_BENCHMARK,
    ACTIVATION_DAYS,
    TICKET_LOOKBACK_MS,
    activation,
    tickets,
)
from metrics.sections._adoption_usage import (
    NO_ROLE,
    active_users,
    feature_users,
    kpis_by_role,
)
from metrics.sections.kpis import KpiValues

DEFAULT_COST_PER_TICKET = 10.0

__all__ = ["NO_ROLE", "AdoptionResult", "compute"]


class FeatureUse(BaseModel):
    action: str
    users: int
    share: float | None
    """``users`` ÷ users with a session in the window; None when nobody had a session."""


class RoleKpis(BaseModel):
    role: str
    """The users' role; ``unassigned`` for users without one (and tasks without assignee)."""
    kpis: KpiValues


class ActivationResult(BaseModel):
    days: int
    eligible: int
    activated: int
    rate: float | None
    benchmark: float
    meets_benchmark: bool | None


class Deflection(BaseModel):
    self_service_tickets: int
    cost_per_ticket: float
    savings: float


class AdoptionResult(Result):
    section: str = "adoption"
    active_date: date
    """D: the date DAU is counted on (WAU / MAU end on it)."""
    dau: int
    wau: int
    mau: int
    stickiness: float | None
    users_with_session: int
    feature_utilization: list[FeatureUse]
    sessions: int
    mobile_sessions: int
    mobile_share: float | None
    by_role: list[RoleKpis]
    activation: ActivationResult
    tickets: int
    self_service_tickets: int
    self_service_rate: float | None
    tickets_after_portal: int
    ticket_after_portal_rate: float | None
    ticket_lookback_hours: int = TICKET_LOOKBACK_MS // 3_600_000
    """How long before a ticket a portal visit counts as "just before" it."""
    deflection: Deflection
    gain: float | None
    """The gain used for ROI: the caller's, or the deflection savings when only a cost is given."""
    portal_cost: float | None
    roi_pct: float | None


def roi_pct(gain: float, portal_cost: float) -> float:
    """Return on investment in percent, one decimal: (gain − cost) ÷ cost × 100."""
    return round((gain - portal_cost) / portal_cost * 100, 1)


def compute(
    conn: Connection,
    scope: Scope,
    cost_per_ticket: float = DEFAULT_COST_PER_TICKET,
    portal_cost: float | None = None,
    gain: float | None = None,
) -> AdoptionResult:
    """Adoption, activation, support and ROI figures for the scope."""
    if cost_per_ticket < 0:
        raise ValueError(f"cost_per_ticket cannot be negative (got {cost_per_ticket})")
    if portal_cost is not None and portal_cost <= 0:
        raise ValueError(f"portal_cost must be more than 0 (got {portal_cost})")
    active = active_users(conn, scope)
    by_role, window = kpis_by_role(conn, scope)
    features = feature_users(conn, scope)
    activated = activation(conn, scope)
    support = tickets(conn, scope)
    rate = ratio(activated.activated, activated.eligible)
    savings = round(support.self_service * cost_per_ticket, 2)
    used_gain = None if portal_cost is None else (savings if gain is None else gain)
    return AdoptionResult(
        scope=scope.describe(),
        active_date=scope.as_of_date,
        dau=active.dau,
        wau=active.wau,
        mau=active.mau,
        stickiness=ratio(active.dau, active.mau),
        users_with_session=window.users,
        feature_utilization=[
            FeatureUse(action=a, users=n, share=ratio(n, window.users)) for a, n in features.items()
        ],
        sessions=window.sessions,
        mobile_sessions=window.mobile,
        mobile_share=ratio(window.mobile, window.sessions),
        by_role=[RoleKpis(role=r, kpis=v) for r, v in by_role.items()],
        activation=ActivationResult(
            days=ACTIVATION_DAYS,
            eligible=activated.eligible,
            activated=activated.activated,
            rate=rate,
            benchmark=ACTIVATION_BENCHMARK,
            meets_benchmark=None
            if not activated.eligible
            else Fraction(activated.activated, activated.eligible)
            >= Fraction(str(ACTIVATION_BENCHMARK)),
        ),
        tickets=support.tickets,
        self_service_tickets=support.self_service,
        self_service_rate=ratio(support.self_service, support.tickets),
        tickets_after_portal=support.after_portal,
        ticket_after_portal_rate=ratio(support.after_portal, support.tickets),
        deflection=Deflection(
            self_service_tickets=support.self_service,
            cost_per_ticket=cost_per_ticket,
            savings=savings,
        ),
        gain=used_gain,
        portal_cost=portal_cost,
        roi_pct=None if used_gain is None else roi_pct(used_gain, portal_cost),  # type: ignore[arg-type]
    )
