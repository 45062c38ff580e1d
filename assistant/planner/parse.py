"""Question → the general query's slots, read with the semantic registry's vocabulary.

Measures, dimensions and conditions are found by the names and synonyms declared in
``metrics/semantic/vocabulary.py`` (plural or singular), so a measure declared there
is understood here without touching this file:

* **measures**: "page views", "sign-ins", "overdue tasks", "visits" …;
* **dimensions**: "by device", "per owner", "for each playbook", "broken down by user
  role", "across project statuses"; and the noun of a "which accounts …" list;
* **conditions** (``where``): "with more than 3 overdue tasks", "with no visits",
  "that have unassigned tasks" (no number: more than zero);
* **spans**: the characters each slot consumed, for the coverage check.

Nothing here knows a tool: the planner decides what to call from these slots.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from metrics.semantic.vocabulary import REGISTRY

TIME_DIMENSIONS = ("day", "week", "month")
_LIST_NOUNS = {
    "account": "account", "accounts": "account", "customer": "account", "customers": "account",
    "client": "account", "clients": "account", "company": "account", "companies": "account",
    "owner": "owner", "owners": "owner", "csm": "owner", "csms": "owner",
    "playbook": "playbook", "playbooks": "playbook", "project": "project", "projects": "project",
    "device": "device", "devices": "device", "role": "role", "roles": "role",
    "partner": "account", "partners": "account",
}  # fmt: skip
"""Nouns that name the rows of a "which … have …" list, and the dimension they group by."""

_NUMBER_WORDS = {
    "no": 0, "zero": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twenty": 20,
}  # fmt: skip
_OPS = (
    (r"more than|over|above|greater than|in excess of|upwards of", ">"),
    (r"at least|no fewer than|no less than|minimum of", ">="),
    (r"fewer than|less than|under|below", "<"),
    (r"at most|no more than|maximum of|up to", "<="),
    (r"exactly|precisely", "="),
)


OUT_OF_SCOPE_TERMS = re.compile(
    r"\b(nps|net promoter|csat|satisf\w*|revenue|arr|mrr|bookings|profits?|"
    r"margins?|(?<!what's the )(?<!whats the )(?<!what is the )deals?|pipeline|quotas?|"
    r"salar(?:y|ies)|stock price|invoices?|billing|"
    r"contracts?|renew\w*|payments?|credit cards?|phone numbers?|home address(?:es)?|weather|"
    r"headcount|employees|staff size|linkedin|twitter|facebook|social media|probability|"
    r"likelihood|chances? (?:that|of)|sentiment|mood|star ratings?|reviews)\b"
)
"""What the portal data holds nothing about, whoever it is asked for."""


def strip_accents(text: str) -> str:
    """``text`` without accents, case kept ("Zoë" → "Zoe")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lowercase, accents dropped, one kind of apostrophe, single spaces."""
    return " ".join(strip_accents(text.replace("’", "'")).lower().split())


def _variants(phrase: str) -> set[str]:
    """A phrase as written, and its last word singular or plural."""
    phrase = fold(phrase.replace("_", " "))
    out = {phrase}
    if phrase.endswith("s") and not phrase.endswith("ss"):
        out.add(phrase[:-1])
    else:
        out.add(phrase + "s")
    return out


def _alternation(words: dict[str, str]) -> re.Pattern[str]:
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in ordered) + r")\b")


@lru_cache(maxsize=4)
def _vocabulary(version: int) -> tuple[dict[str, str], re.Pattern[str], dict[str, str]]:
    measures: dict[str, str] = {}
    for name, measure in REGISTRY.measures.items():
        for phrase in (name, measure.label, *measure.synonyms):
            for variant in _variants(phrase):
                measures.setdefault(variant, name)
    dimensions: dict[str, str] = {}
    for name, dimension in REGISTRY.dimensions.items():
        for phrase in (name, dimension.label, *dimension.synonyms):
            for variant in _variants(phrase):
                dimensions.setdefault(variant, name)
    return measures, _alternation(measures), dimensions


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """Any of ``phrases`` (folded) as whole words, the longest tried first."""
    return _alternation(dict.fromkeys(fold(p) for p in phrases))


def measure_pattern() -> re.Pattern[str]:
    """Any way the registry lets a measure be written, as whole words, longest first."""
    return _vocabulary(REGISTRY.version)[1]


def measure_phrases() -> dict[str, str]:
    """Every way the registry lets a measure be written → the measure's name."""
    return _vocabulary(REGISTRY.version)[0]


