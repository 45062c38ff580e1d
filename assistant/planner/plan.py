"""Question → tool call, deterministically.

1. The nearest example questions (MiniLM embeddings in the vector store) give
   the tool, its base arguments and the figure to lead with.
2. Slots found in the question — window, names, direction, limit, kind,
   status, sort column — override those arguments.
3. A follow-up ("and last month?", "which of them are partners?", "tell me more
   about the second one") reuses the previous turn's tool call, changed by the
   new slots, or drills into a row of its result.
4. Nothing close enough, or nearest to the "cannot answer" examples, gives no
   tool call: the answer says so and suggests questions that can be answered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from assistant.answers import q
from assistant.planner.entities import EntityIndexCache, Mention, _words
from assistant.planner.extract import (
    Slots,
    define_term,
    extract,
    is_follow_up,
    strip_instructions,
)
from assistant.planner.parse import fold, measure_phrases, parse
from assistant.planner.periods import MONTHS, normalise_time_words
from assistant.planner.route import (
    KPI_MEASURES,
    adoption,
    by_time,
    compared,
    compared_entities,
    count_of_rows,
    dimension_value,
    entity_filters,
    feature_use,
    filtered_value,
    gone_quiet,
    grouped_query,
    leading_partners,
    never_logged_in,
    out_of_scope,
    partners_by_measure,
    position,
    projects_in_status,
    risk_level,
    risk_signal,
    scope_of,
)
from metrics.sections.summary import SummaryResult
from metrics.semantic.vocabulary import REGISTRY
from tools.args import argument_names
from tools.catalog import SPECS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples.yaml"
MIN_SIMILARITY = 0.42
"""Below this, the nearest example is too far: the question is not understood."""
FOLLOW_UP_SIMILARITY = 0.62
"""A short question this far from every example leans on the previous turn."""
NO_TOOL = "none"
STARTERS = (
    "Which projects have the lowest portal engagement this month?",
    "Who never logged in?",
    "Summarize the risks in my portfolio",
)
"""Suggested when a question is outside what the portal data can answer."""
_ARGS = {spec.name: spec.args for spec in SPECS}
_TABLE_SORTS = {
    "list_projects": {
        "conversion", "tasks_overdue", "tasks_unassigned", "tasks_completed", "last_visit",
        "avg_session_seconds", "logged_in", "invited", "sessions",
    },
    "list_users": {"last_visit", "sessions", "logins", "tasks_completed"},
}  # fmt: skip
_SORT_ALIASES = {("list_users", "logged_in"): "logins"}
"""A slot read for one table that another table names differently."""
_ENTITY_ARG = {
    "project": "project", "account": "account", "partner": "account", "member": "owner",
    "playbook": "playbook",
}  # fmt: skip


@dataclass(frozen=True)
class SeedExample:
    question: str
    tool: str
    args: dict[str, Any]


def seed_examples(path: Path = EXAMPLES) -> list[SeedExample]:
    """The example-question bank, one row per paraphrase (focus stored as ``_focus``)."""
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        SeedExample(
            question,
            group["tool"],
            {
                **(group.get("args") or {}),
                **({"_focus": group["focus"]} if "focus" in group else {}),
            },
        )
        for group in groups
        for question in group["questions"]
    ]


@dataclass
class Plan:
    tool: str | None
    args: dict[str, Any] = field(default_factory=dict)
    focus: str | None = None
    similarity: float = 0.0
    follow_up: bool = False
    suggestions: list[str] = field(default_factory=list)
    clarify: str | None = None
    """What to ask for when a needed name is missing (project, account, user)."""
    extra: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """More calls made in the same step (the second period of a comparison)."""
    refused: str | None = None
    """What the question asks for that no data here holds ("NPS", "reassign")."""
    changed: str | None = None
    """For a follow-up: what it changed in the previous question ("for “Kestrel Farms”")."""

    @property
    def outcome(self) -> str:
        """``tool`` (calls planned), ``clarify`` (a name is needed), ``refused`` (asks for
        what no data here holds, or a forecast) or ``unsupported`` (not placed at all)."""
        if self.tool:
            return "tool"
        if self.clarify:
            return "clarify"
        return "refused" if self.refused else "unsupported"


@dataclass
class Previous:
    """The last turn's tool call and result, for follow-ups."""

    tool: str
    args: dict[str, Any]
    result: dict[str, Any] | None
    focus: str | None = None
    """The figure or entity the previous answer led with ("rank:Kestrel Farms")."""


