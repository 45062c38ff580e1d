"""Answers written from Jinja2 templates in ``prompts/`` — the offline planner's voice.

Filters only format numbers the tools returned (thousands separators, fractions
as percentages, seconds as minutes or hours), so a templated answer passes the
grounding check by construction. Text that comes from data — project, account
and user names, task titles — goes through ``q``: quoted, stripped of line
breaks, control characters and markup, and cut to length, so it reads as data
and can never pass as an instruction.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from metrics.semantic.vocabulary import REGISTRY

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
_CONTROL = re.compile(r"[\x00-\x1f\x7f`*_<>\[\]{}|#]")


def num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def pct(value: Any) -> str:
    """A fraction (0.451) as a percentage (45.1%)."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


def change(value: Any) -> str:
    """A percent change (−11.1) in words."""
    if value is None:
        return "no comparison: nothing in the previous period"
    if value == 0:
        return "unchanged"
    return f"{'up' if value > 0 else 'down'} {abs(value):.1f}%"


def secs(value: Any) -> str:
    """Seconds as seconds, minutes or hours, one decimal."""
    if value is None:
        return "n/a"
    if value < 90:
        return f"{value:.0f} s"
    if value < 5400:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def day(value: Any) -> str:
    """An ISO timestamp or date as '3 Nov 2026'."""
    if not value:
        return "never"
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return f"{moment.day} {moment:%b %Y}"


def month(value: Any) -> str:
    """An ISO date as 'Nov 2026' (a month bucket)."""
    if not value:
        return "never"
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return f"{moment:%b %Y}"


def bucket(value: Any, size: str) -> str:
    """A trend bucket in a sentence: 'on 1 Dec 2026', 'in the week of 30 Nov', 'in Dec 2026'."""
    if size == "day":
        return f"on {day(value)}"
    if size == "month":
        return f"in {month(value)}"
    return f"in the {size} of {day(value)}"


def plural(count: Any, one: str, many: str) -> str:
    """``one`` or ``many`` after ``count`` ('1 inactive project', '3 inactive projects')."""
    return one if count == 1 else many


def field(value: Any, key: str) -> str:
    """A number of a tool result named ``key``, written as the dashboard shows it: ratios
    as percentages, seconds as minutes, instants as dates (never ISO), counts with commas."""
    from metrics.formatting import format_for

    fmt = format_for(key, value)
    if value is None:
        return "n/a"
    if fmt == "percent":
        return pct(value)
    if fmt == "seconds":
        return secs(value)
    if fmt in ("date", "datetime"):
        return day(value)
    if isinstance(value, int | float):
        return num(value)
    return q(value)


def q(value: Any, limit: int = 80) -> str:
    """Data text, quoted and neutralized."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"“{text}”"


def window(envelope: dict[str, Any]) -> str:
    """The window of a tool result in words: 'this month (1 Nov 2026 – 22 Nov 2026)'."""
    span = envelope.get("window") or {}
    if not span:
        return ""
    start = day(span["from"])
    last = day(span["last_day"])
    name = (span.get("range") or "").replace("_", " ")
    dates = start if start == last else f"{start} – {last}"
    return f"{name} ({dates})" if name else dates


_YES_NO = re.compile(
    r"^(?:so |and |ok |okay |tell me )?(?:are|is|was|were|did|do|does|have|has|had|can|will|"
    r"would|should|am)\b",
    re.IGNORECASE,
)


def yes_no(question: str) -> bool:
    """Is ``question`` asked for a yes or a no ("are we beating the benchmark?")?"""
    return bool(_YES_NO.match(question.strip()))


def period(envelope: dict[str, Any], measures: list[str]) -> str:
    """The window of a query's figures — or, when every measure is a state (open tasks,
    invited users), the day they hold at ("as of 22 Nov 2026")."""
    states = [REGISTRY.measures[m].temporal == "state" for m in measures if m in REGISTRY.measures]
    if states and all(states):
        return f"as of {day((envelope.get('window') or {}).get('last_day'))}"
    return window(envelope)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PROMPTS),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters.update(
        num=num, pct=pct, change=change, secs=secs, day=day, month=month, q=q, field=field,
        plural=plural, bucket=bucket, label=REGISTRY.label, yes_no=yes_no,
    )  # fmt: skip
    env.globals.update(
        window=window, period=period, filter_names=list(REGISTRY.filters), label=REGISTRY.label
    )
    return env


def render(template: str, **context: Any) -> str:
    """Render ``prompts/<template>`` and tidy blank lines."""
    text = environment().get_template(template).render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def compose(envelope: dict[str, Any], question: str = "", focus: str | None = None) -> str:
    """The templated answer for one tool result envelope (or its error)."""
    if "error" in envelope:
        return render("answers/error.j2", r=envelope)
    return render(
        f"answers/{envelope['tool']}.j2",
        r=envelope,
        data=envelope.get("data", {}),
        args=envelope.get("arguments", {}),
        focus=focus,
        question=question,
    )
