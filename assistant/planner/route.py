"""Routes read from the question's structure, before the nearest-example search.

The example index is good at intent ("risks", "who never logged in") and poor at
structure: a measure cut by a dimension, a condition on groups, two periods set
against each other, the position of one entity, a request no data can answer.
These rules read that structure from the registry's vocabulary
(:mod:`assistant.planner.parse`) and the question's slots; each returns a plan or
``None`` (not its kind of question).
"""

from __future__ import annotations

import re
from typing import Any

from assistant.planner.entities import Mention
from assistant.planner.extract import Slots
from assistant.planner.parse import (
    OUT_OF_SCOPE_TERMS,
    Parsed,
    fold,
    measure_pattern,
    phrase_pattern,
)
from metrics.sections.kpis import KpiValues
from metrics.semantic.vocabulary import REGISTRY

KPI_MEASURES = tuple(KpiValues.model_fields)
"""The measures the KPI cards (``get_kpis``) carry: what a comparison of periods reports."""

_ENTITY_FILTER = {"project": "project", "account": "account", "partner": "account",
                  "member": "owner", "playbook": "playbook"}  # fmt: skip
_ENTITY_DIMENSION = {"project": "project", "account": "account", "partner": "account",
                     "member": "owner"}  # fmt: skip

_ACTION = re.compile(
    r"^(?:(?:please|pls|kindly|ok|okay|now|hey)[,\s]+)*"
    r"(?:(?:can|could|would|will) you(?: please)?\s+|go ahead and\s+|i (?:want|need) you to\s+|"
    r"help me\s+)?"
    r"(reassign|assign|move|transfer|hand over|delete|remove|archive|create|add|update|change|"
    r"edit|rename|cancel|close|reopen|schedule|book|send|email|e-mail|message|text|call|phone|"
    r"notify|remind(?! me (?:what|how|who|which|when|where|again|of)\b)|ping|invite|set up|"
    r"setup|merge|mark|escalate|export|upload|import|set|"
    r"approve|reject|disable|enable|deactivate|reactivate|reset|grant|revoke)\b"
    r"(?!-|\s+(?:in|of|over|between|from|rate|for|since|per|to|conversion)\b)"
)
"""Requests to change something or to act outside the portal data: the assistant reads."""


def out_of_scope(question: str, without_names: str | None = None) -> str | None:
    """Why no tool can answer ``question`` (the term or the action asked for), or None;
    terms are looked for in ``without_names`` (the question with its entity names cut out:
    a project called "Billing migration" is no question about billing)."""
    action = _ACTION.search(fold(question))
    if action:
        return action.group(1)
    term = OUT_OF_SCOPE_TERMS.search(fold(without_names if without_names is not None else question))
    return term.group(1) if term else None


def entity_filters(mentions: list[Mention]) -> dict[str, list[str] | str]:
    """Filters for the named projects, accounts, partners and owners (as written)."""
    out: dict[str, Any] = {}
    for mention in mentions:
        key = _ENTITY_FILTER.get(mention.kind)
        if key is None:
            continue
        name = mention.name if mention.full else mention.text
        if key in ("owner", "playbook"):
            out.setdefault(key, name)
        else:
            out.setdefault(key, []).append(name)
    return {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in out.items()}


def scope_of(slots: Slots, mentions: list[Mention] | None = None) -> dict[str, Any]:
    """The question's window and filters (and, given ``mentions``, its named entities) as
    tool arguments."""
    return {**slots.window, **_filters(slots), **entity_filters(mentions or [])}


def _filters(slots: Slots) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if slots.partner_type:
        out["partner_type"] = slots.partner_type
    if slots.status:
        out["status"] = slots.status
    return out


_TABLES = {"list_projects": "project", "get_top_content": ("room", "resource"),
           "get_leaderboard": "account"}  # fmt: skip
"""Fixed tools that are a table of one dimension: the nearest example's tool keeps a
question about that table unless it needs what the table lacks (a threshold)."""


