"""Periods as managers write them: days of a month, named months, quarters, years.

"since November 3", "since the 3rd of Nov", "between Oct 5 and Oct 11", "from 4 to 10
May", "in 2025", "the month before last", "Q3", "May vs April", "ths wk" (time words
with a typo or an abbreviation). Every date is relative to the as-of day, and a date
written without a year is the latest one not after it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    name: index
    for index, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+(?:the\s+)?{_DAY}{_YEAR}|(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR})\b"
)
_ABBREVIATIONS = {
    "wk": "week", "wks": "weeks", "mth": "month", "mths": "months", "mo": "month",
    "mos": "months", "qtr": "quarter", "qtrs": "quarters", "yr": "year", "yrs": "years",
    "prev": "previous", "avg": "average", "no.": "number", "#": "number",
}  # fmt: skip
_TIME_WORDS = ("this", "last", "past", "previous", "week", "month", "quarter", "year", "since")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    """Inclusive; never after the as-of day."""
    label: str
    position: int
    """Where the period was written in the question (for ordering)."""
    range: str | None = None
    """The named range it is ("this_month"), when it is one."""

    def window(self) -> dict[str, str]:
        if self.range:
            return {"range": self.range}
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def normalise_time_words(q: str) -> str:
    """Abbreviations ("wk", "qtr") and misspelt time words next to another time word
    ("ths wk", "lst mnth") written out, so the window rules read them."""
    words = q.split()
    out = [_ABBREVIATIONS.get(w, w) for w in words]
    for i in range(len(out) - 1):
        first, second = out[i], out[i + 1]
        a = first if first in _TIME_WORDS else _close(first, ("this", "last", "past"))
        b = (
            second
            if second in _TIME_WORDS
            else _close(second, ("week", "month", "quarter", "year"))
        )
        if a and b:
            out[i], out[i + 1] = a, b
    return " ".join(out)


def _close(word: str, choices: tuple[str, ...]) -> str | None:
    if len(word) < 3 or not word.isalpha():
        return None
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.74)
    return found[0] if found else None


def _date(match: re.Match[str], today: date) -> date | None:
    month_a, day_a, year_a, day_b, month_b, year_b = match.groups()
    month = MONTHS[month_a or month_b]
    day_ = int(day_a or day_b)
    year_text = year_a or year_b
    year = int(year_text) if year_text else today.year
    try:
        value = date(year, month, day_)
    except ValueError:
        return None
    if not year_text and value > today:
        value = date(year - 1, month, day_)
    return value


def dates(q: str, today: date) -> list[tuple[date, int]]:
    """Every written day in ``q`` ("November 3", "3rd of Nov", "oct 5, 2025"), in order."""
    out = []
    for match in _DATE.finditer(q):
        value = _date(match, today)
        if value is not None:
            out.append((value, match.start()))
    return out


def _month_period(number: int, year: int | None, today: date, position: int) -> Period:
    year = year or (today.year if number <= today.month else today.year - 1)
    start = date(year, number, 1)
    end = date(year + number // 12, number % 12 + 1, 1) - timedelta(days=1)
    return Period(start, min(end, today), f"{start:%B %Y}", position)


def _quarter_period(number: int, year: int | None, today: date, position: int) -> Period:
    start = date(year or today.year, 3 * number - 2, 1)
    if year is None and start > today:
        start = date(start.year - 1, start.month, 1)
    end = date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)
    return Period(start, min(end - timedelta(days=1), today), f"Q{number} {start.year}", position)


_NAMED = re.compile(
    r"\b(?:" + _MONTH + r"(?!\s+\d{1,2}(?:st|nd|rd|th)?\b)(?:\s+(\d{4}))?"
    r"|q([1-4])(?:\s+(\d{4}))?|(?:in|during|for|of)\s+((?:19|20)\d{2}))\b"
)


def named_periods(q: str, today: date) -> list[Period]:
    """Whole months ("May", "april 2025"), quarters ("Q1") and years ("in 2025") named in
    ``q``, in the order written; a day of a month ("May 4") is a date, not a month."""
    out: list[Period] = []
    for match in _NAMED.finditer(q):
        month, month_year, quarter, quarter_year, year = match.groups()
        if month:
            if month == "may" and not _may_is_a_month(q, match):
                continue
            number = MONTHS[month]
            out.append(_month_period(number, int(month_year) if month_year else None, today,
                                     match.start()))  # fmt: skip
        elif quarter:
            out.append(_quarter_period(int(quarter), int(quarter_year) if quarter_year else None,
                                       today, match.start()))  # fmt: skip
        elif year:
            start = date(int(year), 1, 1)
            if start <= today:
                end = min(date(int(year), 12, 31), today)
                out.append(Period(start, end, year, match.start()))
    return out


def _may_is_a_month(q: str, match: re.Match[str]) -> bool:
    """ "may" the month, not the verb: after a preposition, before a year, or in a list
    of months ("May vs April")."""
    before = q[: match.start()].split()[-1:] or [""]
    after = q[match.end() :].split()[:1] or [""]
    return (
        before[0] in ("in", "of", "for", "during", "since", "from", "and", "vs", "versus",
                      "than", "to", "with", "between", "until", "till", "through")
        or bool(re.match(r"\d{4}$", after[0]))
        or after[0] in ("vs", "vs.", "versus", "and", "compared", "against", "to", "or")
        or match.start() == 0
    )  # fmt: skip


_ORDINAL = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4,
            "4th": 4, "last": -1, "final": -1}  # fmt: skip


def ordinal_periods(q: str, today: date) -> Period | None:
    """ "the first quarter of 2026", "the first week of June", "the second half of the
    year" is not read; "since the start of the year" → the year to date."""
    quarter = re.search(r"\b(first|1st|second|2nd|third|3rd|fourth|4th|last|final) quarter"
                        r"(?: of (?:(\d{4})|this year|the year))?\b", q)  # fmt: skip
    if quarter and (quarter.group(2) or " of " in quarter.group(0)):
        number = _ORDINAL[quarter.group(1)]
        number = 4 if number == -1 else number
        year = int(quarter.group(2)) if quarter.group(2) else today.year
        return _quarter_period(number, year, today, quarter.start())
    week = re.search(r"\b(first|1st|second|2nd|third|3rd|fourth|4th|last|final) week of "
                     + _MONTH + r"(?:\s+(\d{4}))?", q)  # fmt: skip
    if week:
        month = _month_period(MONTHS[week.group(2)], int(week.group(3)) if week.group(3)
                              else None, today, week.start())  # fmt: skip
        number = _ORDINAL[week.group(1)]
        if number == -1:
            end = date(month.start.year + month.start.month // 12, month.start.month % 12 + 1,
                       1) - timedelta(days=1)  # fmt: skip
            start = end - timedelta(days=6)
        else:
            start = month.start + timedelta(days=7 * (number - 1))
            end = start + timedelta(days=6)
        return Period(start, min(end, today), f"week of {start:%d %b %Y}", week.start())
    start_of = re.search(r"\b(?:since|from) (?:the )?(?:start|beginning) of (?:the |this )?"
                         r"(year|quarter|month)\b", q)  # fmt: skip
    if start_of:
        unit = start_of.group(1)
        if unit == "year":
            start = date(today.year, 1, 1)
        elif unit == "quarter":
            start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        else:
            start = date(today.year, today.month, 1)
        return Period(start, today, f"{unit} to date", start_of.start())
    return None


