"""``covered``: every mention of the question was used by a tool call of the turn."""

from __future__ import annotations

from datetime import date

from assistant.coverage import check_coverage
from assistant.planner.entities import EntityIndex

TODAY = date(2026, 11, 22)
INDEX = EntityIndex(
    [("account", "acc_1", "Kestrel Farms"), ("account", "acc_2", "Dunmore Capital")]
)


def kpis(**arguments: object) -> dict:
    window = {"range": arguments.get("range"), "from": "2026-11-01T00:00:00Z",
              "last_day": "2026-11-22"}  # fmt: skip
    return {
        "tool": "get_kpis",
        "arguments": arguments,
        "window": window,
        "filters": {},
        "data": {"kpis": {"logins": 12, "sessions": 30}},
    }


def test_an_answer_that_used_every_mention_is_covered() -> None:
    found = check_coverage(
        "logins for Kestrel Farms this month",
        [kpis(range="this_month", account="Kestrel Farms")],
        INDEX,
        TODAY,
    )
    assert found.covered and not found.unused


def test_a_name_the_calls_never_used_blocks_the_answer() -> None:
    found = check_coverage(
        "logins for Kestrel Farms this month", [kpis(range="this_month")], INDEX, TODAY
    )
    assert not found.covered
    assert [(m.kind, m.text) for m in found.blocking] == [("entity", "Kestrel Farms")]


def test_a_period_answered_for_another_window_is_unused() -> None:
    found = check_coverage("logins over the last 90 days", [kpis(range="last_30_days")],
                           INDEX, TODAY)  # fmt: skip
    assert [(m.kind, m.text) for m in found.unused] == [("window", "last 90 days")]


def test_a_parameter_left_at_its_default_is_unused() -> None:
    adoption = {"tool": "get_adoption", "arguments": {}, "window": {}, "data": {"x": 1}}
    found = check_coverage("what would self-service save at $40 a ticket?", [adoption],
                           INDEX, TODAY)  # fmt: skip
    assert [m.kind for m in found.blocking] == ["parameter"]


def test_a_measure_the_results_do_not_carry_is_reported_but_does_not_block() -> None:
    found = check_coverage("page views this month", [kpis(range="this_month")], INDEX, TODAY)
    assert [(m.kind, m.text) for m in found.unused] == [("measure", "page_views")]
    assert found.blocking == []


def test_a_clarification_answers_no_different_question() -> None:
    search = {"tool": "search_entities", "arguments": {"text": "Kestrel"}, "data": {}}
    assert check_coverage("how is Kestrel doing this month?", [search], INDEX, TODAY).covered
