"""Risk rules: thresholds, the signal row model, project health and the risk level.

Pure Python over :mod:`metrics.sections._risks_facts`; every comparison with a
fractional threshold is exact (:class:`fractions.Fraction`), so a value right at a
threshold lands on the documented side on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from pydantic import BaseModel

from metrics.scope import iso
from metrics.sections._risks_facts import EntityFacts
from metrics.semantic.vocabulary import REGISTRY

SIGNALS = tuple(REGISTRY.signals)
"""The risk signals, as declared (name, rule, synonyms) in the semantic registry."""
SEVERITIES = ("high", "medium", "low")
RISK_REASON_ORDER = (
    "on_time_health:off_track",
    "on_time_health:at_risk",
    "inactive_project",
    "overdue_tasks",
    "low_invite_conversion",
    "declining_duration",
    "unassigned_tasks",
    "visits_without_actions",
)


@dataclass(frozen=True)
class RiskThresholds:
    """Every configurable number of the risk rules (SPEC §4.9 defaults)."""

    inactive_days: int = 14
    """inactive_project: no session in this many days before as_of."""
    min_invited: int = 3
    """low_invite_conversion: only projects with at least this many invited users."""
    conversion_below: float = 0.5
    """low_invite_conversion: fires when logged_in ÷ invited is below this."""
    declining_days: int = 14
    """declining_duration: length of each of the two periods compared."""
    declining_ratio: float = 0.5
    """declining_duration: fires when recent mean < this × earlier mean."""
    dormant_days: int = 30
    """dormant_partner: no partner-portal session in this many days before as_of."""
    unassigned_threshold: int = 10
    """unassigned_tasks: severity medium above this many open unassigned tasks."""
    invite_medium_days: int = 7
    """never_logged_in: severity medium once the oldest unanswered invite is this old."""
    invite_high_days: int = 30
    """never_logged_in: severity high once the oldest unanswered invite is this old."""
    on_track_below: float = 0.2
    """on-time health: on_track when overdue ÷ due is below this."""
    off_track_above: float = 0.6
    """on-time health: off_track when overdue ÷ due is above this."""
    engagement_high_days: int = 5
    """engagement level high: last visit at most this many days ago."""
    engagement_medium_days: int = 10
    """engagement level medium: last visit at most this many days ago (else low)."""


class InvitedPortal(BaseModel):
    """A portal a user was invited to and never logged in to."""

    project_id: str | None
    """None for the partner portal."""
    project: str | None
    invited_at: datetime


class Signal(BaseModel):
    """One risk signal about one entity, with its rule, figures and a next step."""

    signal: str
    entity_type: str
    """user, project or partner."""
    entity_id: str
    entity: str
    account_id: str | None
    account: str | None
    owner_id: str | None
    owner: str | None
    rule: str
    numbers: dict[str, int | float | str | None]
    severity: str
    next_step: str
    portals: list[InvitedPortal] | None = None
    """never_logged_in only: the invited portals without a login."""


def last_day(t: datetime) -> datetime:
    """The UTC date whose end is ``t`` or that contains ``t`` (``t`` minus 1 ms)."""
    return (t - timedelta(milliseconds=1)).astimezone(UTC)


def days_between(earlier: datetime | None, t: datetime) -> int | None:
    """Calendar days from ``earlier``'s UTC date to the last day counted at ``t``."""
    if earlier is None:
        return None
    return (last_day(t).date() - earlier.astimezone(UTC).date()).days


def moment(t: datetime) -> str:
    """``t`` in words for rule texts: "the end of D" for a midnight, else ISO 8601."""
    if t.astimezone(UTC).time() == datetime.min.time():
        return f"the end of {last_day(t).date().isoformat()}"
    return iso(t)


def exact(value: float) -> Fraction:
    return Fraction(str(value))


def on_time_health(overdue: int, due: int, th: RiskThresholds) -> str:
    """on_track / at_risk / off_track by overdue ÷ due; no_tasks_due when nothing is due."""
    if not due:
        return "no_tasks_due"
    share = Fraction(overdue, due)
    if share < exact(th.on_track_below):
        return "on_track"
    if share > exact(th.off_track_above):
        return "off_track"
    return "at_risk"


def engagement_level(days: int | None, th: RiskThresholds) -> str:
    """high / medium / low by days since the last visit; none when never visited."""
    if days is None:
        return "none"
    if days <= th.engagement_high_days:
        return "high"
    if days <= th.engagement_medium_days:
        return "medium"
    return "low"


def declining(facts: EntityFacts, th: RiskThresholds) -> bool:
    """Recent mean duration under ``declining_ratio`` × the earlier mean, both with sessions."""
    recent, before = facts.recent, facts.before
    if not (recent.count and before.count):
        return False
    return Fraction(recent.total_ms * before.count) < exact(th.declining_ratio) * Fraction(
        before.total_ms * recent.count
    )


def risk_level(health: str, fired: set[str]) -> tuple[str, list[str]]:
    """A project's risk level and the reasons that set it.

    * high: on-time health off_track, or inactive_project together with overdue_tasks
      or low_invite_conversion;
    * medium: on-time health at_risk, or any of inactive_project, overdue_tasks,
      low_invite_conversion, declining_duration;
    * low: otherwise; its reasons are the minor signals present (unassigned_tasks,
      visits_without_actions), possibly none.
    """
    reasons: set[str] = set()
    if health == "off_track":
        reasons.add("on_time_health:off_track")
    if "inactive_project" in fired:
        for partner in ("overdue_tasks", "low_invite_conversion"):
            if partner in fired:
                reasons |= {"inactive_project", partner}
    if reasons:
        return "high", _ordered(reasons)
    if health == "at_risk":
        reasons.add("on_time_health:at_risk")
    reasons |= fired & {
        "inactive_project",
        "overdue_tasks",
        "low_invite_conversion",
        "declining_duration",
    }
    if reasons:
        return "medium", _ordered(reasons)
    return "low", _ordered(fired & {"unassigned_tasks", "visits_without_actions"})


def _ordered(reasons: set[str]) -> list[str]:
    return [r for r in RISK_REASON_ORDER if r in reasons]
