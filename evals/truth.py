"""Ground truth, computed at eval time by calling the metrics layer directly.

Every function here takes a :class:`TruthContext` (connection, workspace, as-of,
the case's fixed filters) and keyword arguments from the case file, and returns
a :class:`Truth`. They call ``metrics.sections``, ``metrics.lookups``,
``metrics.lookups.drift`` and the general query ``metrics.semantic.query.run_query`` —
the same functions the tools wrap — and never the agent or
the tools, and never hold a number of their own: when a metric's definition
changes, the expected answers change with it. What the evals check is that the
assistant asked the right tool with the right scope and reported its figures
faithfully (``tests/test_evals.py`` breaks a section under the assistant only, and
the run fails).

Scope arguments every function accepts: ``range`` or ``from``/``to``,
``owner``, ``account``, ``project``, ``playbook``, ``partner_type``, ``status``
(names or ids, as the CLI takes them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, select

from metrics import lookups
from metrics.lookups.drift import drifting_users
from metrics.models import Account, Project, Resource, Room, TeamMember, User
from metrics.scope import Scope, resolve_scope
from metrics.sections import section
from metrics.semantic.params import FilterParams, ScopeParams
from metrics.semantic.query import QueryError, parse_query, run_query
from metrics.semantic.search import search_entities


class TruthError(ValueError):
    """A truth function called with arguments it cannot use."""


@dataclass
class Truth:
    """The expected answer: a figure, a yes/no, names (in order), or all of them."""

    value: Any = None
    names: list[str] = field(default_factory=list)
    universe: list[str] = field(default_factory=list)
    """Every name of the kind ``names`` is drawn from: what counts as "a name" in an answer."""
    ids: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)

    def show(self) -> dict[str, Any]:
        """What the report prints as the expected value."""
        out: dict[str, Any] = {}
        if self.value is not None:
            out["value"] = self.value
        if self.names:
            out["names"] = self.names[:15]
        if self.mentions:
            out["mentions"] = self.mentions
        return out

    def take(self, path: str) -> Any:
        """``value``, ``names.0``, ``ids.1``: one part, for ``bind``."""
        head, _, index = path.partition(".")
        if head not in ("value", "names", "ids", "mentions"):
            raise TruthError(f"take: {path!r} is not value, names.N, ids.N or mentions.N")
        part = getattr(self, head)
        if not index:
            return part
        try:
            return part[int(index)]
        except (IndexError, ValueError):
            raise TruthError(f"take: {path!r} is out of range ({len(part)} items)") from None


@dataclass
class TruthContext:
    conn: Connection
    workspace_id: int
    as_of: str
    fixed: dict[str, Any] = field(default_factory=dict)
    """The case's ``scope``: filters the question is asked under (ids or names)."""

    def scope(self, **given: Any) -> Scope:
        """The scope of SPEC §3's names in ``given`` (``range`` or ``from``/``to``, the
        filters), as of the case's date, inside the case's fixed filters."""
        params = ScopeParams.model_validate(given)
        fixed = FilterParams.model_validate(self.fixed)
        return resolve_scope(
            self.conn,
            self.workspace_id,
            as_of=self.as_of,
            range=params.range,
            start=params.from_,
            end=params.to,
            owner=params.owner or fixed.owner,
            accounts=params.account or fixed.account,
            playbook=params.playbook or fixed.playbook,
            partner_type=params.partner_type or fixed.partner_type,
            status=params.status or fixed.status,
            projects=params.project or fixed.project,
        )


TruthFn = Callable[..., Truth]
TRUTHS: dict[str, TruthFn] = {}


def truth(fn: TruthFn) -> TruthFn:
    TRUTHS[fn.__name__] = fn
    return fn


def evaluate(ctx: TruthContext, fn: str, args: dict[str, Any]) -> Truth:
    """Run truth function ``fn`` with ``args``; unknown functions or arguments say so."""
    if fn not in TRUTHS:
        raise TruthError(f"unknown truth function {fn!r} (one of: {', '.join(sorted(TRUTHS))})")
    try:
        return TRUTHS[fn](ctx, **args)
    except TypeError as exc:
        raise TruthError(f"{fn}: {exc}") from None


def _pick(model: BaseModel | dict[str, Any], path: str) -> Any:
    """A dotted field of a result (``activation.rate``, ``kpis.logins``)."""
    value: Any = model
    for part in path.split("."):
        if isinstance(value, BaseModel):
            if part not in type(value).model_fields:
                raise TruthError(f"no field {part!r} in {type(value).__name__} (path {path!r})")
            value = getattr(value, part)
        elif isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            try:
                value = value[int(part)]
            except IndexError:
                raise TruthError(f"index {part} out of range (path {path!r})") from None
        else:
            raise TruthError(f"no field {part!r} (path {path!r})")
    return value


