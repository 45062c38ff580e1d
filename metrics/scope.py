"""Scope of every metric (SPEC §3): as-of instant, window and filters.

* ``as_of`` plays "now". A date D means the end of that day (D+1 00:00 UTC).
  Named ranges are relative to D, the UTC date of as_of.
* The window is ``[start, end)``: explicit whole days (``to`` inclusive) or a
  named range. Default ``last_30_days``.
* Everything is counted up to ``until = min(end, as_of)``: flow metrics in
  ``[start, until)``, state metrics at ``until``; nothing after as_of is seen.

:func:`resolve_scope` turns user input (CLI flags, query parameters, tool
arguments) into a validated :class:`Scope`, with clear errors for unknown
range names, reversed dates and unknown owners, accounts or projects.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy import Connection

from metrics.errors import ScopeError
from metrics.ingest.contract import PARTNER_TYPES, PROJECT_STATUSES
from metrics.semantic.resolve import EntityKind, playbooks, resolve_entity, resolve_value
from metrics.semantic.vocabulary import REGISTRY

RANGES = tuple(REGISTRY.ranges)
"""The named ranges, as declared in the semantic registry."""
DEFAULT_RANGE = "last_30_days"
T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    name: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Window:
        """The window to compare with: the period before, or the same days of it.

        ``last_month`` → the whole month before; ``this_month`` (day 1 to D) →
        the same number of days from the previous month's first day, never past
        its end; likewise for quarters and years. Any other window → the same
        length just before it.
        """
        months = _PERIOD_MONTHS.get((self.name or "").split("_", 1)[-1])
        if months is None:
            length = self.end - self.start
            return Window(self.start - length, self.start, None)
        start = _midnight(_add_months(self.start.date(), -months))
        if self.name.startswith("last_"):  # type: ignore[union-attr]
            return Window(start, self.start, None)
        return Window(start, min(start + (self.end - self.start), self.start), None)


_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class Filters:
    """Resolved filters: ids, never names. Empty means "no filter"."""

    owner: str | None = None
    accounts: tuple[str, ...] = ()
    playbook: str | None = None
    partner_type: str | None = None
    status: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    """Member ids: like ``owner``, for any of them (a manager's team, in digests)."""

    @property
    def empty(self) -> bool:
        return self == Filters()

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, ())}


@dataclass(frozen=True)
class Scope:
    workspace_id: int
    as_of: datetime
    window: Window
    filters: Filters = field(default_factory=Filters)
    as_of_date: date | None = None
    """D, the date named ranges are relative to (given date, or the instant's UTC date)."""

    def __post_init__(self) -> None:
        if self.as_of_date is None:
            object.__setattr__(self, "as_of_date", self.as_of.astimezone(UTC).date())

    @property
    def start(self) -> datetime:
        return self.window.start

    @property
    def until(self) -> datetime:
        """End of counting: ``min(window end, as_of)``."""
        return min(self.window.end, self.as_of)

    def with_window(self, window: Window) -> Scope:
        return replace(self, window=window)

    def previous(self) -> Scope:
        """The same scope over :meth:`Window.previous`, as_of unchanged."""
        return self.with_window(self.window.previous())

    def describe(self) -> dict[str, object]:
        """JSON-ready provenance: as_of, window (``to`` exclusive, ``last_day`` the last date
        counted), range and filters."""
        return {
            "as_of": iso(self.as_of),
            "from": iso(self.start),
            "to": iso(self.until),
            "last_day": (self.until - timedelta(microseconds=1)).date().isoformat(),
            "range": self.window.name,
            "filters": self.filters.as_dict(),
        }


def iso(value: datetime) -> str:
    """ISO 8601 UTC with a Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _month_start(value: datetime | date) -> datetime:
    return _midnight(date(value.year, value.month, 1))


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_as_of(
    value: str | date | datetime | None, *, now: datetime | None = None
) -> tuple[datetime, date]:
    """as_of as (instant, D): a date D means the end of D; None means now."""
    if value is None:
        instant = (now or datetime.now(UTC)).astimezone(UTC)
        return instant, instant.date()
    if isinstance(value, datetime):
        _supported(value.date(), "as_of")
        instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return instant, _supported(instant.date(), "as_of")
    if isinstance(value, date):
        return _midnight(_supported(value, "as_of") + timedelta(days=1)), value
    text = value.strip()
    if len(text) == 10:
        try:
            return parse_as_of(date.fromisoformat(text))
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ScopeError(
            f"as_of: {value!r} is not a date (YYYY-MM-DD) or ISO 8601 instant"
        ) from None
    return parse_as_of(parsed)


def named_window(name: str, day: date) -> Window:
    """A named range relative to the as-of date ``day``."""
    end = _midnight(day + timedelta(days=1))
    if name.startswith("last_") and name.endswith("_days"):
        count = int(name.removeprefix("last_").removesuffix("_days"))
        return Window(end - timedelta(days=count), end, name)
    if name == "this_month":
        return Window(_month_start(day), end, name)
    if name == "this_quarter":
        return Window(_midnight(_quarter_start(day)), end, name)
    if name == "this_year":
        return Window(_midnight(date(day.year, 1, 1)), end, name)
    if name == "last_month":
        first = date(day.year, day.month, 1)
        return Window(_midnight(_add_months(first, -1)), _midnight(first), name)
    if name == "last_quarter":
        first = _quarter_start(day)
        return Window(_midnight(_add_months(first, -3)), _midnight(first), name)
    if name == "last_year":
        return Window(_midnight(date(day.year - 1, 1, 1)), _midnight(date(day.year, 1, 1)), name)
    raise ScopeError(_unknown("range", name, RANGES))


def explicit_window(start: str | date, end: str | date) -> Window:
    """``[from, to]`` as whole days: ``to`` is inclusive."""
    first = _parse_day(start, "from")
    last = _parse_day(end, "to")
    if first > last:
        raise ScopeError(f"from ({first}) is after to ({last})")
    return Window(_midnight(first), _midnight(last + timedelta(days=1)), None)


def _parse_day(value: str | date, label: str) -> date:
    if isinstance(value, date):
        return _supported(value, label)
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ScopeError(f"{label}: {value!r} is not a date (YYYY-MM-DD)") from None
    return _supported(day, label)


FIRST_YEAR, LAST_YEAR = 1900, 9998
"""Dates a scope may name: windows, their previous periods and as-of instants all stay
inside the calendar's arithmetic (no overflow near year 1 or 9999)."""


