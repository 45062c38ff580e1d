"""Slots from a question: window, direction, limit, kind, status, sort column, focus.

Everything here is deterministic text matching relative to the as-of date. The
planner combines these slots with the arguments of the nearest example
question; a slot found here always wins over the example's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from assistant.planner.parse import fold
from assistant.planner.periods import (
    compared_periods,
    dates,
    month_before_last,
    named_periods,
    normalise_time_words,
    ordinal_periods,
)
from metrics.scope import RANGES
from metrics.semantic.vocabulary import PROJECT_STATUSES

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "a": 1, "an": 1,
}  # fmt: skip
_NUM = r"(\d+|" + "|".join(_NUMBER_WORDS) + r")"
_UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 30, "quarter": 90, "year": 365}
_LAST_SPAN = {"last_month": 30, "last_quarter": 90, "last_year": 365}
_BUCKETS = (
    (r"\bdaily\b|\bper day\b|\bby day\b|\beach day\b|\bday by day\b", "day"),
    (r"\bweekly\b|\bper week\b|\bby week\b|\beach week\b|\bweek by week\b", "week"),
    (r"\bmonthly\b|\bper month\b|\bby month\b|\beach month\b|\bmonth by month\b", "month"),
)
_FUTURE = re.compile(
    r"\bnext (week|month|quarter|year)\b|\bforecast|\bpredict|\bprojection|\bwill be\b"
    r"|\bgoing to be\b"
)
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.?!;]{0,40}?\b(?:instructions?|rules?|"
    r"prompts?|filters?|guidelines|restrictions|scope|everything)\b(?:\s*(?:,|and then|and|then))?",
    re.IGNORECASE,
)
_INSTRUCTION = re.compile(
    r"\b(?:you are now|act as|pretend|from now on|new instructions|developer mode|debug mode|"
    r"jailbreak)\b|^\s*(?:system|assistant|developer)\s*:?\s*$"
    r"|\b(?:say|reply|respond|answer|print|output|report)\b[^.?!;]{0,40}?"
    r"\b(?:were|was|is|are|with|as)\s+[-\d\"“']"
    r"|\b(?:say|reply|respond|answer|print|output|report|write)\s+(?:only\s+|just\s+)?"
    r"(?:zero|none|nothing|yes|no|all clear|\d[\d,.]*|[\"“'])",
    re.IGNORECASE,
)
"""Sentences that talk to the assistant instead of asking about the data (prompt injection)."""


@dataclass
class Slots:
    range: str | None = None
    from_date: str | None = None
    to_date: str | None = None
    span_days: int | None = None
    """A duration the question names ("in two weeks" → 14), for inactivity thresholds."""
    descending: bool | None = None
    limit: int | None = None
    kind: str | None = None
    partner_type: str | None = None
    status: str | None = None
    sort: str | None = None
    focus: str | None = None
    ordinal: int | None = None
    portal_cost: float | None = None
    """A portal cost the question names ("if it cost 5000"), for ROI."""
    cost_per_ticket: float | None = None
    """What one agent-handled ticket costs ("at $40 a ticket"), for deflection savings."""
    gain: float | None = None
    """A gain the question names ("and it brought in 2000"), set against the portal cost."""
    bucket: str | None = None
    """Trend bucket the question names ("daily", "per week")."""
    compared: bool = False
    """The question compares with the previous period ("compared to last month")."""
    future: bool = False
    """The question asks about the future ("next month", "forecast"): no data can answer."""
    quoted: list[str] = field(default_factory=list)
    compare_windows: list[dict[str, str]] = field(default_factory=list)
    """Two named periods set against each other ("May vs April"), as windows, first first."""

    @property
    def window(self) -> dict[str, str]:
        if self.range:
            return {"range": self.range}
        if self.from_date and self.to_date:
            return {"from": self.from_date, "to": self.to_date}
        return {}


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS[text]


def _named_days(days: int) -> str | None:
    return {7: "last_7_days", 14: "last_14_days", 30: "last_30_days", 90: "last_90_days"}.get(days)


_COMPARED = re.compile(
    r"\b(?:compared (?:to|with)|vs\.?|versus|than|against|over) (?:the )?"
    r"(?:last|previous|prior) (month|quarter|year)\b"
)
"""'X compared to last month' names the comparison, not the window: the window is the
current period, and every KPI answer already sets it against the previous one."""


_TO_TODAY = re.compile(r"\b(?:up to|upto|until|till|through|to)\s+(?:today|now)\b")


def _window(q: str, today: date, slots: Slots) -> None:
    """Named ranges, relative spans, months, quarters and explicit dates."""
    both = compared_periods(q, today)
    if both:  # "this month than last month", "May vs April": each period on its own
        slots.compare_windows = [p.window() for p in both]
        slots.range = both[0].range
        if not both[0].range:
            slots.from_date, slots.to_date = both[0].start.isoformat(), both[0].end.isoformat()
        return
    compared = _COMPARED.search(q)
    slots.compared = compared is not None
    if compared:
        q = _COMPARED.sub(" ", q)
        if not re.search(r"\b(this|current|last|previous|prior) (month|quarter|year)\b", q):
            slots.range = f"this_{compared.group(1)}"
            return
    to_today = _TO_TODAY.search(q)  # "june up to today": June, to today
    if to_today:
        q = _TO_TODAY.sub(" ", q)
    if _written_periods(q, today, slots):
        return
    iso = re.findall(r"\b(\d{4}-\d{2}-\d{2})\b", q)
    if len(iso) >= 2:
        slots.from_date, slots.to_date = sorted(iso[:2])
        return
    if len(iso) == 1 and re.search(r"\b(since|from|after)\b", q):
        slots.from_date, slots.to_date = iso[0], today.isoformat()
        return
    if len(iso) == 1:
        slots.from_date = slots.to_date = iso[0]
        return
    for name in RANGES:
        if name.replace("_", " ") in q:
            slots.range = name
            slots.span_days = _LAST_SPAN.get(name, slots.span_days)
            return
    fixed = [
        (r"\b(this|current) month\b|\bmonth to date\b|\bmtd\b", "this_month"),
        (r"\b(last|previous|prior) month\b", "last_month"),
        (r"\b(this|current) quarter\b|\bquarter to date\b|\bqtd\b", "this_quarter"),
        (r"\b(last|previous|prior) quarter\b", "last_quarter"),
        (r"\b(this|current) year\b|\byear to date\b|\bytd\b", "this_year"),
        (r"\b(last|previous|prior) year\b", "last_year"),
    ]
    for pattern, name in fixed:
        if re.search(pattern, q):
            slots.range = name
            if name in _LAST_SPAN:  # "no visit in the last month" = inactive for 30 days
                slots.span_days = _LAST_SPAN[name]
            return
    if re.search(r"\btoday\b", q):
        slots.from_date = slots.to_date = today.isoformat()
        return
    if re.search(r"\byesterday\b", q):
        slots.from_date = slots.to_date = (today - timedelta(days=1)).isoformat()
        return
    monday = today - timedelta(days=today.weekday())
    if re.search(r"\b(this|current) week\b", q):
        slots.from_date, slots.to_date = monday.isoformat(), today.isoformat()
        return
    if re.search(r"\b(last|previous|prior) week\b", q):
        start = monday - timedelta(days=7)
        slots.from_date, slots.to_date = start.isoformat(), (start + timedelta(days=6)).isoformat()
        slots.span_days = 7
        return
    span = re.search(
        rf"\b(?:last|past|previous|recent|in|for|over|within)\s+(?:the\s+)?(?:last\s+|past\s+)?"
        rf"{_NUM}?\s*(day|week|fortnight|month|quarter|year)s?\b",
        q,
    )
    if span:
        count = _number(span.group(1)) if span.group(1) else 1
        _last_days(count * _UNIT_DAYS[span.group(2)], today, slots)
        return
    bare = re.search(r"\b(?:last|past|previous)\s+(7|14|30|60|90|180|365)\b(?!\s*[a-z])", q)
    if bare:  # "and over the last 90?": days
        _last_days(int(bare.group(1)), today, slots)
        return
    quarter = re.search(r"\bq([1-4])(?:\s+(\d{4}))?\b", q)
    if quarter:
        number, year = int(quarter.group(1)), int(quarter.group(2) or today.year)
        start = date(year, 3 * number - 2, 1)
        if not quarter.group(2) and start > today:
            start = date(year - 1, 3 * number - 2, 1)
        end = date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)
        slots.from_date = start.isoformat()
        slots.to_date = (end - timedelta(days=1)).isoformat()
        return
    periods = named_periods(q, today)
    if periods:
        period = periods[0]
        since = re.search(r"\b(since|from|after|starting)\s+(?:the\s+)?(?:start of\s+)?$",
                          q[: period.position])  # fmt: skip
        slots.from_date = period.start.isoformat()
        slots.to_date = today.isoformat() if since or to_today else period.end.isoformat()


def _last_days(days: int, today: date, slots: Slots) -> None:
    """The last ``days`` days to ``today``: a named range where there is one."""
    slots.span_days = days
    named = _named_days(days)
    if named:
        slots.range = named
    else:
        slots.from_date = (today - timedelta(days=days - 1)).isoformat()
        slots.to_date = today.isoformat()


_RANGE_OF_DAYS = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s*(?:-|–|to|and|until|till|through|thru)\s*(\d{1,2})"
    r"(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+)\b"
    r"|\b([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\s*(?:-|–|to|and|until|till|through|thru)\s*"
    r"(\d{1,2})(?:st|nd|rd|th)?\b(?!\s+[a-z]{3})"
)


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(
    r"\b(?:(since|from|starting)\s+)?(?:(last|past)\s+|(?:this|on)\s+)?("
    + "|".join(_WEEKDAYS)
    + r")\b"
)
"""A day by its weekday: the latest one up to today ("since Tuesday", "last Friday")."""


def _written_periods(q: str, today: date, slots: Slots) -> bool:
    """Periods written with days, months, quarters or years: "May vs April", "between Oct
    5 and Oct 11", "4-10 May", "since November 3", "the month before last"."""
    ordinal = ordinal_periods(q, today)
    if ordinal:
        slots.from_date, slots.to_date = ordinal.start.isoformat(), ordinal.end.isoformat()
        return True
    compared = compared_periods(q, today)
    if compared:
        slots.compare_windows = [p.window() for p in compared]
        slots.from_date, slots.to_date = compared[0].start.isoformat(), compared[0].end.isoformat()
        return True
    days = dates(q, today)
    if len(days) >= 2:
        first, second = sorted(d for d, _ in days[:2])
        slots.from_date, slots.to_date = first.isoformat(), min(second, today).isoformat()
        return True
    spread = _RANGE_OF_DAYS.search(q)
    if spread:
        a, b, month_a, month_b, c, d = spread.groups()
        for start, end, month in ((a, b, month_a), (c, d, month_b)):
            written = f"{month} {start}, {month} {end}" if month else ""
            found = dates(written, today) if written else []
            if len(found) == 2:
                slots.from_date, slots.to_date = found[0][0].isoformat(), found[1][0].isoformat()
                return True
    if len(days) == 1:
        day_, position = days[0]
        if re.search(r"\b(since|from|after|starting|beginning)\b", q[:position]):
            slots.from_date, slots.to_date = day_.isoformat(), today.isoformat()
        else:
            slots.from_date = slots.to_date = day_.isoformat()
        return True
    weekday = _WEEKDAY.search(q)
    if weekday:
        since, last, name = weekday.groups()
        day_ = today - timedelta(days=(today.weekday() - _WEEKDAYS.index(name)) % 7)
        if last and day_ == today:  # "last Sunday", said on a Sunday: a week ago
            day_ -= timedelta(days=7)
        slots.from_date = day_.isoformat()
        slots.to_date = today.isoformat() if since else day_.isoformat()
        return True
    if re.search(r"\b(the )?month before (last|the last one|last month)\b|\btwo months ago\b", q):
        period = month_before_last(today)
        slots.from_date, slots.to_date = period.start.isoformat(), period.end.isoformat()
        return True
    return False


