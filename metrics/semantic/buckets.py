"""Calendar buckets of a window (day, ISO week, month) as SQL index expressions.

Every bucket expression yields an integer index into :attr:`Buckets.starts`,
so the SQL stays portable (integer arithmetic on epoch milliseconds, or a
CASE over the few month boundaries) and labels are made in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import BigInteger, ColumnElement, case, literal, type_coerce

from metrics.models import MS_PER_DAY, to_millis
from metrics.scope import Scope, _add_months, _midnight

BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class Buckets:
    kind: str
    starts: tuple[date, ...]
    """The first day of every bucket overlapping the window, in order."""

    @classmethod
    def of(cls, kind: str, scope: Scope) -> Buckets:
        first = scope.start.date()
        last = (
            (scope.until - timedelta(microseconds=1)).date() if scope.until > scope.start else first
        )
        if kind == "day":
            day = first
        elif kind == "week":
            day = first - timedelta(days=first.weekday())
        else:
            day = first.replace(day=1)
        starts = []
        while day <= last:
            starts.append(day)
            day = _next(kind, day)
        return cls(kind, tuple(starts))

    def index(self, column: ColumnElement, *, is_date: bool = False) -> ColumnElement:
        """SQL: the bucket index of ``column`` (epoch ms, or a Date when ``is_date``)."""
        if not self.starts:
            return literal(0)
        if is_date:
            return self._case(column, list(self.starts))
        column = type_coerce(column, BigInteger)  # epoch ms as a plain integer, not a datetime
        origin = to_millis(_midnight(self.starts[0]))
        if self.kind == "day":
            return (column - origin) // MS_PER_DAY
        if self.kind == "week":
            return (column - origin) // (7 * MS_PER_DAY)
        return self._case(column, [to_millis(_midnight(s)) for s in self.starts])

    def _case(self, column: ColumnElement, bounds: list) -> ColumnElement:
        whens = [(column >= bound, literal(i)) for i, bound in reversed(list(enumerate(bounds)))]
        return case(*whens, else_=literal(0))

    def of_date(self, day: date) -> int:
        """Python: the bucket index of a day inside the window."""
        for i in range(len(self.starts) - 1, -1, -1):
            if day >= self.starts[i]:
                return i
        return 0

    def label(self, index: int) -> str:
        return self.starts[index].isoformat()


def _next(kind: str, day: date) -> date:
    if kind == "day":
        return day + timedelta(days=1)
    if kind == "week":
        return day + timedelta(days=7)
    return _add_months(day, 1)
