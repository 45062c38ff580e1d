"""The completeness check: a model's answer must carry the headline of the templated one.

Grounding proves that every number a model wrote came from a tool; it cannot see
the figure the model *left out* ("Yes, people are logging in more" with no
number), nor a list cut to one name. The templated answer written from the same
tool results (:func:`assistant.answers.compose`, the offline planner's voice)
knows what the question asked for, so it is the reference:

* **figures**: the bold figures of its first line (the one the question asked
  about), or, when nothing is bold, every figure of that line except dates and
  the period's own numbers ("last 30 days") and numbers the question wrote;
* **names**: the quoted names (“…”) of its first line and of its first
  :data:`NAMES` list items.

A stated figure counts when it rounds the reference at the decimals it is written
with ("1,191" for 1191, "41%" for "41.2%"); a name counts when it appears with
case, accents and punctuation ignored. An answer that misses any of them is
replaced by the reference (the service records what was missing), so a model
can change the words of an answer but never make it say less than the offline
planner would.
"""

from __future__ import annotations

import re

from assistant.grounding import Stated, stated_numbers
from assistant.planner.parse import fold

NAMES = 5
"""List items whose names a model's answer must keep."""

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_QUOTED = re.compile(r"“([^”]+)”")
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•])\s")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_HUMAN_DATE = re.compile(
    rf"\b\d{{1,2}}\s+(?:{_MONTHS})[a-z]*\.?(?:\s+\d{{4}})?\b|\b(?:{_MONTHS})[a-z]*\.?\s+\d{{4}}\b",
    re.IGNORECASE,
)
_SCOPE = re.compile(r"\b(?:last|past|previous|next)\s+\d+\s+[a-z]+", re.IGNORECASE)


def missing_from(answer: str, reference: str, question: str = "") -> list[str]:
    """The headline figures and names of ``reference`` that ``answer`` does not state."""
    lines = [line for line in reference.splitlines() if line.strip()]
    if not lines:
        return []
    headline = lines[0]
    figures = _required_figures(headline, question)
    missing = list(dict.fromkeys(f.text for f in figures if not _stated(f, answer)))
    items = [line for line in lines[1:] if _LIST_ITEM.match(line)][:NAMES]
    names = [m.group(1) for line in [headline, *items] for m in _QUOTED.finditer(line)]
    said = _fold(answer)
    missing += [f"“{name}”" for name in dict.fromkeys(names) if _fold(name) not in said]
    return missing


def _required_figures(headline: str, question: str) -> list[Stated]:
    bold = " ".join(_BOLD.findall(headline))
    text = bold if bold else _QUOTED.sub(" ", headline)
    asked = {s.value for s in stated_numbers(question)}
    plain = _SCOPE.sub(" ", _HUMAN_DATE.sub(" ", text))
    return [s for s in stated_numbers(plain) if s.value not in asked]


def _stated(figure: Stated, answer: str) -> bool:
    """Does ``answer`` state ``figure``, possibly rounded?"""
    for said in stated_numbers(_HUMAN_DATE.sub(" ", answer)):
        tolerance = 0.5 * 10 ** (-said.decimals) + 1e-9
        if abs(abs(said.value) - abs(figure.value)) <= tolerance:
            return True
    return False


def _fold(text: str) -> str:
    """Folded (:func:`~assistant.planner.parse.fold`) with punctuation read as spaces."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).split())
