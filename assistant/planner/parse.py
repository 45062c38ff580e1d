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


def fold(text: str) -> str:
    """Lowercase, accents dropped, one kind of apostrophe, single spaces."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.lower().split())


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
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    """(start, end, slot) of the folded question's characters each slot consumed."""

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
    r"\b(?:which|what|list|show(?: me)?|name|give me|find|any)"
    r"(?:\s+(?:all|every|each|the|our|my|of the))*\s+(\w+)"
)


def parse(question: str) -> Parsed:
    """The registry's measures, dimensions and conditions in ``question``."""
    q = fold(question)
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
    # "which accounts have unassigned tasks": a condition with no number is "more than 0"
    which = _WHICH.search(q)
    if which and which.group(1) in _LIST_NOUNS:
        out.rows_of = _LIST_NOUNS[which.group(1)]
        out.spans.append((which.start(1), which.end(1), f"rows:{out.rows_of}"))
        has = re.compile(
            rf"\b(?:have|has|had|with|having|carry|carrying|got|show|showing)\s+(?:any\s+|some\s+)?"
            rf"(?:open\s+|outstanding\s+)?(?P<m>{measure_re.pattern[3:-3]})\b"
        )
        for match in has.finditer(q):
            if free(match.start("m"), match.end("m")):
                measure = measures_by_phrase[match.group("m")]
                if REGISTRY.measures[measure].temporal == "state" or "task" in match.group("m"):
                    out.where.append(Condition(measure, ">", 0.0))
                    taken.append((match.start("m"), match.end("m")))
                    out.spans.append((match.start(), match.end(), f"where:{measure}"))
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
    return out
