"""Time buckets for trends: which buckets a window has, and bucket keys in SQL.

Instants are integer epoch milliseconds in every backend, so a day number is
``ms // 86_400_000`` and an ISO week number (weeks starting on Monday) is
``(day + 3) // 7`` (1970-01-01 was a Thursday). Months have no such
arithmetic; they are keyed with a ``CASE`` over their boundaries, which are
few (one per month of the window).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import BigInteger, ColumnElement, case, literal, type_coerce

from metrics.models import MS_PER_DAY, to_millis
from metrics.scope import Scope

BUCKETS = ("day", "week", "month")
DAY_BUCKET_BELOW_DAYS = 14
"""Windows shorter than this many days get daily buckets."""
WEEK_BUCKET_UP_TO_DAYS = 60
"""Windows from 14 up to this many days get weekly buckets; longer ones monthly."""

_EPOCH_DAY = date(1970, 1, 1)


def choose_bucket(scope: Scope, bucket: str | None) -> str:
    """The bucket size: ``bucket`` if given (validated), else by the window's length in days."""
    if bucket is not None:
        name = bucket.strip().lower()
        if name not in BUCKETS:
            raise ValueError(f"unknown bucket {bucket!r}: use one of {', '.join(BUCKETS)}")
        return name
    days = (scope.window.end - scope.window.start) / timedelta(days=1)
    if days < DAY_BUCKET_BELOW_DAYS:
        return "day"
    if days <= WEEK_BUCKET_UP_TO_DAYS:
        return "week"
    return "month"


def label(day: date, bucket: str) -> date:
    """The label of the bucket holding ``day``: the day, its week's Monday, or its month's 1st."""
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next(period: date, bucket: str) -> date:
    if bucket == "day":
        return period + timedelta(days=1)
    if bucket == "week":
        return period + timedelta(days=7)
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def periods(scope: Scope, bucket: str) -> list[date]:
    """Labels of every bucket that overlaps ``[start, until)``, in order (empty if none)."""
    start, until = scope.start, scope.until
    if until <= start:
        return []
    last_day = (until - timedelta(milliseconds=1)).astimezone(UTC).date()
    out = []
    period = label(start.astimezone(UTC).date(), bucket)
    while period <= last_day:
        out.append(period)
        period = _next(period, bucket)
    return out


def midnight_ms(day: date) -> int:
    """Epoch milliseconds of ``day`` at 00:00 UTC."""
    return to_millis(datetime.combine(day, time(0), tzinfo=UTC))


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - _EPOCH_DAY).days


def bucket_key(column: ColumnElement, bucket: str, labels: list[date]) -> ColumnElement:
    """SQL integer key of the bucket of an epoch-ms instant ``column``: index into ``labels``.

    Only meaningful for instants inside the buckets (the caller filters the window).
    """
    ms = type_coerce(column, BigInteger)
    day = ms // MS_PER_DAY
    if bucket == "day":
        return day - day_number(labels[0])
    if bucket == "week":
        return (day + 3) // 7 - (day_number(labels[0]) + 3) // 7
    if len(labels) == 1:
        return literal(0)
    whens = [(ms < midnight_ms(labels[i + 1]), literal(i)) for i in range(len(labels) - 1)]
    return case(*whens, else_=literal(len(labels) - 1))
