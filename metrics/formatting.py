"""One formatter for every value a person reads: CLI tables, chat data tables, prose.

:func:`format_value` takes a value and one of the display formats in
:data:`FORMATS` — the names the semantic layer's measures and columns carry —
and returns the text shown for it. ``web/static/js/format.js`` mirrors it for the
page (``tests/test_formatting.py`` checks that both give the same text).

:func:`format_for` gives the format of a field of a metrics result: the one the
semantic registry declares for it (measures and table columns), else one read from
its name, for the fields the registry does not declare.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any, Final, get_args

from metrics.semantic.registry import Format
from metrics.semantic.vocabulary import REGISTRY

FORMATS: Final[tuple[str, ...]] = get_args(Format)
"""The display formats, as the semantic registry declares them."""
MISSING: Final = "—"
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ENUM = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_INSTANT = re.compile(
    r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})"
)


def format_value(value: Any, fmt: str) -> str:
    """``value`` as text in display format ``fmt`` (one of :data:`FORMATS`).

    ``None`` (and NaN) is ``—`` in every format; booleans are ``yes``/``no``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown display format {fmt!r}; one of: {', '.join(FORMATS)}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if fmt == "text":
        return text(value)
    if fmt in ("date", "datetime"):
        moment = _moment(value)
        if moment is None:
            return str(value)
        return day_text(moment) if fmt == "date" else datetime_text(moment)
    if not isinstance(value, int | float):
        return str(value)
    if fmt == "count":
        return f"{round(value):,}"
    if fmt == "seconds":
        return duration(value)
    if fmt == "percent":
        return f"{_one_decimal(value * 100)}%"
    if fmt == "currency":
        return f"{value:,.2f}"
    if fmt == "score":
        return f"{value:,.1f}"
    return _one_decimal(value)  # number


def _one_decimal(value: float) -> str:
    """At most one decimal, no trailing ``.0``: 1,234 · 72.7 · 0.1."""
    rounded = round(float(value), 1)
    if rounded == 0:
        return "0"
    return f"{rounded:,.0f}" if rounded.is_integer() else f"{rounded:,.1f}"


def duration(seconds: float) -> str:
    """Seconds as ``45s``, ``12m 22s`` or ``1h 05m``."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes}m {s % 60:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def text(value: Any) -> str:
    """An enum value in words (``in_progress`` → ``In progress``); other text as it is."""
    shown = str(value)
    if _ENUM.match(shown):
        shown = shown.replace("_", " ")
        return shown[:1].upper() + shown[1:]
    return shown


def _moment(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        if _ISO_DAY.match(value):
            return date.fromisoformat(value)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def day_text(moment: date) -> str:
    """``22 Nov 2026`` (the UTC date of an instant)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def datetime_text(moment: date) -> str:
    """``22 Nov 2026 12:50`` in UTC; a plain date stays a date."""
    if not isinstance(moment, datetime):
        return day_text(moment)
    moment = moment.astimezone(UTC)
    return f"{day_text(moment)} {moment:%H:%M}"


# -- formats of the metrics results' fields, by name --------------------------------------

FIELD_FORMATS: Final[dict[str, str]] = {  # result fields the registry does not declare
    "share": "percent",
    "rate": "percent",
    "stickiness": "percent",
    "mobile_share": "percent",
    "self_service_rate": "percent",
    "benchmark": "percent",
    "change": "percent",
    "overdue_share": "percent",
    "weight": "number",
    "savings": "currency",
    "cost_per_ticket": "currency",
    "gain": "currency",
    "portal_cost": "currency",
    "period": "date",
    "active_date": "date",
    "due_on": "date",
    "from": "date",
    "to": "date",
    "last_day": "date",
    "last_login": "datetime",
    "last_activity": "datetime",
    "at": "datetime",
    "as_of": "datetime",
    "kind": "text",
    "status": "text",
    "partner_type": "text",
    "signal": "text",
    "severity": "text",
    "risk_level": "text",
    "engagement_level": "text",
    "on_time_health": "text",
    "action": "text",
    "device": "text",
    "type": "text",
    "entity_type": "text",
    "role": "text",
    "resolution": "text",
}


def format_for(key: str, value: Any = None) -> str | None:
    """The display format of a result field called ``key`` (holding ``value``).

    ``None`` for free text (names, titles), which is shown as it is.
    """
    declared = REGISTRY.format_of(key)  # "text" there also covers names and ids: not used
    if declared != "text":
        return declared
    if key in FIELD_FORMATS:
        return FIELD_FORMATS[key]
    if key.endswith("_seconds"):
        return "seconds"
    if key.endswith(("_rate", "_share", "_ratio")):
        return "percent"
    if key.endswith("_at"):
        return "datetime"
    if key.endswith("_on"):
        return "date"
    if isinstance(value, bool | int) or (isinstance(value, float) and value.is_integer()):
        return "count"
    if isinstance(value, float):
        return "number"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return None


def format_field(key: str, value: Any) -> str:
    """``value`` of field ``key`` formatted as its name says (free text as it is)."""
    fmt = format_for(key, value)
    if fmt is None:
        return MISSING if value is None else prose_instants(str(value))
    return format_value(value, fmt)


def prose_instants(text: str) -> str:
    """Free text with every ISO 8601 instant in it written as a date in prose."""
    return _ISO_INSTANT.sub(lambda m: format_value(m.group(0), "datetime"), text)