@dataclass
class Condition:
    measure: str
    op: str
    value: float


@dataclass
class Parsed:
    """What the question asks for, in the general query's terms."""

    text: str = ""
    """The question, folded (lowercase, no accents)."""
    measures: list[str] = field(default_factory=list)
    by: list[str] = field(default_factory=list)
    where: list[Condition] = field(default_factory=list)
    rows_of: str | None = None
    """The dimension a "which … / list the …" question lists."""
    rows_word: str | None = None
    """The noun that named those rows ("partners" lists accounts of one kind)."""
    counts_rows: bool = False
    """ "How many accounts have …": the answer is the number of matching rows."""
    values: dict[str, str] = field(default_factory=dict)
    """A dimension's value named as a filter ("on mobile", "by viewers"): dimension → value."""
    several: set[str] = field(default_factory=set)
    """Dimensions with two or more of their values named (set against each other)."""
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    """(start, end, slot) of the folded question's characters each slot consumed."""

    def residue(self, phrases_only: bool = False) -> str:
        """The folded question without the spans the slots consumed (what is left to
        read: "distinct active users" leaves no person to list); ``phrases_only`` keeps
        one-word measures ("users" still asks for people)."""
        chars = list(self.text)
        for start, end, _slot in self.spans:
            if phrases_only and " " not in self.text[start:end].strip():
                continue
            chars[start:end] = " " * (end - start)
        return " ".join("".join(chars).split())

    @property
    def grouped(self) -> bool:
        """Grouped by something other than time, or filtered by a condition on groups."""
        return any(d not in TIME_DIMENSIONS for d in self.by) or bool(self.where)


_BY = re.compile(
    r"\b(?:broken down by|break(?:ing)? (?:it |them )?down by|split by|grouped by|group by|"
    r"segmented by|for each|for every|by each|by|per|each|across(?: all)?(?: the)?|"
    r"(?:and|,) by)\s+(?:the\s+|their\s+|a\s+)?"
)
_WHICH = re.compile(
    r"\b(?:(how many)|which|what|list|show(?: me)?|name|give me|find|any|top|bottom)"
    r"(?:\s+(?:all|every|each|the|our|my|of the|of|\d+|one|two|three|four|five|ten|"
    r"(?!(?:owner|owners|csm|account|accounts|customer|partner|project|team)'s)"
    r"(?:[a-z.]+\s+){0,2}[a-z.]+'s))*"
    r"(?:\s+(?:referral|reseller|customer|partner|in-progress|live|active|inactive|new|"
    r"not-started|on-hold|cancelled|enterprise|smb|[a-z]+-[a-z]+))?\s+(\w+)"
)
_TEAM = re.compile(
    r"\bwho (?:on|in|from) (?:the|our|my) team\b|\bwhich (?:of us|teammate)"
    r"|\bwhose (?:accounts|projects|customers|clients|book|portfolio)\b"
)
_LEADING_NOUN = re.compile(
    r"^(?:and |so |ok )?(?:the |our |all )?(\w+)"
    r"(?:\s+(?:on|in|of|for|from|under|at|owned by)\s+(?:[\w'.-]+\s+){0,3}?[\w'.-]+)?"
    r"\s+(?:with|where|whose|that|having)\b"
)
"""A list written as its rows: "accounts with more than 2 overdue tasks", "projects on the
Migration playbook with unassigned tasks"."""
"""The team's members are the owners."""
_VERBS = {
    "logins": r"logged in|log in|logs in|signed in|sign in|signs in|logged on",
    "sessions": r"visited|visit|visits|came|come|came back|dropped by",
    "page_views": r"viewed|looked at",
    "tasks_completed": r"completed|finished|closed|done|ticked off",
}
"""Verbs that count a measure ("logged in more than 15 times", "finished 4 tasks")."""
assert set(_VERBS) | {"logged_in"} <= set(REGISTRY.measures), "a verb names a lost measure"
_SECONDS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600,
            "hr": 3600, "h": 3600}  # fmt: skip