def _all_names(conn: Connection, ws: int, column: Any) -> list[str]:
    """Every name of an entity kind: what an answer's names are recognized against."""
    table = column.class_
    return [n for n in conn.scalars(select(column).where(table.workspace_id == ws)) if n]


# -- KPI cards and trends ---------------------------------------------------------------


@truth
def kpi(ctx: TruthContext, metric: str, previous: bool = False, **scope: Any) -> Truth:
    """One KPI card (``previous``: the comparison period's value)."""
    result = section("kpis")(ctx.conn, ctx.scope(**scope))
    value = _pick(result.previous if previous else result.kpis, metric)
    return Truth(value=value)


@truth
def kpi_change(ctx: TruthContext, metric: str, **scope: Any) -> Truth:
    """Percent change of a KPI against the previous period; yes = it went up."""
    result = section("kpis")(ctx.conn, ctx.scope(**scope))
    change = result.change_pct.get(metric)
    return Truth(value=change, mentions=["up" if (change or 0) > 0 else "down"])


@truth
def trend(ctx: TruthContext, metric: str, bucket: str | None = None, **scope: Any) -> Truth:
    """A KPI series: ``value`` is True when the last bucket is above the first (rising),
    the way the product defines "going up" over a window."""
    result = section("trends")(ctx.conn, ctx.scope(**scope), bucket=bucket)
    series = [getattr(row, metric) for row in result.series]
    return Truth(value=len(series) > 1 and series[-1] > series[0], mentions=[result.bucket])


@truth
def trend_point(
    ctx: TruthContext, metric: str, index: int = -1, bucket: str | None = None, **scope: Any
) -> Truth:
    """One bucket of a KPI series (default the last)."""
    result = section("trends")(ctx.conn, ctx.scope(**scope), bucket=bucket)
    return Truth(value=getattr(result.series[index], metric))


# -- tables -----------------------------------------------------------------------------


def _row_named(rows: list[Any], attribute: str, name: str) -> int:
    """The index of the row whose ``attribute`` is ``name`` (case ignored)."""
    for i, row in enumerate(rows):
        if str(getattr(row, attribute) or "").casefold() == name.casefold():
            return i
    raise TruthError(f"no row with {attribute} {name!r}")


def _rows_where(rows: list[Any], where: dict[str, Any] | None) -> list[Any]:
    """Rows whose fields satisfy ``where`` ({field: {gt: 0}} or {field: value})."""
    if not where:
        return rows
    kept = []
    for row in rows:
        ok = True
        for name, rule in where.items():
            value = getattr(row, name)
            if isinstance(rule, dict):
                if "gt" in rule:
                    ok &= value is not None and value > rule["gt"]
                if "lt" in rule:
                    ok &= value is not None and value < rule["lt"]
            else:
                ok &= value == rule
        if ok:
            kept.append(row)
    return kept


@truth
def projects(
    ctx: TruthContext,
    sort: str = "sessions",
    descending: bool = False,
    limit: int = 10,
    field: str | None = None,
    row: int = 0,
    where: dict[str, Any] | None = None,
    name: str | None = None,
    **scope: Any,
) -> Truth:
    """The project engagement table in the product's sort; names are the first ``limit``.
    ``name`` picks the row of that project for ``field`` (``position``: its 1-based place
    in the whole sorted table)."""
    rows = section("projects")(ctx.conn, ctx.scope(**scope), sort=sort, descending=descending)
    kept = _rows_where(rows.projects, where)
    if name is not None:
        row = _row_named(kept, "project", name)
    if field == "position":
        value: Any = row + 1
    else:
        value = _pick(kept[row], field) if field and kept else (len(kept) if where else None)
    return Truth(
        value=value,
        names=[r.project for r in kept[:limit]],
        ids=[r.project_id for r in kept[:limit]],
        universe=_all_names(ctx.conn, ctx.workspace_id, Project.name),
    )


@truth
def users(
    ctx: TruthContext,
    sort: str = "user",
    descending: bool = False,
    limit: int = 10,
    field: str | None = None,
    row: int = 0,
    **scope: Any,
) -> Truth:
    """Per-user rows of the projects in scope."""
    rows = section("users")(ctx.conn, ctx.scope(**scope), sort=sort, descending=descending).users
    return Truth(
        value=_pick(rows[row], field) if field and rows else None,
        names=[r.user for r in rows[:limit]],
        universe=_all_names(ctx.conn, ctx.workspace_id, User.name),
    )


@truth
def summary(ctx: TruthContext, field: str, **scope: Any) -> Truth:
    """A summary figure; ``tasks_unassigned_flag`` as a yes/no."""
    return Truth(value=_pick(section("summary")(ctx.conn, ctx.scope(**scope)), field))