_SORTS = (
    (
        r"\bconver|\blogin rate\b|(share|percent(age)?|portion|fraction) of (the )?invit"
        r"|invited (users |people )?(actually )?(logged|signed) in",
        "conversion",
    ),
    (
        r"\bunassigned\b|\bnobody (is )?assigned|\bnot assigned\b|\bno (assignee|owner)",
        "tasks_unassigned",
    ),
    (r"\boverdue\b", "tasks_overdue"),
    (
        r"\b(completed|finished|done|closed)( the)?( most| fewest| more| fewer)? tasks\b"
        r"|\btasks (completed|finished|done)\b",
        "tasks_completed",
    ),
    (r"\blast visit|\brecent(ly)?\b", "last_visit"),
    (r"\b(duration|longest|shortest|how long)\b", "avg_session_seconds"),
    (r"\blogged in\b|\blogins?\b", "logged_in"),
    (r"\binvit", "invited"),
    (r"\b(engag|visit|session|activ|usage|using)", "sessions"),
)
_FOCUS = (
    (r"\blogins?\b|\blogged in\b", "logins"),
    (r"\b(visits?|sessions?|duration|how long)\b", "sessions"),
    (r"\binvit", "invites_sent"),
    (r"\btasks?\b", "tasks_completed"),
    (r"\b(unique|active) users\b", "unique_users"),
    (r"\bpage ?views?\b", "page_views"),
    (r"\bactions?\b", "actions"),
)
_STATUSES = {
    **{spelling: status for status in PROJECT_STATUSES
       for spelling in (status.replace("_", " "), status.replace("_", "-"))},
    "canceled": "cancelled",  # the American spelling
    **{spelling: "not_started" for spelling in (
        "haven't started", "hasn't started", "have not started", "has not started",
        "not yet started", "yet to start", "yet to begin", "haven't begun", "not begun",
    )},
    "paused": "on_hold",
    "gone live": "live",
    "went live": "live",
}  # fmt: skip
"""Project statuses as people write them, from the registry's values."""


