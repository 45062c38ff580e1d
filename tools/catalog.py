"""The agent's tools: one metrics call each, typed arguments, compact JSON envelopes.

Every result has the same envelope::

    {"tool": ..., "arguments": {...}, "as_of": ..., "window": {"from", "to", "range"},
     "filters": {...}, "data": {...}, "rows": {"projects": {"total": 60, "shown": 10}}}

or, when the arguments cannot be honoured::

    {"tool": ..., "arguments": {...}, "error": "not_found" | "ambiguous" | "invalid" |
     "out_of_scope", "message": "...", "choices": [...]}

Tables are capped (``limit`` or the context's ``max_rows``) with their totals, so
a large answer never floods the model's context.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from metrics import lookups
from metrics.lookups.drift import drifting_users
from metrics.scope import ScopeError
from metrics.sections import section
from metrics.semantic.resolve import ResolveError
from metrics.semantic.search import search_entities
from tools import args as a
from tools import query as query_tool
from tools.context import ToolContext
from tools.glossary import define
from tools.resolve import build_scope, resolve_name


@dataclass(frozen=True)
class ToolSpec:
    name: str
    about: str | Callable[[], str]
    """Its description, or a function that writes it (from the registry) when asked."""
    schema: type[BaseModel] | Callable[[], type[BaseModel]]
    """Its argument model, or a function that builds it (from the registry) when asked."""
    run: Callable[[ToolContext, Connection, Any], dict[str, Any]]
    concepts: tuple[str, ...] = ()
    """Measures its answer is about beyond the keys it returns (an invite conversion is
    about invites and logins; "*": every measure, as risk signals are built on them), for
    the check that an answer used every mention of the question."""

    @property
    def description(self) -> str:
        return self.about if isinstance(self.about, str) else self.about()

    @property
    def args(self) -> type[BaseModel]:
        return self.schema if isinstance(self.schema, type) else self.schema()


def _dump(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    data.pop("scope", None)
    data.pop("section", None)
    return data


def _section(name: str, **fixed: Any) -> Callable[[ToolContext, Connection, Any], dict[str, Any]]:
    def run(ctx: ToolContext, conn: Connection, args: Any) -> dict[str, Any]:
        scope = build_scope(ctx, conn, args)
        options = {
            k: (getattr(args, v) if isinstance(v, str) else v(args)) for k, v in fixed.items()
        }
        options = {k: v for k, v in options.items() if v is not None}
        return {"_scope": scope, **_dump(section(name)(conn, scope, **options))}

    return run


def _never(ctx: ToolContext, conn: Connection, args: a.NeverLoggedInArgs) -> dict[str, Any]:
    scope = build_scope(ctx, conn, args)
    project = scope.filters.projects[0] if args.project else None
    account = scope.filters.accounts[0] if args.account else None
    result = lookups.never_logged_in(conn, scope, project=project, account=account, kind=args.kind)
    return {"_scope": scope, "_limit": args.limit, **_dump(result)}


def _inactive(ctx: ToolContext, conn: Connection, args: a.InactiveArgs) -> dict[str, Any]:
    scope = build_scope(ctx, conn, args)
    return {"_scope": scope, "_limit": args.limit, **_dump(drifting_users(conn, scope, args.days))}


def _risks(ctx: ToolContext, conn: Connection, args: a.RiskArgs) -> dict[str, Any]:
    scope = build_scope(ctx, conn, args)
    data = _dump(section("risks")(conn, scope))
    if args.signal:
        data["signals"] = [s for s in data["signals"] if s["signal"] == args.signal]
        data["signal"] = args.signal
    if args.level:
        data["projects"] = [p for p in data["projects"] if p["risk_level"] == args.level]
        data["level"] = args.level
    return {"_scope": scope, "_limit": args.limit, **data}


_PROFILES = {
    "project": lookups.project_profile,
    "account": lookups.account_profile,
    "partner": lookups.partner_profile,
    "user": lookups.user_profile,
}


def _profile(ctx: ToolContext, conn: Connection, args: a.ProfileArgs) -> dict[str, Any]:
    entity_id = resolve_name(ctx, conn, args.kind, args.name, exact=args.exact)
    window = args.model_dump(by_alias=True, include={"range", "from_", "to"})
    scope = build_scope(ctx, conn, a.ScopeArgs.model_validate(window))
    return {"_scope": scope, **_dump(_PROFILES[args.kind](conn, scope, entity_id))}


def _define(ctx: ToolContext, conn: Connection, args: a.DefineArgs) -> dict[str, Any]:
    return {"entries": define(args.term, store=ctx.store)}


def _search(ctx: ToolContext, conn: Connection, args: a.SearchArgs) -> dict[str, Any]:
    matches = search_entities(conn, ctx.workspace_id, args.text, limit=10)
    return {"matches": [m.model_dump(mode="json") for m in matches]}


def _table(default_sort: str) -> Callable[[Any], str]:
    return lambda args: args.sort or default_sort


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("query_metrics", query_tool.description, query_tool.query_args, query_tool.run),
    ToolSpec(
        "get_kpis",
        "KPI cards for a window: invites sent, logins, visits (sessions), tasks completed, "
        "average visit duration in seconds, unique users, page views, actions — with the "
        "previous period's values and the percent change. Use for 'how many logins this month', "
        "'are logins going up vs last month', totals and changes.",
        a.ScopeArgs,
        _section("kpis"),
        concepts=("logged_in",),
    ),
    ToolSpec(
        "get_trends",
        "The KPI series per day, week or month over a window (zero-filled). Use for trends: "
        "'are logins going up?', 'weekly visits this quarter'.",
        a.TrendArgs,
        _section("trends", bucket="bucket"),
    ),
    ToolSpec(
        "list_projects",
        "Project engagement table: per project invited, logged_in, sessions, "
        "avg_session_seconds, last_visit, last_action, tasks_completed, tasks_assigned, "
        "tasks_unassigned, tasks_overdue, with account, owner, status, playbook. Sort by any "
        "column: lowest engagement = sort sessions ascending; most overdue = sort tasks_overdue "
        "descending; invite-to-login conversion = invited and logged_in per project.",
        a.TableArgs,
        _section("projects", sort=_table("sessions"), descending=lambda x: bool(x.descending)),
        concepts=("invites_sent", "invited", "logged_in", "logins"),
    ),
    ToolSpec(
        "list_users",
        "Per-user rows for invited users of projects in scope: invited_at, first_login, "
        "last_visit, logins, sessions, tasks_completed, open_assigned_tasks.",
        a.TableArgs,
        _section("users", sort=_table("user"), descending=lambda x: bool(x.descending)),
    ),
    ToolSpec(
        "get_summary",
        "Summary of the projects in scope: number of projects, invites sent, logins, open "
        "unassigned tasks (flagged above a threshold) and overdue tasks.",
        a.ScopeArgs,
        _section("summary"),
    ),
    ToolSpec(
        "get_leaderboard",
        "Partner leaderboard: per partner users, sessions, page views, average visit duration, "
        "weighted score (40% sessions, 30% users, 20% page views, 10% duration, each relative "
        "to the best partner), rank, and 'why' (the four ratios). Use for top partners and why "
        "they rank there.",
        a.TableArgs,
        _section(
            "leaderboard",
            sort=_table("rank"),
            descending=lambda x: bool(x.descending),
            page_size="limit",
        ),
    ),
    ToolSpec(
        "get_top_content",
        "Most viewed resources and rooms in a window (views and unique users).",
        a.TableArgs,
        _section("content", limit="limit"),
        concepts=("page_views", "unique_users"),
    ),
    ToolSpec(
        "get_adoption",
        "Adoption and ROI: DAU/WAU/MAU and stickiness, feature utilization per action kind, "
        "mobile share of visits, KPIs by role, activation within 90 days of invite, "
        "self-service resolution rate, ticket-after-portal rate, deflection savings and ROI %.",
        a.AdoptionArgs,
        _section(
            "adoption",
            cost_per_ticket="cost_per_ticket",
            portal_cost="portal_cost",
            gain="gain",
        ),
        concepts=("logins", "logged_in", "sessions", "unique_users", "invited"),
    ),
    ToolSpec(
        "get_risks",
        "Risk signals with their rule, numbers, entity and a suggested next step: "
        "never_logged_in, inactive_project, low_invite_conversion, overdue_tasks, "
        "unassigned_tasks, declining_duration, dormant_partner (no sessions in 30 days), "
        "visits_without_actions; plus per-project health and risk level. Use for risk "
        "summaries and 'partners with no sessions in 30 days' (signal dormant_partner).",
        a.RiskArgs,
        _risks,
        concepts=("*",),
    ),
    ToolSpec(
        "find_never_logged_in",
        "Invited users who never logged in — overall, for a project, for an account, or only "
        "customers / only partners — with counts per project and per account.",
        a.NeverLoggedInArgs,
        _never,
        concepts=("logged_in", "logins", "invited", "invites_sent"),
    ),
    ToolSpec(
        "find_inactive_users",
        "Drifting users: visited before but not in the last N days (default 14).",
        a.InactiveArgs,
        _inactive,
        concepts=("sessions", "logins", "logged_in"),
    ),
    ToolSpec(
        "get_profile",
        "Everything about one project, customer account, partner or user: identity, owner, "
        "status, KPIs for the window, invites and logins, last visit, tasks, and its risks.",
        a.ProfileArgs,
        _profile,
        concepts=("*",),
    ),
    ToolSpec(
        "define_metric",
        "What a metric or term means and how it is computed (from the metrics glossary).",
        a.DefineArgs,
        _define,
    ),
    ToolSpec(
        "search_entities",
        "Find projects, accounts, partners, users or team members by (part of) their name.",
        a.SearchArgs,
        _search,
    ),
)
TOOL_NAMES = tuple(spec.name for spec in SPECS)
_BY_NAME = {spec.name: spec for spec in SPECS}


def _cap(data: dict[str, Any], limit: int) -> dict[str, dict[str, int]]:
    """Trim top-level lists to ``limit`` rows; return their totals."""
    rows = {}
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            rows[key] = {"total": len(value), "shown": min(len(value), limit)}
            data[key] = value[:limit]
    return rows


def run_tool(ctx: ToolContext, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run tool ``name`` with raw ``arguments``; always returns an envelope, never raises
    for a user-fixable problem."""
    spec = _BY_NAME[name]
    envelope: dict[str, Any] = {"tool": name, "arguments": arguments}
    started = time.perf_counter()
    try:
        parsed = spec.args.model_validate(arguments)
        with ctx.engine.connect() as conn:
            data = spec.run(ctx, conn, parsed)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return {**envelope, "error": "invalid", "message": problems}
    except ResolveError as exc:
        return {**envelope, "error": exc.kind, "message": str(exc), "choices": exc.choices}
    except (ScopeError, ValueError, LookupError) as exc:
        return {**envelope, "error": "invalid", "message": str(exc).strip("'\"")}
    scope = data.pop("_scope", None)
    limit = data.pop("_limit", None) or getattr(parsed, "limit", None) or ctx.max_rows
    if scope is not None:
        described = scope.describe()
        envelope.update(
            as_of=described["as_of"],
            window={k: described[k] for k in ("from", "to", "last_day", "range")},
            filters=described["filters"],
        )
    rows = _cap(data, min(limit, ctx.max_rows * 4))
    envelope["data"] = data
    if rows:
        envelope["rows"] = rows
    envelope["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return envelope


def build_tools(ctx: ToolContext) -> list[StructuredTool]:
    """LangChain tools bound to ``ctx`` (its workspace, as-of and fixed filters)."""

    def make(spec: ToolSpec) -> StructuredTool:
        def call(**kwargs: Any) -> str:
            fields = spec.args.model_fields
            arguments = {  # by their public names ("from", not from_), given values only
                (fields[k].alias if k in fields and fields[k].alias else k): v
                for k, v in kwargs.items()
                if v is not None and v != []
            }
            return json.dumps(run_tool(ctx, spec.name, arguments), default=str)

        return StructuredTool.from_function(
            func=call, name=spec.name, description=spec.description, args_schema=spec.args
        )

    return [make(spec) for spec in SPECS]