@truth
def leaderboard(
    ctx: TruthContext,
    limit: int = 10,
    sort: str = "rank",
    descending: bool = False,
    field: str | None = None,
    row: int = 0,
    name: str | None = None,
    **scope: Any,
) -> Truth:
    """Partner leaderboard rows in the product's order (rank 1 first by default);
    ``name`` picks that partner's row for ``field`` (``position``: its 1-based place)."""
    result = section("leaderboard")(
        ctx.conn, ctx.scope(**scope), sort=sort, descending=descending, page_size=100
    )
    rows = result.rows
    if name is not None:
        row = _row_named(rows, "partner", name)
    return Truth(
        value=(row + 1 if field == "position" else _pick(rows[row], field))
        if field and rows
        else None,
        names=[r.partner for r in rows[:limit]],
        ids=[r.partner_id for r in rows[:limit]],
        universe=[
            n
            for n, kind in ctx.conn.execute(
                select(Account.name, Account.kind).where(Account.workspace_id == ctx.workspace_id)
            )
            if kind == "partner"
        ],
    )


@truth
def content(
    ctx: TruthContext,
    kind: str = "resources",
    limit: int = 10,
    field: str | None = None,
    row: int = 0,
    **scope: Any,
) -> Truth:
    """Most viewed resources or rooms."""
    if kind not in ("resources", "rooms"):
        raise TruthError(f"content: kind must be resources or rooms, not {kind!r}")
    result = section("content")(ctx.conn, ctx.scope(**scope), limit=max(limit, 10))
    rows = getattr(result, kind)
    column = Resource.title if kind == "resources" else Room.name
    return Truth(
        value=_pick(rows[row], field) if field and rows else None,
        names=[(r.title if kind == "resources" else r.room) or "" for r in rows[:limit]],
        universe=_all_names(ctx.conn, ctx.workspace_id, column),
    )


@truth
def adoption(
    ctx: TruthContext,
    field: str,
    cost_per_ticket: float | None = None,
    portal_cost: float | None = None,
    gain: float | None = None,
    **scope: Any,
) -> Truth:
    """An adoption figure by dotted path (``mobile_share``, ``activation.rate``, ...)."""
    options = {"cost_per_ticket": cost_per_ticket, "portal_cost": portal_cost, "gain": gain}
    result = section("adoption")(
        ctx.conn, ctx.scope(**scope), **{k: v for k, v in options.items() if v is not None}
    )
    return Truth(value=_pick(result, field))


@truth
def feature(ctx: TruthContext, action: str, field: str = "share", **scope: Any) -> Truth:
    """Feature utilization of one action kind; ``names`` are all kinds by users, most first."""
    result = section("adoption")(ctx.conn, ctx.scope(**scope))
    rows = sorted(result.feature_utilization, key=lambda f: -f.users)
    match = [f for f in rows if f.action == action]
    if not match:
        raise TruthError(f"feature: no action kind {action!r}")
    return Truth(value=_pick(match[0], field), mentions=[action.replace("_", " ")])


# -- the general query (SPEC §6) ---------------------------------------------------------

_ENTITY_NAMES = {
    "project": Project.name,
    "account": Account.name,
    "owner": TeamMember.name,
    "room": Room.name,
    "resource": Resource.title,
}


def _label(row: dict[str, Any], dim: str) -> str:
    return str(row.get(f"{dim}_name") or row.get(dim) or "")


@truth
def query(
    ctx: TruthContext,
    measures: str | list[str],
    by: str | list[str] | None = None,
    where: str | list[str] | None = None,
    sort: str | None = None,
    descending: bool | None = None,
    limit: int | None = None,
    field: str | None = None,
    row: int = 0,
    name: str | None = None,
    **scope: Any,
) -> Truth:
    """The general query (``metrics.semantic.query.run_query``, what ``portalpulse query``
    and the ``query_metrics`` tool run), with the CLI's arguments (``where`` as
    ``"tasks_overdue > 5"``).

    ``value``: with no ``by``, the total of the first measure; with ``field``, that
    measure in row ``row`` (or in the row labelled ``name``; ``field: position`` is that
    row's 1-based place in the sorted rows); with ``where`` and no field, how many
    (labelled) groups match. ``names``: the rows' labels (the first ``by`` dimension) in
    order, without the unlabelled group (partner-portal activity has no project, room or
    resource).
    """
    try:
        spec = parse_query(measures, by, where, sort, descending, limit)
    except QueryError as exc:
        raise TruthError(f"query: {exc}") from None
    result = run_query(ctx.conn, ctx.scope(**scope), spec)
    rows = result.rows
    dim = spec.by[0] if spec.by else None
    if dim is not None and name is not None:
        matches = [i for i, r in enumerate(rows) if _label(r, dim).casefold() == name.casefold()]
        if not matches:
            raise TruthError(f"query: no {dim} row labelled {name!r}")
        row = matches[0]
    labelled = [r for r in rows if dim and _label(r, dim)]  # not the unlabelled group
    value: Any = None
    if field == "position":
        value = row + 1
    elif field is not None:
        if not rows:
            raise TruthError("query: no rows to take a field from")
        value = rows[row].get(field)
    elif dim is None:
        value = result.totals.get(spec.measures[0])
    elif spec.where:
        value = len(labelled)
    names = [_label(r, dim) for r in labelled] if dim else []
    column = _ENTITY_NAMES.get(dim or "")
    universe = _all_names(ctx.conn, ctx.workspace_id, column) if column is not None else names
    return Truth(
        value=value,
        names=names,
        ids=[str(r.get(dim)) for r in labelled] if dim else [],
        universe=universe,
    )