def _supported(day: date, label: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ScopeError(
            f"{label}: {day.isoformat()} is outside the supported range "
            f"(years {FIRST_YEAR} to {LAST_YEAR})"
        )
    return day


def _unknown(what: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    lowered = {c.lower(): c for c in choices}
    close = [lowered[c] for c in difflib.get_close_matches(value.lower(), lowered, n=3, cutoff=0.4)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    if len(choices) <= 12:
        hint += f" (one of: {', '.join(choices)})"
    return f"unknown {what} {value!r}{hint}"


def resolve_scope(
    conn: Connection,
    workspace_id: int,
    *,
    as_of: str | date | datetime | None = None,
    range: str | None = None,
    start: str | date | None = None,
    end: str | date | None = None,
    owner: str | None = None,
    accounts: tuple[str, ...] | list[str] = (),
    playbook: str | None = None,
    partner_type: str | None = None,
    status: tuple[str, ...] | list[str] = (),
    projects: tuple[str, ...] | list[str] = (),
    team: tuple[str, ...] | list[str] = (),
    now: datetime | None = None,
) -> Scope:
    """Validate user input into a :class:`Scope`. Names or ids are accepted for entities.

    Every problem of the input is reported at once: one :class:`ScopeError` whose
    ``problems`` list each unknown or ambiguous name (and each bad date or range)."""
    problems: list[ScopeError] = []

    def checked(resolve: Callable[..., T], *args: object) -> T | None:
        try:
            return resolve(*args)
        except ScopeError as exc:
            problems.append(exc)
            return None

    def each(resolve: Callable[..., str], *args: object, values: Sequence[str]) -> tuple[str, ...]:
        found = (checked(resolve, *args, value) for value in values)
        return tuple(dict.fromkeys(f for f in found if f is not None))

    parsed = checked(partial(parse_as_of, now=now), as_of)
    window: Window | None = None
    if range and (start or end):
        problems.append(ScopeError("give either a named range or from/to, not both"))
    elif start and end:
        window = checked(explicit_window, start, end)
    elif start or end:
        problems.append(ScopeError("from and to go together: give both"))
    else:
        name = (range or DEFAULT_RANGE).strip().lower()
        if name not in RANGES:
            problems.append(ScopeError(_unknown("range", name, RANGES)))
        elif parsed is not None:
            window = named_window(name, parsed[1])
    ws = workspace_id
    filters = Filters(
        owner=checked(_resolve, conn, ws, "member", owner) if owner else None,
        accounts=each(_resolve, conn, ws, "account", values=accounts),
        playbook=checked(_resolve_playbook, conn, ws, playbook) if playbook else None,
        partner_type=checked(_enum, "partner_type", partner_type, PARTNER_TYPES)
        if partner_type
        else None,
        status=each(_status, values=status),
        projects=each(_resolve, conn, ws, "project", values=projects),
        team=each(_resolve, conn, ws, "member", values=team),
    )
    if problems:
        raise ScopeError.together(problems)
    assert parsed is not None and window is not None
    instant, day = parsed
    return Scope(workspace_id, instant, window, filters, day)


def _enum(what: str, value: str, allowed: tuple[str, ...]) -> str:
    return resolve_value(what, value.replace("-", "_"), allowed)


def _status(value: str) -> str:
    return _enum("status", value, PROJECT_STATUSES)


def _resolve(conn: Connection, workspace_id: int, what: EntityKind, value: str) -> str:
    """An id, or a name of an account, project or team member (strict: no fuzzy guess)."""
    label = "owner" if what == "member" else what
    return resolve_entity(conn, workspace_id, what, value, strict=True, label=label)


def _resolve_playbook(conn: Connection, workspace_id: int, value: str) -> str:
    return resolve_value("playbook", value, playbooks(conn, workspace_id))
