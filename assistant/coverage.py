"""Does the answer answer the question asked? Every mention of the question, used.

``grounded`` says an answer's numbers come from this turn's tool results; it says
nothing about whether those results are about what was asked (a real number from the
wrong query is grounded). ``covered`` checks the other half: each thing the question
names — an entity, a period, a measure, a parameter, a filter value — was used by a
tool call of this turn (it is in the call's arguments or in what the call returned).

The mentions are read with the planner's own readers (names from the entity index,
the registry's measures, the window and parameter slots), so the check holds for any
provider: the offline planner, a real model, or an MCP client's calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant.answers import day
from assistant.planner.entities import EntityIndex
from assistant.planner.extract import extract, strip_instructions
from assistant.planner.parse import fold, parse
from tools.catalog import SPECS

CONCEPTS = {spec.name: spec.concepts for spec in SPECS}

_ALIASES = {"unique_users": ("users", "mau", "wau", "dau", "users_with_session")}
"""Result keys that carry a measure under another name (the leaderboard's ``users``)."""
_NO_FIGURES = ("search_entities", "define_metric")
"""Tools that answer with names or words: a clarification or a definition."""
BLOCKING = ("entity", "window", "parameter", "filter")
"""Kinds of unused mention that make an answer about something else: the reply asks."""


@dataclass(frozen=True)
class Mention:
    kind: str
    """entity, window, measure, parameter or filter."""
    text: str
    """How the question wrote it (or the value read from it)."""
    said: str = ""
    """How a reply names it without figures of its own (a figure no tool returned would
    be an ungrounded number): "the period you asked for", "the cost per ticket you gave"."""

    @property
    def phrase(self) -> str:
        return self.said or self.text


@dataclass
class Coverage:
    covered: bool
    unused: list[Mention] = field(default_factory=list)

    @property
    def blocking(self) -> list[Mention]:
        """Unused mentions that change which figures are right (not only which to lead with)."""
        return [m for m in self.unused if m.kind in BLOCKING]

    def as_dict(self) -> dict[str, Any]:
        return {"covered": self.covered, "unused": [m.text for m in self.unused]}


def check_coverage(
    question: str, envelopes: list[dict[str, Any]], index: EntityIndex, today: date
) -> Coverage:
    """Which mentions of ``question`` no tool call of this turn used."""
    question, _ = strip_instructions(question)
    question = index.correct(question)
    envelopes = [e for e in envelopes if "error" not in e and e.get("tool") not in _NO_FIGURES]
    if not envelopes:
        return Coverage(True)  # no figures given: nothing answered a different question
    text = json.dumps(envelopes, ensure_ascii=False, default=str)
    folded: list[str] = []  # folded only when a name is not in the results as written

    def said(name: str) -> bool:
        if name in text:
            return True
        if not folded:
            folded.append(fold(text))
        return fold(name) in folded[0]

    arguments = [e.get("arguments") or {} for e in envelopes]
    windows = [e.get("window") or {} for e in envelopes]
    slots = extract(question, today)
    parsed = parse(question, {"role": index.roles})
    unused: list[Mention] = []
    for mention in index.find(question):
        if mention.kind in ("account", "partner", "project", "member", "user", "playbook") and (
            not said(mention.name) and not said(mention.id)
        ):
            unused.append(Mention("entity", mention.name))
    wanted = slots.compare_windows or ([slots.window] if slots.window else [])
    for window in wanted:
        used = any(_same_window(window, w, a) for w, a in zip(windows, arguments, strict=True))
        spanned = slots.span_days and any(a.get("days") == slots.span_days for a in arguments)
        if not used and not spanned:
            unused.append(Mention("window", _show(window), "the period you asked for"))
    about = {c for e in envelopes for c in CONCEPTS.get(str(e.get("tool")), ())}
    for measure in parsed.measures:
        keys = (measure, *_ALIASES.get(measure, ()))
        if not any(f'"{key}"' in text for key in keys) and not {measure, "*"} & about:
            unused.append(Mention("measure", measure))
    for name in ("cost_per_ticket", "gain", "portal_cost"):
        value = getattr(slots, name)
        if value is not None and not any(_equal(a.get(name), value) for a in arguments):
            label = name.replace("_", " ")
            unused.append(Mention("parameter", f"{label} {value:g}", f"the {label} you gave"))
    for name in ("partner_type", "status"):
        value = getattr(slots, name)
        if value and f'"{value}"' not in text:
            unused.append(Mention("filter", value))
    return Coverage(not unused, unused)


def _same_window(wanted: dict[str, str], got: dict[str, Any], args: dict[str, Any]) -> bool:
    if "range" in wanted:
        return got.get("range") == wanted["range"] or args.get("range") == wanted["range"]
    start = str(got.get("from") or "")[:10]
    last = str(got.get("last_day") or got.get("to") or "")[:10]
    return (start == wanted.get("from") and last == wanted.get("to")) or (
        args.get("from") == wanted.get("from") and args.get("to") == wanted.get("to")
    )


def _equal(given: Any, wanted: float) -> bool:
    return isinstance(given, int | float) and abs(float(given) - wanted) < 1e-9


def _show(window: dict[str, str]) -> str:
    """A window in words, dates as the answers write them ("9 Mar 2026 – 10 Mar 2026")."""
    if "range" in window:
        return window["range"].replace("_", " ")
    start, end = day(window.get("from")), day(window.get("to"))
    return start if start == end else f"{start} – {end}"