# -- risks and lookups ------------------------------------------------------------------


@truth
def risks(ctx: TruthContext, signal: str | None = None, limit: int = 15, **scope: Any) -> Truth:
    """Risk signals (optionally one kind): ``value`` the count, ``names`` the entities in the
    product's order, ``mentions`` the signal kinds that fired (as words)."""
    result = section("risks")(ctx.conn, ctx.scope(**scope))
    signals = [s for s in result.signals if signal is None or s.signal == signal]
    fired = [name for name, n in result.counts.items() if n and (signal in (None, name))]
    return Truth(
        value=result.counts[signal] if signal else sum(result.counts.values()),
        names=list(dict.fromkeys(s.entity for s in signals[:limit])),
        universe=sorted(
            {s.entity for s in result.signals}
            | set(_all_names(ctx.conn, ctx.workspace_id, Project.name))
        ),
        mentions=[name.replace("_", " ") for name in fired],
    )


@truth
def project_health(ctx: TruthContext, level: str, **scope: Any) -> Truth:
    """Projects at a risk level (``high``, ``medium``, ...), by the risks section."""
    result = section("risks")(ctx.conn, ctx.scope(**scope))
    rows = [p for p in result.projects if p.risk_level == level]
    return Truth(
        value=len(rows),
        names=[p.project for p in rows],
        universe=_all_names(ctx.conn, ctx.workspace_id, Project.name),
    )


@truth
def never_logged_in(
    ctx: TruthContext,
    kind: str | None = None,
    project_of: str | None = None,
    account_of: str | None = None,
    **scope: Any,
) -> Truth:
    """Invited users who never logged in: ``value`` how many, ``names`` who (as listed)."""
    result = lookups.never_logged_in(
        ctx.conn, ctx.scope(**scope), project=project_of, account=account_of, kind=kind
    )
    return Truth(
        value=result.total,
        names=list(dict.fromkeys(r.user for r in result.rows)),
        universe=_all_names(ctx.conn, ctx.workspace_id, User.name),
        mentions=[str(result.invited)],
    )


@truth
def drifting(ctx: TruthContext, days: int = 14, **scope: Any) -> Truth:
    """Users who visited before but not in the last ``days`` days, most recent first."""
    result = drifting_users(ctx.conn, ctx.scope(**scope), days)
    return Truth(
        value=result.total,
        names=[u.user for u in result.users],
        universe=_all_names(ctx.conn, ctx.workspace_id, User.name),
    )


_PROFILES = {
    "project": ("project", lookups.project_profile),
    "account": ("account", lookups.account_profile),
    "partner": ("account", lookups.partner_profile),
    "user": ("user", lookups.user_profile),
}


@truth
def profile(
    ctx: TruthContext,
    kind: str,
    name: str,
    field: str | None = None,
    range: str | None = None,
    **days: str,
) -> Truth:
    """A project, account, partner or user profile over ``range`` or ``from``/``to``
    (``days``); ``field`` by dotted path."""
    if kind not in _PROFILES:
        raise TruthError(f"profile: kind must be one of {', '.join(_PROFILES)}, not {kind!r}")
    what, fn = _PROFILES[kind]
    entity_id = lookups.resolve_id(ctx.conn, ctx.workspace_id, what, name)
    result = fn(ctx.conn, ctx.scope(range=range, **days), entity_id)
    return Truth(
        value=_pick(result, field) if field else None,
        names=[name],
        mentions=[s.signal.replace("_", " ") for s in getattr(result, "signals", [])],
    )


@truth
def entity_choices(ctx: TruthContext, text: str, kinds: list[str] | None = None) -> Truth:
    """The entities a partial name could mean (for ambiguous questions)."""
    found = search_entities(
        ctx.conn, ctx.workspace_id, text, kinds=tuple(kinds or lookups.KINDS), limit=10
    )
    return Truth(
        value=len(found),
        names=[m.name for m in found],
        ids=[m.id for m in found],
        universe=[m.name for m in found],
    )