_VALUE_DIMENSIONS = ("device", "kind", "role")
"""Dimensions whose values read as filters ("on mobile", "partner users", "by viewers");
project statuses and partner types are the scope's own filters."""


def _dimension_values(
    q: str, extra: dict[str, tuple[str, ...]] | None
) -> list[tuple[str, str, int, int]]:
    """(dimension, value, start, end) for each dimension value named as a filter; a value
    written before a measure ("mobile sessions") spans the value only."""
    measures = _vocabulary(REGISTRY.version)[1].pattern[3:-3]
    out = []
    for name in _VALUE_DIMENSIONS:
        values = tuple(REGISTRY.dimensions[name].values) + tuple((extra or {}).get(name, ()))
        if not values:
            continue
        words = "|".join(re.escape(fold(v)) for v in sorted(set(values), key=len, reverse=True))
        pattern = re.compile(
            rf"\b(?:on|from|by|via|using|with|among|for|through)\s+(?:a |an |the |our |their )?"
            rf"(?P<a>{words})s?(?:\s+(?:users?|people|portals?|side|accounts?|visitors?|role|"
            rf"devices?))?\b(?!\s+(?:type|types|kind)\b)"
            rf"|\b(?P<b>{words})s?\s+(?:users?|portal|portals|role|roles|devices?|people|side|"
            rf"accounts?|visitors?|traffic|activity)\b"
            rf"|\b(?P<c>{words})s?(?=\s+(?:{measures}))"
            # a role in the plural is people of that role ("how many actions did admins
            # take"), except a team's members
            + (
                rf"|(?<!team )\b(?P<d>{words})s\b(?!\s+of\s+(?:the|our|my)\s+team)"
                if name == "role"
                else ""
            )
        )
        for match in pattern.finditer(q):
            plural = match.groupdict().get("d")
            value = match["a"] or match["b"] or match["c"] or plural
            original = next(v for v in values if fold(v) == value)
            end = match.end("c") if match["c"] else match.end()
            if plural:
                end = match.end("d") + 1
            out.append((name, original, match.start(), end))
    return out