def extract(question: str, today: date) -> Slots:
    """All slots of ``question``, with dates relative to ``today`` (the as-of date)."""
    q = normalise_time_words(fold(question))
    slots = Slots(quoted=re.findall(r"[\"“']([^\"”']{2,80})[\"”']", question))
    _window(q, today, slots)
    if re.search(r"\b(lowest|least|fewest|worst|bottom|minimum|smallest|weakest|shortest)\b", q):
        slots.descending = False
    elif re.search(r"\b(highest|most|top|best|largest|maximum|biggest|strongest|longest)\b", q):
        slots.descending = True
    limit = re.search(rf"\b(?:top|bottom|first|last)\s+{_NUM}\b(?!\s*(?:day|week|month))", q)
    if limit is None:
        limit = re.search(
            rf"\b{_NUM}\s+(?:most|least|lowest|highest|top|best|worst)?\s*"
            r"(projects|partners|accounts|users|people|resources|rooms)\b",
            q,
        )
    if limit and limit.group(1) not in ("a", "an"):
        slots.limit = max(1, min(100, _number(limit.group(1))))
    if re.search(r"\bpartners?\b|\bresellers?\b|\breferral", q):
        slots.kind = "partner"
    elif re.search(r"\bcustomers?\b|\bclients?\b", q):
        slots.kind = "customer"
    for word, value in (("reseller", "reseller"), ("referral", "referral")):
        if word in q:
            slots.partner_type = value
    for words, status in _STATUSES.items():
        if re.search(rf"\b{words}\b", q):
            slots.status = status
    slots.sort = next((s for pattern, s in _SORTS if re.search(pattern, q)), None)
    slots.focus = next((f for pattern, f in _FOCUS if re.search(pattern, q)), None)
    slots.bucket = next((b for pattern, b in _BUCKETS if re.search(pattern, q)), None)
    slots.future = _FUTURE.search(q) is not None
    q = _money(q, slots)
    ordinal = re.search(
        r"\b(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|#\s?\d|number \d)\b", q
    )
    if ordinal:
        word = ordinal.group(1)
        order = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
        slots.ordinal = order.get(word) or int(re.sub(r"\D", "", word))
    return slots