def grouped_query(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """A measure cut by dimensions or filtered by a condition on groups → ``query_metrics``.

    A condition of "more than zero" or "none" on the rows of a fixed table ("which
    projects have overdue tasks", "partners with no visits") stays with that table or
    risk; a threshold ("more than 5") or a dimension no table has goes to the query."""
    by = list(parsed.by)
    ranked = slots.descending is not None or slots.limit is not None
    if (
        parsed.rows_of
        and parsed.rows_of not in by
        and (parsed.where or parsed.counts_rows or (parsed.measures and ranked))
    ):
        by.insert(0, parsed.rows_of)
    if (
        not parsed.measures
        or not by
        or not (parsed.where or any(d not in ("day", "week", "month") for d in by))
    ):
        return None
    table = _TABLES.get(nearest or "")
    listed = bool(parsed.where) or parsed.counts_rows  # every matching row, not a top N
    if table and by[0] in (table if isinstance(table, tuple) else (table,)) and not listed:
        return None
    quiet = all(c.op == "=" and c.value == 0 and c.measure == "sessions" for c in parsed.where)
    if (
        nearest == "get_risks"
        and (quiet or not parsed.where)
        and not parsed.by
        and not (parsed.counts_rows)
    ):
        return None  # "projects with no visits": the inactive-project or dormant-partner signal
    if parsed.rows_word in ("partner", "partners") and not slots.partner_type:
        return None  # no filter keeps partners only: the leaderboard or a risk answers
    args: dict[str, Any] = {
        "measures": parsed.measures,
        "by": by,
        **scope_of(slots, mentions),
    }
    if parsed.where:
        args["where"] = [{"measure": c.measure, "op": c.op, "value": c.value} for c in parsed.where]
    sort = next((m for m in parsed.measures if not any(c.measure == m for c in parsed.where)),
                parsed.measures[0])  # fmt: skip
    args["sort"] = sort
    if slots.descending is not None:
        args["descending"] = slots.descending
    if slots.limit:
        args["limit"] = slots.limit
    return "query_metrics", args


_VALUE = re.compile(
    r"^(?:so |and |ok |okay )?(?:how many|how much|what(?:'s| is| was| were)? (?:the |our )?"
    r"(?:number|total|count|sum)|number of|total|count of|tally)\b"
)
_FIGURE_TOOLS = (
    "get_kpis", "get_adoption", "get_trends", "get_profile", "define_metric", "get_summary",
)  # fmt: skip


def filtered_value(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """One figure the nearest example reads as a list or a risk ("how many actions did our
    reseller partners take?" is no partner risk): the general query, no grouping."""
    if not parsed.measures or parsed.by or parsed.where or nearest in _FIGURE_TOOLS:
        return None
    if not (_VALUE.search(parsed.text) or _leads_with_a_measure(parsed, slots)):
        return None
    return "query_metrics", {"measures": parsed.measures, **scope_of(slots, mentions)}


def _leads_with_a_measure(parsed: Parsed, slots: Slots) -> bool:
    """ "Overdue tasks on Priya's projects": written as a heading, a measure first and then
    its scope, with nothing that asks for rows (which, list, top, rank): the total."""
    if parsed.rows_of or slots.descending is not None or slots.limit or _RANKED.search(parsed.text):
        return False
    return measure_pattern().match(parsed.text) is not None


def compared(parsed: Parsed, slots: Slots, mentions: list[Mention]) -> list[tuple[str, dict]]:
    """Two named periods set against each other → the KPI cards of each (the answer leads
    with the measure asked for)."""
    if len(slots.compare_windows) != 2:
        return []
    filters = {**_filters(slots), **entity_filters(mentions)}
    return [("get_kpis", {**window, **filters}) for window in slots.compare_windows]


_RANK = re.compile(
    r"\b(rank|ranks|ranked|ranking|position|place|placed|stand|stands|standing|sit|sits|"
    r"leaderboard score|score on the leaderboard|partner score)\b"
)


def position(
    question: str, parsed: Parsed, slots: Slots, mentions: list[Mention]
) -> tuple[str, dict[str, Any], str] | None:
    """ "Where does X rank …": the whole population ranked, X's place in it. A partner
    with no measure named ranks on the leaderboard; anything else on the measure named,
    among entities of its kind. Returns (tool, arguments, focus)."""
    q = fold(question)
    if not _RANK.search(q):
        return None
    named = [m for m in mentions if m.kind in _ENTITY_DIMENSION]
    if len(named) != 1:
        return None
    entity = named[0]
    focus = f"rank:{entity.name}"
    if entity.kind == "partner" and (not parsed.measures or "leaderboard" in q):
        return "get_leaderboard", {**slots.window, "limit": 100}, focus
    if not parsed.measures:
        return None
    measure = parsed.measures[0]
    args = {
        "measures": [measure],
        "by": [_ENTITY_DIMENSION[entity.kind]],
        "sort": measure,
        "descending": slots.descending if slots.descending is not None else True,
        **scope_of(slots),
    }
    return "query_metrics", args, focus


_SHARE = re.compile(r"\b(share|portion|percent|percentage|proportion|fraction|ratio|%)")
_NOT_FOR_VALUES = ("find_never_logged_in", "find_inactive_users")
_PEOPLE_LIST = re.compile(
    r"\b(never|not|no|haven'?t|hasn'?t|didn'?t|inactive|quiet|who|which (?:users?|people))\b"
)


def dimension_value(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any], str | None] | None:
    """A figure for one value of a dimension no filter has ("sessions on mobile", "logins by
    viewers", "page views from partner users"): the query grouped by that dimension, the
    answer led by the value's row. Returns (tool, arguments, focus)."""
    if not parsed.values or not parsed.measures:
        return None
    if nearest in _NOT_FOR_VALUES and _PEOPLE_LIST.search(parsed.text):
        return None  # "partner users who never logged in": the people, not a figure
    if _SHARE.search(parsed.text):  # "what share of visits are on mobile": a ratio
        return None
    (dimension, value), *_ = parsed.values.items()
    focus = None if dimension in parsed.several else f"row:{value}"
    args = {
        "measures": parsed.measures,
        "by": [dimension, *(d for d in parsed.by if d != dimension)],
        **scope_of(slots, mentions),
    }
    return "query_metrics", args, focus


def by_time(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """ "Logins by month this year": a measure per day, week or month, every bucket a row
    (a trend is asked for as one: "trend", "over time", "going up")."""
    if not parsed.measures or not parsed.by or nearest == "get_trends":
        return None
    if any(d not in ("day", "week", "month") for d in parsed.by) or parsed.where:
        return None
    args = {
        "measures": parsed.measures,
        "by": parsed.by,
        **scope_of(slots, mentions),
    }
    return "query_metrics", args


_LEADERBOARD_COLUMNS = {"sessions": "sessions", "unique_users": "users", "page_views": "page_views",
                        "avg_session_seconds": "avg_session_seconds"}  # fmt: skip
"""The leaderboard's columns, by the measure each one counts."""


def partners_by_measure(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """ "Which partner racked up the most page views?": the leaderboard sorted by that
    measure (every partner, one table of partners only)."""
    if mentions or parsed.where or parsed.by or len(parsed.measures) != 1:
        return None
    if not re.search(r"\bpartners?\b", parsed.text) or not re.search(
        r"\b(?:most|highest|fewest|lowest|least|top|best|worst)\b", parsed.text
    ):
        return None
    column = _LEADERBOARD_COLUMNS.get(parsed.measures[0])
    if column is None:
        return None
    args: dict[str, Any] = {
        "sort": column,
        "descending": slots.descending if slots.descending is not None else True,
        **scope_of(slots),
    }
    if slots.limit:
        args["limit"] = slots.limit
    return "get_leaderboard", args


def compared_entities(
    parsed: Parsed, slots: Slots, mentions: list[Mention]
) -> list[tuple[str, dict[str, Any]]]:
    """Two or more accounts, projects, owners or partner types set against each other
    ("Thornbury Foods vs Rosewood Retail", "Malik or Noah", "referral vs reseller
    partners"): the KPI cards of each, led by the measure asked for."""
    if not _COMPARE_WORDS.search(parsed.text):
        return []
    measures = parsed.measures or list(_COMPARED_BY_DEFAULT)
    base = {"measures": measures, "sort": measures[0], **slots.window}
    for kind in ("account", "partner", "project", "member"):
        same = [m for m in mentions if m.kind == kind]
        if len(same) >= 2:
            dimension = _ENTITY_DIMENSION[kind]
            if dimension == "owner":  # one owner per scope: every owner's row, both shown
                return [("query_metrics", {**base, "by": [dimension]})]
            names = [m.name if m.full else m.text for m in same]
            return [("query_metrics", {**base, "by": [dimension], dimension: names})]
    types = [t for t in ("referral", "reseller") if re.search(rf"\b{t}s?\b", parsed.text)]
    if len(types) == 2:
        return [("query_metrics", {**base, "by": ["partner_type"]})]
    return []


_COMPARED_BY_DEFAULT = ("sessions", "logins", "page_views", "unique_users")
"""What two entities are set against each other on when the question names no measure."""


_COMPARE_WORDS = re.compile(
    r"\b(vs\.?|versus|compared?|comparison|against|or|than|more|fewer|better|worse|"
    r"between)\b"
)


def projects_in_status(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """ "Which projects are on hold?": the project table filtered to that status, every row."""
    filters = entity_filters(mentions)
    if parsed.rows_of != "project" or parsed.measures or parsed.where:
        return None
    if _RISK_WORDS.search(parsed.text):  # "which in-progress projects have gone inactive?"
        return None
    if not slots.status and "playbook" not in filters:
        return None
    status = {"status": slots.status} if slots.status else {}
    return "list_projects", {**status, "limit": 100, **slots.window, **filters}


_RISK_WORDS = re.compile(
    r"\b(inactive|stall\w*|quiet|dormant|risk\w*|declin\w*|drift\w*|shorter|behind|trouble|"
    r"attention|worr\w*)\b"
)
_QUIET = re.compile(
    r"\b(?:has ?n[o']t|have ?n[o']t|has not|have not|not|no longer|stopped|went|gone|going|"
    r"without)\b[^.?!]{0,30}?\b(?:back|visit\w*|log\w*(?: in| on)?|active|seen|around|quiet|"
    r"dark|silent|return\w*|show\w*(?: up)?|c[oa]me)\b"
    r"|\b(?:inactive|idle|lapsed|drifting|dormant|disengaged)\b"
)
_WHO = re.compile(r"^(?:so |and |ok )?(?:who|which (?:users?|people|contacts?|persons))\b"
                  r"|\b(?:users|people|contacts)\b")  # fmt: skip
_EVER = re.compile(r"\b(?:never|yet|ever|first time|not once|still)\b")


def gone_quiet(
    question: str, slots: Slots, mentions: list[Mention]
) -> tuple[str, dict[str, Any]] | None:
    """ "Who hasn't been back in 10 days?": people whose last visit is older than the span
    (never-logged-in people are another question: "who never logged in")."""
    q = fold(question)
    if not (_WHO.search(q) and _QUIET.search(q)) or _EVER.search(q):
        return None
    if re.search(r"\blog(?:ged)? ?in\b", q) and not slots.span_days and not slots.window:
        return None  # "who hasn't logged in?" means never, a question of its own
    args: dict[str, Any] = {"days": slots.span_days or 14}
    if slots.partner_type:
        args["partner_type"] = slots.partner_type
    args.update(entity_filters(mentions))
    return "find_inactive_users", args


_LEADING = re.compile(
    r"\b(leading|leaders?|leads|in front|out front|ahead|top|best|strongest|number one|"
    r"first place|winning|on top|standings|ranking)\b"
)


def leading_partners(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """ "Which partner is out in front this month?": the leaderboard (its score is what
    ranks partners when no measure is named)."""
    if parsed.measures or mentions or parsed.where:
        return None
    strong = re.search(r"\b(leading|leaders?|in front|out front|on top|winning|standings)\b",
                       parsed.text)  # fmt: skip
    if not strong and not (
        re.search(r"\bpartners?\b", parsed.text) and _LEADING.search(parsed.text)
    ):
        return None
    args: dict[str, Any] = scope_of(slots)
    if slots.limit:
        args["limit"] = slots.limit
    return "get_leaderboard", args


_FEATURE = re.compile(
    r"\b(videos?|played|downloads?|downloaded|downloading|pdfs?|searche[sd]|search(?:ing)?|"
    r"clicked|clicks? (?:on )?links?|goals? complet\w*|images?)\b"
)
_SHARE_OF_PEOPLE = re.compile(r"\b(users?|people|who|share|percent(?:age)?|%|portion|how many)\b")


def feature_use(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any], str] | None:
    """ "What share of active users played a video?", "how many users downloaded a file":
    feature use among the users who visited (the adoption section)."""
    if not _FEATURE.search(parsed.text) or not _SHARE_OF_PEOPLE.search(parsed.text):
        return None
    if nearest in ("get_top_content",) and not re.search(r"\b(users?|people|who)\b", parsed.text):
        return None
    return "get_adoption", scope_of(slots, mentions), "features"


def _signal_words(name: str) -> re.Pattern[str]:
    signal = REGISTRY.signals[name]
    return phrase_pattern((signal.label, *signal.synonyms))


_NEVER = _signal_words("never_logged_in")
_SIGNALS = {name: _signal_words(name) for name in REGISTRY.signals if name != "never_logged_in"}
_LEVELS = {
    level.name: phrase_pattern((level.label, *level.synonyms)) for level in REGISTRY.levels.values()
}
_NEGATION = re.compile(r"\b(?:have|has|had|did|do|does|were|was|are|is)(?:n'?t| not)\b")
_RANKED = re.compile(r"\b(worst|best|highest|lowest|most|least|top|bottom|rank\w*)\b")
_SUBJECTS = (
    ("partner", re.compile(r"\bpartners?\b")),
    ("project", re.compile(r"\b(projects?|onboardings?|rollouts?)\b")),
)


def risk_level(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """ "Which projects are at high risk?", "how many are in the red?": the projects at
    one risk level, by the level's words in the registry."""
    for name, words in _LEVELS.items():
        if words.search(parsed.text) and not parsed.measures:
            return "get_risks", {"level": name, **scope_of(slots, mentions)}
    return None


def risk_signal(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """ "Where are visits getting shorter?", "partners that haven't been active": one risk
    signal, named by its label or a synonym in the registry, for the kind of entity the
    question is about. A measure that holds the signal's words ("overdue tasks" holds
    "overdue") is a figure, not the signal."""
    if _RANKED.search(parsed.text):
        return None  # "which projects have the worst invite conversion": a ranking
    text = _NEGATION.sub("not", parsed.text)  # "haven't been active" → "not been active"
    measured = [m.span() for m in measure_pattern().finditer(text)]
    subject = next((kind for kind, noun in _SUBJECTS if noun.search(text)), None)
    found = []
    for name, words in _SIGNALS.items():
        match = words.search(text)
        if match is None or (subject and subject not in REGISTRY.signals[name].entities):
            continue
        if any(s <= match.start() and match.end() <= e for s, e in measured):
            continue
        found.append((match.end() - match.start(), name))
    if not found:
        return None
    return "get_risks", {"signal": max(found)[1], **scope_of(slots, mentions)}


def never_logged_in(
    question: str, slots: Slots, mentions: list[Mention]
) -> tuple[str, dict[str, Any]] | None:
    """ "Invited users with no login at Zephyr Labs": the never-logged-in list, by the
    signal's own words in the registry, when people are asked about."""
    q = fold(question)
    if not _NEVER.search(q) or not _WHO.search(q) or slots.span_days or slots.window:
        return None  # "haven't logged in for a week" is about going quiet
    args: dict[str, Any] = entity_filters(mentions)
    unnamed = q
    for mention in mentions:  # "the Granite Peak partner hub project": no kind asked
        unnamed = unnamed.replace(mention.text, " ").replace(fold(mention.name), " ")
    kind = (
        "partner"
        if re.search(r"\bpartners?\b", unnamed)
        else ("customer" if re.search(r"\b(customers?|clients?)\b", unnamed) else None)
    )
    if kind and "account" not in args and "project" not in args:
        args["kind"] = kind
    return "find_never_logged_in", args


_ADOPTION_FOCUS = (
    (
        re.compile(
            r"\b(?:share|portion|percent\w*|proportion|fraction|how much|%)\b.*"
            r"\b(?:mobile|phones?|smartphones?|tablets?)\b"
            r"|\b(?:mobile|phone) share\b"
        ),
        "mobile",
    ),
    (re.compile(r"\bactivat\w*"), "activation"),
    (re.compile(r"\b(self[- ]service|deflect\w*|tickets?|support load)\b"), "tickets"),
    (re.compile(r"\b(stick\w*|dau|wau|mau|daily active|weekly active|monthly active)\b"), None),
)
"""Adoption questions by their own words, and the figure the answer leads with."""


def adoption(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any], str | None] | None:
    """ "How sticky is the portal?", "what share of visits were on a phone in May?": the
    adoption section (DAU/WAU/MAU, mobile share, activation, self-service)."""
    if nearest == "get_adoption" or parsed.by or parsed.where:
        return None
    for pattern, focus in _ADOPTION_FOCUS:
        if pattern.search(parsed.text):
            args = scope_of(slots, mentions)
            for name in ("portal_cost", "cost_per_ticket", "gain"):
                if getattr(slots, name):
                    args[name] = getattr(slots, name)
            return "get_adoption", args, focus
    return None


def count_of_rows(
    parsed: Parsed, slots: Slots, mentions: list[Mention], nearest: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """ "How many projects is Rhea looking after?": the rows in scope, counted (every
    project, account or owner in scope is a row, zeros too)."""
    if not parsed.counts_rows or parsed.measures or parsed.where or parsed.rows_of is None:
        return None
    filters = entity_filters(mentions)
    if not filters and not slots.status and not slots.partner_type:
        return None
    args = {"measures": ["sessions"], "by": [parsed.rows_of], **scope_of(slots, mentions)}
    return "query_metrics", args