def month_before_last(today: date) -> Period:
    first = date(today.year, today.month, 1)
    last_month_start = (first - timedelta(days=1)).replace(day=1)
    start = (last_month_start - timedelta(days=1)).replace(day=1)
    return Period(start, last_month_start - timedelta(days=1), f"{start:%B %Y}", 0)


_COMPARE = re.compile(
    r"\b(vs\.?|versus|compar\w*|against|stack(?:ed)? up|than|or|difference between)\b"
)


def relative_periods(q: str, today: date) -> list[Period]:
    """ "this month", "last quarter", "this year" … as whole calendar periods (this one to
    date), in the order written."""
    out = []
    for match in re.finditer(
        r"\b(this|current|last|previous|prior) (week|month|quarter|year)\b", q
    ):
        unit = match.group(2)
        if unit == "week":
            start = today - timedelta(days=today.weekday())
        elif unit == "month":
            start = date(today.year, today.month, 1)
        elif unit == "quarter":
            start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        else:
            start = date(today.year, 1, 1)
        end = today
        if match.group(1) not in ("this", "current"):
            end = start - timedelta(days=1)
            if unit == "week":
                start = start - timedelta(days=7)
            elif unit == "month":
                start = end.replace(day=1)
            elif unit == "quarter":
                start = date(end.year, 3 * ((end.month - 1) // 3) + 1, 1)
            else:
                start = date(end.year, 1, 1)
        which = "this" if match.group(1) in ("this", "current") else "last"
        named = f"{which}_{unit}" if unit != "week" else None
        out.append(Period(start, end, match.group(0), match.start(), named))
    return out


_ELIDED_UNIT = re.compile(
    r"\b(?:this|current) (week|month|quarter|year)\b"
    r"(?=.*?\b(?:vs\.?|versus|compar\w*(?: with| to)?|against|than)\s+(?:the\s+)?"
    r"(?:last|previous|prior)\b(?: one\b)?(?!\s+(?:week|month|quarter|year)\b))"
)
_LAST_ALONE = re.compile(
    r"\b(vs\.?|versus|compar\w*(?: with| to)?|against|than)\s+(?:the\s+)?"
    r"(last|previous|prior)\b(?: one\b)?(?!\s+(?:week|month|quarter|year)\b)"
)


def _unit_written_out(q: str) -> str:
    """ "this month vs last" → "this month vs last month": the second period's unit is
    the first one's."""
    first = _ELIDED_UNIT.search(q)
    if not first:
        return q
    unit = first.group(1)
    return _LAST_ALONE.sub(lambda m: f"{m.group(1)} {m.group(2)} {unit}", q, count=1)


def compared_periods(q: str, today: date) -> list[Period] | None:
    """Two periods set against each other ("May vs April", "Q3 against Q2", "this month
    than last month", "this month vs last"), the first written first; None when the
    question does not compare two written periods."""
    q = _unit_written_out(q)
    periods = sorted(named_periods(q, today) + relative_periods(q, today),
                     key=lambda p: p.position)  # fmt: skip
    if len(periods) == 2 and _COMPARE.search(q) and periods[0] != periods[1]:
        return periods
    return None