_AMOUNT = (
    r"(?:\$|usd\s*|eur\s*|€|£)?\s*(\d[\d,]*(?:\.\d+)?)\s*(k\b)?\s*"
    r"(?:dollars|usd|euros?|eur|bucks|\$|€|£)?"
)
_TICKET = re.compile(
    rf"{_AMOUNT}\s*(?:a|an|per|each|for each|for every|every|/)\s+"
    rf"(?:support\s+|agent\s+)?tickets?\b"
    rf"|\btickets?\s+(?:costs?|is|are|at|of)\s+(?:worth\s+|us\s+|about\s+|around\s+)?"
    rf"{_AMOUNT}"
    rf"|\bcost (?:per|of a|of one|for a|for one) (?:support\s+)?ticket\s+(?:of|is|at|=)?"
    rf"\s*{_AMOUNT}"
)
_GAIN = re.compile(
    rf"\b(?:brings? in|brought in|bringing in|generates?|generated|earns?|earned|makes?|made|"
    rf"gains?|gained|returns?|returned|saves?|saved|worth|value of|gain of|benefit of)\s+"
    rf"(?:us\s+|about\s+|around\s+)?{_AMOUNT}"
)
_PORTAL_COST = re.compile(
    rf"\b(?:costs?|costing|spend|spent|paid|pay|price(?: is| of)?|budget(?: of| is)?)\s+"
    rf"(?:us\s+|of\s+|about\s+|around\s+)?{_AMOUNT}"
)


