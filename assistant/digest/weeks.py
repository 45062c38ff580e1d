"""ISO weeks (Monday to Sunday, UTC dates) and when a subscription's digest is due.

A digest is about one whole ISO week; as-of is the end of its Sunday, so the
same week always gives the same numbers. The digest for week W is due at the
subscription's local day and hour of week W+1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


class WeekError(ValueError):
    """Not an ISO week, day name, hour or time zone; the message says which and why."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def shift(self, weeks: int) -> IsoWeek:
        return week_of(self.monday + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return self.label


def week_of(day: date) -> IsoWeek:
    year, week, _ = day.isocalendar()
    return IsoWeek(year, week)


FIRST_YEAR, LAST_YEAR = 1901, 9998
"""Weeks a digest can be built for: its trend reads 8 weeks back, and every instant stored
lies in 1900 … 9998 (``metrics.ingest.contract.SUPPORTED_RANGE``)."""


def parse_week(text: str) -> IsoWeek:
    """``2026-W47`` (or ``2026W47``) → :class:`IsoWeek`."""
    match = _WEEK.match(text.strip())
    if not match:
        raise WeekError(f"week: {text!r} is not an ISO week like 2026-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise WeekError(f"week: {year} has no week {week}") from None
    if not FIRST_YEAR <= year <= LAST_YEAR:  # a digest reads the weeks before it, and links on
        raise WeekError(f"week: {text.strip()!r} is outside {FIRST_YEAR}-W01 … {LAST_YEAR}-W52")
    return IsoWeek(year, week)


def last_complete_week(now: datetime | None = None) -> IsoWeek:
    """The ISO week before the one containing ``now`` (UTC)."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return week_of(today).shift(-1)


def parse_day(text: str) -> str:
    day = text.strip().lower()[:3]
    if day not in DAYS:
        raise WeekError(f"day: {text!r} is not a day of the week ({', '.join(DAYS)})")
    return day


def check_hour(hour: int) -> int:
    if not 0 <= hour <= 23:
        raise WeekError(f"hour: {hour} is not an hour of the day (0-23)")
    return hour


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WeekError(
            f"time zone: {name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from None


def due_week(day: str, hour: int, tz: str, now: datetime) -> IsoWeek | None:
    """The week whose digest is due at ``now`` for a (day, hour, tz) schedule, if any.

    In local time, let C be the current ISO week and S the scheduled moment in it.
    From S to the end of C the week before C is due (so a server that was down at S
    catches up later that week; the ledger makes re-checking harmless). Before S
    nothing is due: a digest missed a whole week is stale and is not sent late.
    """
    local = now.astimezone(zone(tz))
    current = week_of(local.date())
    scheduled = local.replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(
        days=DAYS.index(day) - local.weekday()
    )
    return current.shift(-1) if local >= scheduled else None