def previous_turn(history: list[BaseMessage]) -> Previous | None:
    """The last tool call made before the current question, with its result."""
    for i in range(len(history) - 1, -1, -1):
        message = history[i]
        if isinstance(message, AIMessage) and message.tool_calls:
            call = message.tool_calls[0]
            result = None
            for later in history[i + 1 :]:
                if isinstance(later, ToolMessage) and later.tool_call_id == call["id"]:
                    try:
                        result = json.loads(later.content)  # type: ignore[arg-type]
                    except (TypeError, ValueError):
                        result = None
                    break
            focus = (message.response_metadata or {}).get("planner", {}).get("focus")
            return Previous(call["name"], dict(call["args"]), result, focus)
    return None


def _allowed(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Only arguments the tool takes, with values it accepts (bad ones dropped)."""
    schema = _ARGS[tool]
    names = argument_names(schema)
    kept = {k: v for k, v in args.items() if k in names and v is not None}
    try:
        schema.model_validate(kept)
    except ValidationError as exc:
        for error in exc.errors():
            if error["loc"]:
                kept.pop(str(error["loc"][0]), None)
    return kept


def _apply_slots(tool: str, args: dict[str, Any], slots: Slots, mentions: list[Mention]) -> None:
    """Question slots over the example's arguments (in place)."""
    fields = argument_names(_ARGS[tool])
    window = slots.window
    if window and "range" in fields:
        for key in ("range", "from", "to"):
            args.pop(key, None)
        args.update(window)
    if tool == "find_inactive_users" and slots.span_days:
        args["days"] = slots.span_days
        for key in ("range", "from", "to"):
            args.pop(key, None)
    for mention in mentions:
        key = _ENTITY_ARG.get(mention.kind)
        if key in fields and key not in args:
            args[key] = mention.name if mention.full else mention.text
    if slots.limit and "limit" in fields:
        args["limit"] = slots.limit
    if tool in _TABLE_SORTS:
        sort = _SORT_ALIASES.get((tool, slots.sort), slots.sort)
        if sort in _TABLE_SORTS[tool]:
            args["sort"] = sort
        if slots.descending is not None:
            args["descending"] = slots.descending
    if tool == "get_leaderboard" and slots.descending is False:
        args.update(sort="score", descending=False)
    if tool == "find_never_logged_in" and slots.kind and "account" not in args:
        args["kind"] = slots.kind
    if slots.partner_type and "partner_type" in fields:
        args["partner_type"] = slots.partner_type
    if slots.status and "status" in fields:
        args["status"] = slots.status
    for name in ("portal_cost", "cost_per_ticket", "gain"):
        if getattr(slots, name) and name in fields:
            args[name] = getattr(slots, name)
    if slots.bucket and "bucket" in fields:
        args["bucket"] = slots.bucket


def _profile_args(
    args: dict[str, Any], mentions: list[Mention], slots: Slots
) -> tuple[dict[str, Any], str | None]:
    """``get_profile`` needs a name: from a mention or quotes, else ask for one. The
    question's period ("last month", "in October") is the profile's window."""
    wanted = args.get("kind", "project")
    kinds = {"project": "project", "account": "account", "partner": "partner", "user": "user"}
    period = dict(slots.window)
    ranked = sorted(mentions, key=lambda m: (kinds.get(m.kind) != wanted, not m.full))
    for mention in ranked:
        if mention.kind in kinds:
            return {**args, "kind": kinds[mention.kind], "name": mention.name, **period}, None
    if slots.quoted:
        return {**args, "name": slots.quoted[0], **period}, None
    return args, wanted


class Planner:
    """Plans one question; cheap to create, holds no per-question state."""

    def __init__(
        self,
        store: Any,
        entities: EntityIndexCache,
        workspace_id: int,
        today: date,
        default_window: dict[str, str] | None = None,
    ) -> None:
        self.default_window = dict(default_window or {})
        """The page's period: a question that names none is about it."""
        self.store = store
        self.entities = entities
        self.workspace_id = workspace_id
        self.workspace = str(workspace_id)
        self.today = today

    def plan(self, question: str, history: list[BaseMessage]) -> Plan:
        question, _instructed = strip_instructions(question)
        if not question:  # nothing left but instructions to the assistant
            return Plan(None, suggestions=list(STARTERS))
        index = self.entities.get(self.workspace_id)
        question = index.correct(question)
        slots = extract(question, self.today)
        if slots.future:  # no forecasts: every figure is about what already happened
            return Plan(None, suggestions=self.suggestions(question), refused="forecast")
        mentions = index.find(question)
        refused = out_of_scope(question, _without_names(question, mentions))
        if refused:
            return Plan(None, suggestions=self.suggestions(question), refused=refused)
        unknown = _unknown_name(question) or index.unknown_project(question, mentions)
        if unknown and " " in unknown and not _covered(unknown, mentions):
            # "how is Redwood Logistics doing?" with only a Redwood Retail here: say so
            kind = _kind_asked(question)
            return Plan("get_profile", {"kind": kind, "name": unknown, "exact": True}, None, 1.0)
        unclear = index.ambiguous(question, mentions)
        if unclear:
            return Plan("search_entities", {"text": unclear}, None, 1.0)
        first = index.shared_first_name(question, mentions)
        if first and not any(m.kind == "user" and m.full for m in mentions):
            return Plan("search_entities", {"text": first}, None, 1.0)
        matches = self.store.search_examples(
            normalise_time_words(_generic(question, mentions)), k=5, workspace=self.workspace
        )
        if matches and matches[0].tool == "get_profile" and not _refers(question, mentions):
            unknown = _proper_name(question)
            if unknown:
                # "How is Globex doing?": a name nobody here has. Look it up, so the answer
                # says it found no account called that, rather than a vague refusal.
                args = {"kind": "account", "name": unknown, "exact": True}
                return Plan("get_profile", args, None, matches[0].similarity)
            # "Write me a poem about onboarding" is near "status of the onboarding project",
            # but names no entity and refers to none: it is not a profile question.
            matches = [m for m in matches if m.tool != "get_profile"]
        best = matches[0] if matches else None
        similarity = best.similarity if best else 0.0
        previous = previous_turn(history)
        has_slots = bool(slots.window or mentions or slots.kind or slots.status or slots.ordinal)
        if previous and (
            is_follow_up(question)
            or (len(question.split()) <= 5 and similarity < FOLLOW_UP_SIMILARITY and has_slots)
        ):
            plan = self._follow_up(question, previous, slots, mentions, similarity)
            plan.changed = (
                _changed(previous.args, plan.args) if plan.tool == previous.tool else None
            )
            return plan
        if not slots.window and self.default_window:
            slots.range = self.default_window.get("range")
            slots.from_date = self.default_window.get("from")
            slots.to_date = self.default_window.get("to")
        structural = self._structural(
            question, slots, mentions, similarity, best.tool if best else None
        )
        if structural is not None:
            return structural
        named = [m for m in mentions if m.kind in ("project", "account", "partner", "user")]
        unknown = None
        if not mentions and (best is None or best.tool != NO_TOOL):
            unknown = _unknown_name(question)
        if unknown:
            # "logins for Quantum Widgets": a name nobody here has. Look it up, so the answer
            # says it found no such account rather than answering for everyone.
            kind = _kind_asked(question)
            return Plan(
                "get_profile", {"kind": kind, "name": unknown, "exact": True}, None, similarity
            )
        owners = {(m.start, m.end) for m in mentions if m.kind == "member"}
        people = [
            m for m in named if m.kind == "user" and m.full and (m.start, m.end) not in owners
        ]
        if people and (best is None or best.tool != "get_profile"):
            # No tool but the profile takes a user: "when did Jane Roe last log in?".
            args, _missing = _profile_args({"kind": "user"}, people, slots)
            return Plan("get_profile", args, None, similarity)
        if named and (best is None or best.tool == NO_TOOL or similarity < MIN_SIMILARITY):
            # "How is Northwind doing?": a known name and no clearer intent → its profile.
            args, _missing = _profile_args({"kind": named[0].kind}, named, slots)
            return Plan("get_profile", _allowed("get_profile", args), None, similarity)
        if best is None or best.tool == NO_TOOL:
            return Plan(None, similarity=similarity, suggestions=list(STARTERS))
        if similarity < MIN_SIMILARITY:
            return Plan(None, similarity=similarity, suggestions=self.suggestions(question))
        tool = best.tool
        if tool in ("get_kpis", "get_adoption") and _asks_which_users(question, slots):
            # Totals answer "how many"; "which users … the most" asks for the user table.
            tool = "list_users"
            best_args = {"sort": slots.sort or "sessions", "descending": slots.descending}
            args = {k: v for k, v in best_args.items() if v is not None}
            _apply_slots(tool, args, slots, mentions)
            return Plan(tool, _allowed(tool, args), None, similarity)
        if tool == "get_trends" and not slots.bucket and not _TREND.search(question.lower()):
            # "logins since November 3" asks for one figure; a trend is asked for as one.
            tool = "get_kpis"
        read = parse(question)
        kpi_measures = [m for m in read.measures if m in KPI_MEASURES]
        lower = question.lower()
        a_figure = (
            # "crescent systems reporting workspace: visits last 30 days" names a figure
            (tool == "get_risks" and not _RISKY.search(lower) and not read.where
             and not read.rows_of)
            # "visits in the month before last" is near "users with no visit in the last
            # month" but names nobody: the figure, not a list of people
            or (tool in _USER_LISTS and not _PERSON.search(read.residue(True)))
            # "distinct active users this quarter": the KPI card over that window, not
            # today's DAU/WAU/MAU
            or (tool == "get_adoption" and bool(slots.window) and not _ADOPTION.search(lower))
        )  # fmt: skip
        if a_figure and kpi_measures:
            args = {**slots.window, **entity_filters(mentions)}
            return Plan("get_kpis", _allowed("get_kpis", args), kpi_measures[0], similarity)
        if tool == "get_kpis" and not slots.compared:
            # "how many logged in so far?": a measure the cards don't carry
            others = [m for m in read.measures if m not in KPI_MEASURES]
            if slots.window:  # "people logged in today": the day's active people, a KPI
                others = [m for m in others if REGISTRY.measures[m].temporal != "state"]
            if others:
                args = {"measures": others, **slots.window, **entity_filters(mentions)}
                return Plan("query_metrics", _allowed("query_metrics", args), None, similarity)
        if tool == "get_summary":
            # "how many tasks are open on Evergreen?": a measure the summary doesn't carry
            others = [m for m in read.measures if m not in SummaryResult.model_fields]
            if others:
                args = {"measures": others, **scope_of(slots, mentions)}
                return Plan("query_metrics", _allowed("query_metrics", args), None, similarity)
        if tool == "get_trends" and slots.compared:
            # "Did logins go up compared to last month?" asks for the change between two
            # periods: the KPI cards carry it; a trend would compare first and last bucket.
            tool = "get_kpis"
        args = {k: v for k, v in best.args.items() if not k.startswith("_")}
        focus = best.args.get("_focus") or slots.focus
        if best.tool == "define_metric" and slots.window and kpi_measures:
            # "avg session duration for Q1?" names a period: the figure, not the definition
            args = {**slots.window, **entity_filters(mentions)}
            return Plan("get_kpis", _allowed("get_kpis", args), kpi_measures[0], similarity)
        named = [m for m in mentions if m.kind in ("project", "account", "partner", "user")]
        if best.tool == "define_metric" and named and not _DEFINITION.search(lower):
            # "what's the invite conversion at Kestrel Farms?": its figure, not the word
            args, _missing = _profile_args({"kind": named[0].kind}, named, slots)
            return Plan("get_profile", _allowed("get_profile", args), focus, similarity)
        if best.tool == "define_metric":
            return Plan("define_metric", {"term": define_term(question)}, focus, similarity)
        if best.tool == "get_profile":
            args, missing = _profile_args(args, mentions, slots)
            if missing:
                return Plan(None, similarity=similarity, clarify=missing)
            return Plan("get_profile", _allowed("get_profile", args), focus, similarity)
        if slots.sort is None and tool in _TABLE_SORTS:  # "closed out the most tasks"
            slots.sort = next((m for m in read.measures if m in _TABLE_SORTS[tool]), None)
        _apply_slots(tool, args, slots, mentions)
        if tool in ("get_kpis", "get_trends") and (kpi_measures or slots.focus):
            focus = kpi_measures[0] if kpi_measures else slots.focus
        return Plan(tool, _allowed(tool, args), focus, similarity)

    def _structural(
        self,
        question: str,
        slots: Slots,
        mentions: list[Mention],
        similarity: float,
        nearest: str | None,
    ) -> Plan | None:
        """Questions whose structure, not their nearest example, says what to call."""
        if _DEFINITION.search(question.lower()) and not mentions and not slots.window:
            return Plan("define_metric", {"term": define_term(question)}, None, similarity)
        parsed = parse(question, {"role": self.entities.get(self.workspace_id).roles})
        for people in (never_logged_in, gone_quiet):
            found = people(question, slots, mentions)
            if found:
                return Plan(found[0], _allowed(*found), None, similarity)
        for risky in (risk_level, risk_signal):
            found = risky(parsed, slots, mentions, nearest)
            if found:
                return Plan(found[0], _allowed(*found), None, similarity)
        ranked = position(question, parsed, slots, mentions)
        if ranked:
            tool, args, focus = ranked
            return Plan(tool, _allowed(tool, args), focus, similarity)
        periods = compared(parsed, slots, mentions) or compared_entities(parsed, slots, mentions)
        if periods:
            focus = next((m for m in parsed.measures if m in KPI_MEASURES), slots.focus)
            calls = [(tool, _allowed(tool, args)) for tool, args in periods]
            return Plan(calls[0][0], calls[0][1], focus, similarity, extra=calls[1:])
        for focused in (feature_use, adoption):
            found_focus = focused(parsed, slots, mentions, nearest)
            if found_focus:
                tool, args, focus = found_focus
                return Plan(tool, _allowed(tool, args), focus, similarity)
        valued = dimension_value(parsed, slots, mentions, nearest)
        if valued:
            tool, args, focus = valued
            return Plan(tool, _allowed(tool, args), focus, similarity)
        for route in (grouped_query, count_of_rows, by_time, projects_in_status,
                      partners_by_measure, leading_partners, filtered_value):  # fmt: skip
            found = route(parsed, slots, mentions, nearest)
            if found:
                tool, args = found
                return Plan(tool, _allowed(tool, args), None, similarity)
        return None

    def _follow_up(
        self,
        question: str,
        previous: Previous,
        slots: Slots,
        mentions: list[Mention],
        similarity: float,
    ) -> Plan:
        rows = _rows(previous.result)
        if slots.ordinal and rows:
            row = rows[min(slots.ordinal, len(rows)) - 1]
            for key, kind in (
                ("project_id", "project"),
                ("partner_id", "partner"),
                ("user_id", "user"),
                ("account_id", "account"),
            ):
                if row.get(key):
                    args = {"kind": kind, "name": row[key]}
                    return Plan("get_profile", args, None, similarity, follow_up=True)
        named = [m for m in mentions if m.kind in ("project", "account", "partner", "user")]
        if not named:  # "and the reporting workspace one?": the same account's other project
            before = previous.args.get("project") or (
                previous.args.get("name") if previous.args.get("kind") == "project" else None
            )
            sibling = (
                self.entities.get(self.workspace_id).sibling(question, before)
                if isinstance(before, str)
                else None
            )
            if sibling is not None:
                mentions = named = [*mentions, sibling]
        if previous.focus and previous.focus.startswith("rank:") and named:
            # "and Northwind Networks?" after "where does Sable Services rank?"
            return Plan(previous.tool, dict(previous.args), f"rank:{named[0].name}", similarity,
                        follow_up=True)  # fmt: skip
        if previous.tool == "get_profile":
            if named:  # "and Dunmore Capital?": the same question about another one
                other = named[0]
                args = {**previous.args, "kind": other.kind, "name": other.name}
                return Plan("get_profile", _allowed("get_profile", args), None, similarity,
                            follow_up=True)  # fmt: skip
            unknown = _unknown_name(question)
            if unknown:
                args = {**previous.args, "name": unknown, "exact": True}
                return Plan("get_profile", _allowed("get_profile", args), None, similarity,
                            follow_up=True)  # fmt: skip
        switched = self._switch_measure(question, previous, slots)
        if switched is not None:
            return switched
        args = dict(previous.args)
        replaced = {_ENTITY_ARG[m.kind] for m in mentions if m.kind in _ENTITY_ARG}
        if _EVERYONE.search(question.lower()):
            replaced |= set(_ENTITY_ARG.values())
        for key in replaced:  # "what about Priya Young?": her figures instead of Zoe's
            args.pop(key, None)
        _apply_slots(previous.tool, args, slots, mentions)
        if previous.tool == "find_never_logged_in" and slots.kind:
            args["kind"] = slots.kind
        focus = None
        if previous.tool in ("get_kpis", "get_trends"):
            focus = slots.focus or previous.focus  # "only for Priya's accounts": same figure
        return Plan(previous.tool, _allowed(previous.tool, args), focus, similarity, follow_up=True)

    def _switch_measure(self, question: str, previous: Previous, slots: Slots) -> Plan | None:
        """ "Rank them by logins instead", "switch that to page views": the previous list
        or grouping on another measure (the general query when its table lacks it)."""
        measures = parse(question).measures
        if not measures or previous.tool not in ("query_metrics", *_TABLE_SORTS, "get_kpis"):
            return None
        measure = measures[0]
        args = dict(previous.args)
        if previous.tool == "get_kpis":
            return Plan("get_kpis", args, measure, 1.0, follow_up=True)
        if previous.tool == "query_metrics":
            if measure in (args.get("measures") or []) and args.get("sort") == measure:
                return None
            args.update(measures=[measure], sort=measure)
            return Plan("query_metrics", _allowed("query_metrics", args), None, 1.0,
                        follow_up=True)  # fmt: skip
        sort = _SORT_ALIASES.get((previous.tool, measure), measure)
        if sort in _TABLE_SORTS[previous.tool]:
            args["sort"] = sort
            return Plan(previous.tool, _allowed(previous.tool, args), None, 1.0, follow_up=True)
        rows = {"list_projects": "project", "list_users": None}[previous.tool]
        if rows is None:
            return None
        query = {k: v for k, v in args.items() if k not in ("sort", "focus")}
        query.update(measures=[measure], by=[rows], sort=measure)
        return Plan("query_metrics", _allowed("query_metrics", query), None, 1.0, follow_up=True)

    def suggestions(self, question: str, k: int = 3) -> list[str]:
        """Answerable example questions closest to ``question``."""
        found = self.store.search_examples(question, k=12, workspace=self.workspace)
        seen: list[str] = []
        for match in found:  # no digits: a suggestion must not read as a figure
            if (
                match.tool != NO_TOOL
                and match.question not in seen
                and not any(ch.isdigit() for ch in match.question)
            ):
                seen.append(match.question)
        for default in STARTERS:
            if len(seen) >= k:
                break
            seen.append(default)
        return seen[:k]


_THIS = {"member": "this owner's", "user": "this user", "partner": "this partner"}
_FILTER_WORDS = re.compile(r"\b(resellers?|referral)\s+(?=partners?\b)|\b(resellers?)\b")
"""Partner types are filters (slots), not intent: "what do reseller partners look at most?"
means "what do partners look at most?" for the example search."""
_REFERS = re.compile(
    r"\b(projects?|accounts?|customers?|clients?|partners?|users?|person|people|contacts?|"
    r"rollout|he|she|him|her|they|them)\b"
)
_USERS = re.compile(r"\b(users?|people|contacts|persons)\b")
_WHICH_USERS = re.compile(r"^\s*(which|who|what)\b")


_NAME = re.compile(r"\b[A-Z][\w&'’.-]*(?:\s+(?:of\s+|&\s+)?[A-Z][\w&'’.-]*)*")
_NOT_NAMES = {
    "how", "what", "who", "which", "is", "are", "was", "were", "tell", "show", "give", "can",
    "could", "did", "does", "do", "i", "we", "our", "my", "the", "a", "an", "please", "any",
    "and", "so", "ok", "okay", "hi", "hey", "why", "when", "where", "will", "would", "should",
    "summarize", "summarise", "list", "find", "q1", "q2", "q3", "q4", *MONTHS,
    *(m.lower() for m in ("January", "February", "March", "April", "May", "June", "July",
                          "August", "September", "October", "November", "December",
                          "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                          "Sunday")),
}  # fmt: skip


def _proper_name(question: str) -> str | None:
    """A capitalised name in the question that is no question word, month or day."""
    for match in _NAME.finditer(question):
        words = match.group(0).split()
        if match.start() == len(question) - len(question.lstrip()):
            words = words[1:]  # the sentence's first word is capitalised anyway
        while words and words[0].lower().strip("'’") in _NOT_NAMES:
            words = words[1:]
        name = re.sub(r"['’]s?$", "", " ".join(words).rstrip(".,;:!?")).strip()
        if name and name.lower() not in _NOT_NAMES:
            return name
    return None


_TREND = re.compile(
    r"\b(trends?|trending|over time|going|evolv\w*|chart|graph|plot|by (?:day|week|month)|"
    r"(?:per|each|every) (?:day|week|month)|daily|weekly|monthly|growth|grow\w*|rising|rise|"
    r"falling|fall|drop\w*|declin\w*|up or down|chang\w*|increas\w*|decreas\w*|pattern|"
    r"lately|recently|these days|momentum|more and more|less and less)\b"
)
_RISKY = re.compile(
    r"\b(risk\w*|signals?|health\w*|problems?|issues?|attention|worr\w*|trouble|concern\w*|"
    r"red|danger|alert\w*|inactive|dormant|stall\w*|quiet|overdue|unassigned|drift\w*|"
    r"declin\w*|dropp\w*|never|no (?:visits?|logins?|actions?|activity)|without|step in)\b"
)
_DEFINITION = re.compile(
    r"^(?:what|how)\b.*\b(?:mean|means|meant|stand for|stands for|defined|calculated|computed|"
    r"worked out)\s*\??$|^(?:define|definition of|meaning of|explain what)\b"
    # "remind me what a session is", "refresh my memory on how the score is worked out"
    r"|^(?:remind me|refresh my memory)(?: on| about)? (?:what\b.*\b(?:is|are|means?)|"
    r"how\b.*\b(?:defined|calculated|computed|worked out|measured))\s*\??$"
    # "what qualifies as dormant", "the definition of unique users", "what exactly is …"
    r"|\bwhat (?:counts|qualifies) as\b|\bwhat (?:is|do (?:we|you)) mean(?:t)? by\b"
    r"|\b(?:definition|meaning) of\b|^what(?:'s| is| are)? (?:exactly|precisely)\b"
)
_ADOPTION = re.compile(
    r"\b(dau|wau|mau|daily active|weekly active|monthly active|stick\w*|adoption|activation|"
    r"mobile|phones?|smartphones?|tablets?|devices?|share|portion|percent\w*|proportion|"
    r"self[- ]service|deflect\w*|roi|savings?|tickets?|features?|search|"
    r"(?:of|after) (?:their|the|being) invit\w*)\b"
)
_USER_LISTS = ("find_inactive_users", "find_never_logged_in", "list_users")
_PERSON = re.compile(
    r"\b(users?|people|person|persons|who|whom|contacts?|members?|someone|anyone|everyone|"
    r"invitees?|individuals?|names?|humans?|colleagues?|staff|employees?)\b"
)
_EVERYONE = re.compile(
    r"\b(across everyone|for everyone|everyone|everybody|overall|all (?:accounts|customers|"
    r"owners|projects|partners)|whole (?:portfolio|workspace|company)|company[- ]wide|in total)\b"
)
_ACRONYM = re.compile(r"^[A-Z0-9&-]+s?$")
"""An acronym or a shouted word (DAU, ROI, HIGHEST): never a name."""
_NOT_A_NAME = {"portalpulse", "portal", "partner", "partners", "customer", "customers",
               "leaderboard", "dashboard", "self-service", "emea", "apac", "amer"}  # fmt: skip


_SAID = {"name": "for {}", "account": "for {}", "project": "for {}", "owner": "for the book of {}",
         "status": "{} projects only", "partner_type": "{} partners only", "kind": "{}s only",
         "playbook": "on the {} playbook"}  # fmt: skip


def _changed(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """What a follow-up changed, in words: "for “Dunmore Capital”, last month"."""
    parts: list[str] = []
    for key, said in _SAID.items():
        value = after.get(key)
        if value and value != before.get(key):
            text = value if isinstance(value, str) else ", ".join(map(str, value))
            named = key in ("name", "account", "project", "owner", "playbook")
            parts.append(said.format(q(text) if named else text))  # names are data: quoted
    window = {k: after.get(k) for k in ("range", "from", "to")}
    if any(window.values()) and window != {k: before.get(k) for k in window}:
        parts.append(str(window["range"]).replace("_", " ") if window["range"]
                     else f"{window['from']} to {window['to']}")  # fmt: skip
    measures = after.get("measures") or ([after["sort"]] if after.get("sort") else [])
    if measures and measures != (before.get("measures") or [before.get("sort")]):
        parts.append("by " + ", ".join(REGISTRY.label(m).lower() for m in measures))
    return ", ".join(parts) or None


def _without_names(question: str, mentions: list[Mention]) -> str:
    """``question`` with the entity names it mentions cut out: a project called "Billing
    migration" is no question about billing."""
    named = {w for m in mentions for w in _words(m.name) + m.text.split()}
    return " ".join(w for w in fold(question).split() if w.strip("?.,!'") not in named)


def _unknown_name(question: str) -> str | None:
    """A capitalised name in ``question`` that is no acronym, vocabulary word, month or
    question word: a name someone means and nobody here has."""
    name = _proper_name(question)
    if not name:
        return None
    words = name.split()
    phrases = measure_phrases()
    words = [w for w in words if not _ACRONYM.match(w.strip(".,?!"))]
    if not words:
        return None
    while words and fold(words[0]) in ("of", "the", "at", "for", "on", "in", "about", "with"):
        words = words[1:]
    folded = [fold(w.strip(".,?!")) for w in words]
    if not folded or folded[0] in phrases or folded[0] in _NOT_A_NAME:
        return None
    if all(w in phrases or w in _NOT_A_NAME for w in folded):
        return None
    return " ".join(words)


_SUFFIXES = frozenset(
    {"group", "inc", "ltd", "llc", "co", "corp", "corporation", "company", "holdings", "plc",
     "gmbh", "ag", "sa", "bv", "limited"}
)  # fmt: skip
"""Words a company's name is said without ("Café Mañana" for Café Mañana Group)."""


def _covered(name: str, mentions: list[Mention]) -> bool:
    """Is every word of ``name`` part of a mention of a name we know, whole or short of
    its legal or group suffix only?"""
    words = set(_words(name)) - {"of", "the", "and", "for", "at", "in", "on", "a", "an"}
    known = {
        w
        for m in mentions
        if m.full or set(_words(m.name)[len(m.text.split()) :]) <= _SUFFIXES
        for w in m.text.split()
    }
    return words <= known


def _kind_asked(question: str) -> str:
    """What kind of entity an unknown name is probably of, from the question's words."""
    q = question.lower()
    if re.search(r"\bpartners?\b|\bresellers?\b|\breferral", q):
        return "partner"
    if re.search(r"\b(project|rollout|pilot|onboarding|implementation|go-live)\b", q):
        return "project"
    if re.search(r"\b(user|person|contact|he|she|his|her|last log(?:ged)? ?in)\b", q):
        return "user"
    return "account"


def _refers(question: str, mentions: list[Mention]) -> bool:
    """Does the question name or point at an entity (for a profile)?"""
    return bool(mentions) or bool(_REFERS.search(question.lower()))


def _asks_which_users(question: str, slots: Slots) -> bool:
    """ "Which users have the most visits?", "most active users": a ranking of users, not a
    total (that would be "how many")."""
    text = question.lower()
    if re.search(r"\bhow many\b", text) or not _USERS.search(text):
        return False
    return slots.descending is not None or (
        _WHICH_USERS.search(text) is not None and slots.sort == "last_visit"
    )


def _generic(question: str, mentions: list[Mention]) -> str:
    """The question with names replaced by "this account" etc., for the example search:
    the intent of "risks for Meridian Advisory" is that of "risks for this partner"."""
    text = question.lower()
    spans: dict[tuple[int, int], Mention] = {}
    for mention in mentions:  # namesakes: a member's reading wins ("Priya Young's projects")
        key = (mention.start, mention.end)
        if key not in spans or mention.kind == "member":
            spans[key] = mention
    mentions = list(spans.values())
    if any(m.text not in text for m in mentions):
        # The name is written with punctuation ("Acme — Pilot"): rebuild from its words.
        words = _words(question)
        for mention in sorted(mentions, key=lambda m: -m.start):
            words[mention.start : mention.end] = [_THIS.get(mention.kind, f"this {mention.kind}")]
        text = " ".join(words)
    for mention in mentions:
        text = text.replace(mention.text, _THIS.get(mention.kind, f"this {mention.kind}"))
    return " ".join(_FILTER_WORDS.sub(lambda m: "partners " if m.group(2) else "", text).split())


def _rows(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The first table in a tool result envelope."""
    data = (result or {}).get("data") or {}
    for value in data.values():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return value
    return []


def question_of(messages: list[BaseMessage]) -> tuple[str, int]:
    """The current question and its index in ``messages``."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return str(messages[i].content), i
    return "", -1
