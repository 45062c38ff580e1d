"""Typed tool arguments whose descriptions teach a model the scope vocabulary."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from metrics.ingest.contract import PROJECT_STATUSES
from metrics.scope import RANGES

RangeName = Literal[RANGES]  # type: ignore[valid-type]
Status = Literal[PROJECT_STATUSES]  # type: ignore[valid-type]


class ScopeArgs(BaseModel):
    """When and whose data: every metric tool takes these."""

    model_config = ConfigDict(extra="forbid")

    range: RangeName | None = Field(
        None,
        description=(
            "Named window relative to today (as_of): last_7_days, last_14_days, "
            "last_30_days (default), last_90_days, this_month, this_quarter, this_year, "
            "last_month, last_quarter, last_year. Use either range or from_date/to_date."
        ),
    )
    from_date: str | None = Field(
        None, description="First day of an explicit window, YYYY-MM-DD (needs to_date)."
    )
    to_date: str | None = Field(None, description="Last day of the window, YYYY-MM-DD, inclusive.")
    owner: str | None = Field(
        None,
        description="Team member (owner, CSM) name, email or id: their projects and partners.",
    )
    account: str | None = Field(None, description="A customer or partner account, by name or id.")
    project: str | None = Field(None, description="A project (onboarding), by name or id.")
    playbook: str | None = Field(None, description="Projects of this playbook only.")
    partner_type: Literal["referral", "reseller"] | None = Field(
        None, description="Partners of this type only (drops customer projects)."
    )
    status: Status | None = Field(None, description="Projects in this status only.")


class TableArgs(ScopeArgs):
    sort: str | None = Field(
        None,
        description="Column to sort by (e.g. sessions, logged_in, tasks_overdue, last_visit).",
    )
    descending: bool | None = Field(
        None, description="True for highest first (top, most), false for lowest first (least)."
    )
    limit: int = Field(10, ge=1, le=100, description="How many rows to return.")


class TrendArgs(ScopeArgs):
    bucket: Literal["day", "week", "month"] | None = Field(
        None, description="Bucket size; chosen from the window length when omitted."
    )


class AdoptionArgs(ScopeArgs):
    cost_per_ticket: float = Field(
        10.0, gt=0, description="Cost of one agent-handled ticket, for deflection savings."
    )
    portal_cost: float | None = Field(None, gt=0, description="Cost of the portal, for ROI %.")
    gain: float | None = Field(None, description="Gain to set against the portal cost, for ROI %.")


class RiskArgs(ScopeArgs):
    signal: (
        Literal[
            "never_logged_in",
            "inactive_project",
            "low_invite_conversion",
            "overdue_tasks",
            "unassigned_tasks",
            "declining_duration",
            "dormant_partner",
            "visits_without_actions",
        ]
        | None
    ) = Field(None, description="Only this risk signal; all signals when omitted.")
    limit: int = Field(15, ge=1, le=100, description="How many signals to return.")


class NeverLoggedInArgs(ScopeArgs):
    kind: Literal["customer", "partner"] | None = Field(
        None, description="Only users of customer accounts, or of partner accounts."
    )
    limit: int = Field(25, ge=1, le=100, description="How many users to list.")


class InactiveArgs(ScopeArgs):
    days: int = Field(14, ge=1, le=365, description="No visit in at least this many days.")
    limit: int = Field(25, ge=1, le=100, description="How many users to list.")


class ProfileArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["project", "account", "partner", "user"] = Field(
        description="What to describe: a project, a customer account, a partner, or a user."
    )
    name: str = Field(description="Its name or id.")
    range: RangeName | None = Field(None, description="Window for its activity figures.")


class DefineArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: str = Field(description="The metric or word to explain, e.g. 'avg visit duration'.")


class SearchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="A name or part of one.")
