"""The grounding check: every number in an answer must come from this turn's tool results.

A number stated in an answer is *grounded* when it is, within the rounding its
own decimals imply, one of:

* a number in the tool results (or in a string there, such as a name or a date);
* that number as a percentage (a fraction between −1 and 1, × 100) or its
  absolute value (a change of −12% may be said as "down 12%");
* a duration in seconds converted to minutes, hours or days;
* a number the user wrote in the question ("top 5", "last 30 days").

Dates and times written ISO-style in the answer are checked as dates: their
parts must appear in the results too. List markers ("1.", "2)") at the start
of a line are not numbers.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?\b")
_LIST_MARKER = re.compile(r"(?m)^\s*\d{1,3}[.)]\s")
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
_CONVERSIONS = (1, 100, 1 / 60, 1 / 3600, 1 / 86400)
"""Same unit, ratio → percent, seconds → minutes, hours, days."""


@dataclass(frozen=True)
class Stated:
    """A number as written in the answer."""

    text: str
    value: float
    decimals: int


@dataclass
class GroundingReport:
    grounded: bool
    ungrounded: list[str] = field(default_factory=list)
    checked: int = 0

    def feedback(self) -> str:
        """What to tell a model whose answer failed the check."""
        listed = ", ".join(self.ungrounded)
        return (
            f"These numbers in your answer are not in the tool results: {listed}. "
            "Use only numbers that the tools returned (you may round them or turn a ratio "
            "into a percentage); call a tool if you need another figure, or leave it out."
        )


def stated_numbers(text: str) -> list[Stated]:
    """Numbers written in ``text``, skipping ISO dates and list markers."""
    cleaned = _LIST_MARKER.sub(" ", _DATE.sub(" ", text))
    found = []
    for match in _NUMBER.finditer(cleaned):
        raw = match.group()
        plain = raw.replace(",", "")
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        found.append(Stated(raw, float(plain), decimals))
    return found


def _numbers_in(value: object) -> Iterable[float]:
    """Every number inside a JSON-like value, including digits inside strings."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        if math.isfinite(value):
            yield float(value)
    elif isinstance(value, str):
        for part in re.findall(r"\d+(?:\.\d+)?", value):
            yield float(part)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numbers_in(item)


def _candidates(results: Iterable[object], question: str) -> list[float]:
    values = set()
    for number in _numbers_in(list(results)):
        for factor in _CONVERSIONS:
            if factor == 100 and abs(number) > 1:
                continue  # only fractions become percentages: 7 invited is not 700%
            converted = number * factor
            values.add(converted)
            values.add(abs(converted))
    values.update(s.value for s in stated_numbers(question))
    return sorted(values)


def _matches(stated: Stated, candidates: list[float]) -> bool:
    """Is some candidate within the rounding ``stated`` implies? (candidates sorted)"""
    # "12.3" stands for anything in [12.25, 12.35]; "12" for [11.5, 12.5].
    tolerance = 0.5 * 10 ** (-stated.decimals) + 1e-9
    i = bisect_left(candidates, stated.value - tolerance)
    return i < len(candidates) and candidates[i] <= stated.value + tolerance


def check(answer: str, results: Iterable[object], question: str = "") -> GroundingReport:
    """Whether every number in ``answer`` is grounded in ``results`` (parsed tool outputs)."""
    candidates = _candidates(results, question)
    stated = stated_numbers(answer)
    missing = [s.text for s in stated if not _matches(s, candidates)]
    date_parts = [
        part
        for date in _DATE.findall(answer)
        for part in re.findall(r"\d+", date)
        if not _matches(Stated(part, float(part), 0), candidates)
    ]
    ungrounded = list(dict.fromkeys(missing + date_parts))
    return GroundingReport(not ungrounded, ungrounded, len(stated))