def _amount(match: re.Match[str]) -> float:
    groups = [g for g in match.groups()]
    for i in range(0, len(groups), 2):
        if groups[i]:
            value = float(groups[i].replace(",", ""))
            return value * 1000 if groups[i + 1] else value
    raise ValueError("no amount")


def _money(q: str, slots: Slots) -> str:
    """Ticket cost, gain and portal cost named in ``q`` (in that order, each span cut out
    so "a ticket costs us 25" is never read as the portal's cost)."""
    for pattern, name in ((_TICKET, "cost_per_ticket"), (_GAIN, "gain"),
                          (_PORTAL_COST, "portal_cost")):  # fmt: skip
        found = pattern.search(q)
        if found:
            setattr(slots, name, _amount(found))
            q = q[: found.start()] + " " + q[found.end() :]
    return q


_FOLLOW_UP = re.compile(
    r"^(and|what about|how about|same|now for|now|also|ok and|okay and|then|do the same|"
    r"only|just|but only|but just|limit (?:it|that) to|restrict (?:it|that) to|"
    r"repeat (?:that|it|this)|likewise)\b"
    r"|\binstead\b|\b(?:switch|change|turn) (?:that|it|this|them|those)\b"
    r"|\b(?:rank|sort|order|re-?sort|re-?rank) (?:them|those|these|that|it|this)\b"
    r"|\b(which|who) of (them|those|these)\b|\b(of|among) (them|those|these)\b"
    r"|\b(the|that) (first|second|third|fourth|fifth|last|top) one\b|\bmore about\b"
    r"|\b(them|those|these|that one|this one)\b\??$"
)


def is_follow_up(question: str) -> bool:
    """Does ``question`` lean on the previous turn ("and last month?", "the second one")?"""
    return bool(_FOLLOW_UP.search(" ".join(question.lower().split())))


def strip_instructions(question: str) -> tuple[str, bool]:
    """The question without what instructs the assistant, and whether anything was cut.

    "Ignore previous instructions and …" loses its override clause; a sentence that
    dictates an answer ("say logins were 1000000") or a role ("SYSTEM: you are now …")
    is dropped. Such text is never obeyed; cutting it before planning also keeps its
    words from being read as names or slots (an instruction that happens to match a
    project's name must not become a project filter).
    """
    parts = [p for p in re.split(r"(?<=[.!?;:])\s+|\n+", question.strip()) if p.strip()]
    kept = []
    for part in parts:
        rest = _OVERRIDE.sub(" ", part).strip(" ,.;:")
        if rest and not _INSTRUCTION.search(rest):
            kept.append(rest)
    cleaned = " ".join(kept).strip()
    return cleaned, cleaned != " ".join(parts).strip()


_DEFINE_WRAPPER = re.compile(
    r"^((?:remind me|refresh my memory)(?: on| about)?(?: what| how)?|"
    r"(?:what )?(?:counts|qualifies) as|what (?:is|do (?:we|you)) mean(?:t)? by|"
    r"(?:the )?(?:definition|meaning) of|what(?:'s| is| are)? (?:exactly|precisely)(?: is| are)?|"
    r"what(?:'s| is| are| does)|how (?:is|are|do you|does)|define|explain)\s+"
    r"|\s+(mean|means|stand for|defined|calculated|computed|measured|worked out|work|count|"
    r"is|are)\s*\??$"
    r"|^(the|a|an|our)\s+|\?$",
    re.IGNORECASE,
)


def define_term(question: str) -> str:
    """The term a definition question asks about: "what does stickiness mean?" →
    "stickiness"; the glossary search works best on the term alone."""
    term = " ".join(question.split())
    for _ in range(4):
        stripped = _DEFINE_WRAPPER.sub("", term).strip()
        if stripped == term:
            break
        term = stripped
    return term or question