def parse(question: str, values: dict[str, tuple[str, ...]] | None = None) -> Parsed:
    """The registry's measures, dimensions, conditions and dimension values in ``question``
    (``values``: more values of a dimension, read from the data, e.g. the users' roles)."""
    from assistant.planner.periods import normalise_time_words

    q = normalise_time_words(fold(question))
    measures_by_phrase, measure_re, dimensions = _vocabulary(REGISTRY.version)
    out = Parsed(text=q)
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    # dimensions: "by device", "per owner", "for each playbook"
    dim_re = _alternation(dimensions)
    for match in _BY.finditer(q):
        found = dim_re.match(q, match.end())
        if found and free(match.start(), found.end()):
            name = dimensions[found.group(1)]
            if name not in out.by:
                out.by.append(name)
            taken.append((match.start(), found.end()))
            out.spans.append((match.start(), found.end(), f"by:{name}"))
    # conditions: "with more than 3 overdue tasks", "with no visits", "zero logins"
    number = r"(\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")"
    ops = "|".join(f"(?:{pattern})" for pattern, _ in _OPS)
    condition = re.compile(
        rf"\b(?:with|having|had|has|have|got|where|that have|that had|logged)?\s*"
        rf"(?:(?P<op>{ops})\s+)?(?P<n>{number}|any)\s+(?:(?:single|more|fewer)\s+)?"
        rf"(?P<m>{measure_re.pattern[3:-3]})\b"
    )
    for match in condition.finditer(q):
        if not free(match.start("n"), match.end()):
            continue
        measure = measures_by_phrase[match.group("m")]
        raw = match.group("n")
        op_text = match.group("op")
        if raw == "any":
            op, value = ">", 0.0
        else:
            value = float(_NUMBER_WORDS.get(raw, raw) if raw in _NUMBER_WORDS else raw)
            op = next(
                (sign for pattern, sign in _OPS if op_text and re.fullmatch(pattern, op_text)), "="
            )
            if raw in ("no", "zero", "none") and op_text is None:
                op, value = "=", 0.0
            elif op_text is None and raw not in ("no", "zero", "none"):
                continue  # "3 overdue tasks" alone is a figure, not a condition
        out.where.append(Condition(measure, op, value))
        taken.append((match.start("n") if not op_text else match.start("op"), match.end()))
        out.spans.append((match.start(), match.end(), f"where:{measure}"))
    # verbs and durations: "logged in more than 15 times", "finished over 4 tasks",
    # "average visit over 20 minutes"
    longer = (
        r"(?:is |are |was |were |of |that is |that's )?(?P<op>longer than|more than|over|above|"
        r"greater than|at least|shorter than|less than|under|below|at most)\s+"
        rf"(?P<n>{number})\s*(?P<u>seconds?|secs?|minutes?|mins?|hours?|hrs?|[smh])\b"
    )
    for match in re.finditer(rf"\b(?P<m>{measure_re.pattern[3:-3]})\s+{longer}", q):
        measure = measures_by_phrase[match["m"]]
        if REGISTRY.measures[measure].format != "seconds":
            continue
        sign = {"longer than": ">", "shorter than": "<"}.get(match["op"]) or next(
            s for pattern, s in _OPS if re.fullmatch(pattern, match["op"])
        )
        unit = _SECONDS[match["u"].rstrip("s") if len(match["u"]) > 1 else match["u"]]
        value = float(_NUMBER_WORDS.get(match["n"], match["n"])) * unit
        out.where.append(Condition(measure, sign, value))
        taken.append((match.start(), match.end()))
        out.spans.append((match.start(), match.end(), f"where:{measure}"))
    for measure, verbs in _VERBS.items():
        counted = re.compile(
            rf"\b(?:{verbs})\s+(?P<op>{ops})\s+(?P<n>{number})\s*(?:times|tasks|pages)?\b"
        )
        for match in counted.finditer(q):
            if free(match.start(), match.end()):
                op = next(sign for pattern, sign in _OPS if re.fullmatch(pattern, match["op"]))
                value = float(_NUMBER_WORDS.get(match["n"], match["n"]))
                out.where.append(Condition(measure, op, value))
                taken.append((match.start(), match.end()))
                out.spans.append((match.start(), match.end(), f"where:{measure}"))
    # "nobody has logged in yet": none of the people did it
    nobody = re.search(
        r"\b(?:nobody|no one|noone|none of (?:them|the users|their users))\s+(?:has |have |had )?"
        r"(?:ever |yet |actually )?(?P<v>logged in|log in|signed in|sign in|visited|visit)\b",
        q,
    )
    if nobody and free(nobody.start(), nobody.end()):
        measure = "logged_in" if "in" in nobody["v"].split() else "sessions"
        out.where.append(Condition(measure, "=", 0.0))
        taken.append((nobody.start(), nobody.end()))
        out.spans.append((nobody.start(), nobody.end(), f"where:{measure}"))
    # "closed out the most tasks", "logged in the most": the verb's measure, ranked
    for measure, verbs in _VERBS.items():
        ranked = re.search(
            rf"\b(?:{verbs})(?: out| up| off)?\s+(?:the\s+)?(?:most|fewest|least|more|fewer)"
            rf"(?:\s+(?:tasks|times|pages))?\b",
            q,
        )
        if ranked and free(ranked.start(), ranked.end()) and measure not in out.measures:
            out.measures.append(measure)
            taken.append((ranked.start(), ranked.end()))
            out.spans.append((ranked.start(), ranked.end(), f"measure:{measure}"))
    # "which accounts have unassigned tasks": a condition with no number is "more than 0"
    which = _WHICH.search(q)
    if _TEAM.search(q):
        out.rows_of = "owner"
    elif which and which.group(2) in _LIST_NOUNS:
        out.rows_of = _LIST_NOUNS[which.group(2)]
        out.rows_word = which.group(2)
        out.counts_rows = which.group(1) is not None
        out.spans.append((which.start(2), which.end(2), f"rows:{out.rows_of}"))
    elif (lead := _LEADING_NOUN.search(q)) and lead.group(1) in _LIST_NOUNS:
        out.rows_of = _LIST_NOUNS[lead.group(1)]
        out.rows_word = lead.group(1)
        out.spans.append((lead.start(1), lead.end(1), f"rows:{out.rows_of}"))
    if out.rows_of:
        has = re.compile(
            rf"\b(?:have|has|had|with|having|carry|carrying|got|get|gets|getting|show|showing)\s+"
            rf"(?:any\s+|some\s+|something\s+|anything\s+)?"
            rf"(?:open\s+|outstanding\s+)?(?P<m>{measure_re.pattern[3:-3]})\b"
        )
        for match in has.finditer(q):
            if free(match.start("m"), match.end("m")):
                measure = measures_by_phrase[match.group("m")]
                if measure not in [c.measure for c in out.where]:
                    out.where.append(Condition(measure, ">", 0.0))
                    taken.append((match.start("m"), match.end("m")))
                    out.spans.append((match.start(), match.end(), f"where:{measure}"))
    for name, value, start, end in _dimension_values(q, values):
        if name in out.by or not free(start, end):
            continue
        if name in out.values and out.values[name] != value:
            out.several.add(name)  # "customers compared with partners": both rows
        out.values.setdefault(name, value)
        taken.append((start, end))
        out.spans.append((start, end, f"value:{name}"))
    # measures: every other mention, in order
    for match in measure_re.finditer(q):
        if not free(match.start(), match.end()):
            continue
        name = measures_by_phrase[match.group(1)]
        if name not in out.measures:
            out.measures.append(name)
        out.spans.append((match.start(), match.end(), f"measure:{name}"))
    for condition_ in out.where:
        if condition_.measure not in out.measures:
            out.measures.append(condition_.measure)
    _people_as_unit(out)
    return out


_PEOPLE_WORDS = {"users", "people", "visitors", "contacts"}


def _people_as_unit(out: Parsed) -> None:
    """ "How many people from Kestrel have logged in?": "people" is what ``logged_in``
    counts, not a second measure (unique users) asked for beside it."""
    counted = [m for m in out.measures if REGISTRY.measures[m].source == "invited_users"]
    if not counted or "unique_users" not in out.measures:
        return
    bare = [
        (start, end, slot) for start, end, slot in out.spans
        if slot == "measure:unique_users" and out.text[start:end] in _PEOPLE_WORDS
    ]  # fmt: skip
    if len(bare) == len([s for s in out.spans if s[2] == "measure:unique_users"]):
        out.measures.remove("unique_users")
        out.spans = [
            (start, end, f"measure:{counted[0]}" if (start, end, slot) in bare else slot)
            for start, end, slot in out.spans
        ]
