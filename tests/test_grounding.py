"""The grounding check: numbers in answers must come from tool results."""

from __future__ import annotations

from assistant.grounding import check, stated_numbers

RESULTS = [
    {
        "kpis": {"logins": 1331, "avg_session_seconds": 695.4, "sessions": 1462},
        "change_pct": {"logins": -12.0},
        "rows": [{"project": "Acme — Phase 2", "conversion": 0.4512, "invited": 7}],
        "scope": {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
    }
]


def test_numbers_are_read_as_written() -> None:
    found = [(s.text, s.value, s.decimals) for s in stated_numbers("1,331 logins, 12.5% and -3")]
    assert found == [("1,331", 1331.0, 0), ("12.5", 12.5, 1), ("-3", -3.0, 0)]
    assert stated_numbers("see 2026-03-01 and\n1. Acme\n2) Globex") == []


def test_exact_rounded_percent_and_converted_numbers_are_grounded() -> None:
    answer = (
        "There were 1,331 logins (down 12% on the period before) over 1,462 visits. "
        "Average visit: 695 s, about 11.6 minutes. Acme — Phase 2 converted 45% of 7 invited."
    )
    report = check(answer, RESULTS)
    assert report.grounded, report.ungrounded
    assert report.checked == 8


def test_an_invented_number_is_not_grounded() -> None:
    report = check("Logins rose to 1,400, a 5.2% increase.", RESULTS)
    assert not report.grounded
    assert report.ungrounded == ["1,400", "5.2"]
    assert "1,400" in report.feedback()


def test_rounding_must_respect_the_stated_precision() -> None:
    assert check("695.4 seconds", RESULTS).grounded
    assert not check("695.9 seconds", RESULTS).grounded  # not a rounding of 695.4
    assert check("about 700 seconds", RESULTS).grounded is False


def test_numbers_from_the_question_and_from_names_are_allowed() -> None:
    assert check("Here are the top 5 projects.", RESULTS, question="top 5 projects?").grounded
    assert check("Phase 2 is behind.", RESULTS).grounded


def test_dates_are_checked_by_their_parts() -> None:
    assert check("Since 2026-03-01 …", RESULTS).grounded
    assert not check("Since 2025-07-19 …", RESULTS).grounded


def test_an_answer_without_numbers_is_grounded() -> None:
    report = check("I can't answer that from the portal data.", [])
    assert report.grounded and report.checked == 0
