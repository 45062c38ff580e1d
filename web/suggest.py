"""Suggested questions for the chat panel, phrased for the dashboard's current view.

The page sends the questions as they are, with the dashboard's filters as the
ask request's fixed ``filters``; so the text carries only what filters cannot:
the window ("in the last 30 days", "from 2026-03-01 to 2026-03-31"), which the
offline planner reads from the question, and the subject of the view the user
is looking at. Every question here is phrased like the planner's example
questions (``assistant/examples.yaml``) so it lands on the intended tool.
"""

from __future__ import annotations

from typing import Literal

VIEWS = ("overview", "projects", "leaderboard", "content", "risks")
View = Literal["overview", "projects", "leaderboard", "content", "risks"]

_RANGE_PHRASES = {
    "last_7_days": "in the last 7 days",
    "last_14_days": "in the last 14 days",
    "last_30_days": "in the last 30 days",
    "last_90_days": "in the last 90 days",
    "this_month": "this month",
    "this_quarter": "this quarter",
    "this_year": "this year",
    "last_month": "last month",
    "last_quarter": "last quarter",
    "last_year": "last year",
}

_BY_VIEW: dict[str, tuple[str, ...]] = {
    "overview": (
        "How many logins {w}?",
        "How did visits change {w} compared with the previous period?",
        "Show the trend of logins {w}",
    ),
    "projects": (
        "Which projects have the lowest portal engagement {w}?",
        "Which projects have overdue tasks?",
        "Invite-to-login conversion by project {w}",
    ),
    "leaderboard": (
        "Who are the top partners {w}?",
        "Which partners had no sessions in the last 30 days?",
    ),
    "content": (
        "What are the most viewed resources {w}?",
        "Which rooms get the most views {w}?",
    ),
    "risks": (
        "What are the biggest risks right now?",
        "Who never logged in?",
        "Which in-progress projects have gone inactive?",
    ),
}

ANALYSIS = (
    "Which projects are at risk {w}, what is blocking them and what would most improve engagement?"
)


def window_phrase(range_: str | None, start: str | None, end: str | None) -> str:
    """The window as words the planner reads back: a named range or ``from D1 to D2``."""
    if start and end:
        return f"from {start} to {end}"
    return _RANGE_PHRASES.get(range_ or "last_30_days", _RANGE_PHRASES["last_30_days"])


def suggestions(
    view: View,
    *,
    range_: str | None = None,
    start: str | None = None,
    end: str | None = None,
    partner_type: str | None = None,
    account_name: str | None = None,
) -> dict[str, object]:
    """The analysis question and up to five suggestions for ``view`` and the window.

    A partner-type filter turns the overview towards partners; a single account
    adds a question about that account (the planner answers it with its profile).
    """
    w = window_phrase(range_, start, end)
    chosen = list(_BY_VIEW[view])
    if partner_type and view in ("overview", "projects"):
        chosen.insert(0, "Who are the top partners {w}?")
    if account_name:
        chosen.insert(0, 'How is "{account}" doing {w}?')
    if view != "risks":
        chosen.append("What are the biggest risks right now?")
    seen: list[str] = []
    for template in chosen:
        text = template.format(w=w, account=account_name)
        if text not in seen:
            seen.append(text)
    return {"view": view, "window": w, "analysis": ANALYSIS.format(w=w), "questions": seen[:5]}
