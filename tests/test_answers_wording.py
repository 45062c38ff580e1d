"""Answers say what the question asked in the way it asked: a yes or a no, a day for a state."""

from __future__ import annotations

import pytest

from assistant.answers import compose, yes_no


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("are we beating the activation benchmark?", True),
        ("Is our activation rate above 60%?", True),
        ("did logins go up?", True),
        ("what's our activation rate?", False),
        ("how many users activated?", False),
        ("island visits", False),
    ],
)
def test_yes_no_questions(question: str, expected: bool) -> None:
    assert yes_no(question) is expected


def _adoption(rate: float, meets: bool) -> dict:
    activation = {"eligible": 10, "days": 90, "activated": 7, "rate": rate,
                  "benchmark": 0.6, "meets_benchmark": meets}  # fmt: skip
    return {
        "tool": "get_adoption",
        "arguments": {},
        "window": {"from": "2026-05-19", "to": "2026-06-17", "last_day": "2026-06-17"},
        "data": {"activation": activation, "mobile_share": 0.2, "self_service_rate": 0.4},
    }


def test_the_activation_benchmark_is_answered_yes_or_no() -> None:
    below = compose(_adoption(0.5, False), "are we beating the benchmark?", "activation")
    assert below.startswith("No — activation is 50.0%, below the 60.0% benchmark.")
    above = compose(_adoption(0.7, True), "is activation above the benchmark?", "activation")
    assert above.startswith("Yes — activation is 70.0%")
    plain = compose(_adoption(0.7, True), "what's our activation?", "activation")
    assert plain.startswith("Activation: of 10 users")


def test_a_state_measure_is_given_as_of_a_day_not_for_a_window() -> None:
    """Open tasks hold at the window's end: "as of", not "last 30 days"."""
    window = {"from": "2026-10-24", "to": "2026-11-22", "last_day": "2026-11-22",
              "range": "last_30_days"}  # fmt: skip

    def envelope(measure: str) -> dict:
        return {"tool": "query_metrics", "arguments": {}, "window": window, "filters": {},
                "data": {"measures": [measure], "by": [], "rows": [], "where": [],
                         "totals": {measure: 27}}}  # fmt: skip

    assert compose(envelope("tasks_open")).startswith("Open tasks, as of 22 Nov 2026: **27**")
    assert compose(envelope("logins")).startswith("Logins, last 30 days (24 Oct 2026")
