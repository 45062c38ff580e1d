"""The planner's readers: the registry's vocabulary in a question, periods as written,
money, names with typos or without accents, and requests no data can answer."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.planner.entities import EntityIndex
from assistant.planner.extract import extract
from assistant.planner.parse import parse
from assistant.planner.route import out_of_scope
from metrics.semantic.registry import Measure
from metrics.semantic.vocabulary import REGISTRY

TODAY = date(2026, 11, 22)  # a Sunday


@pytest.mark.parametrize(
    ("question", "measures", "by", "where", "rows_of"),
    [
        ("sessions broken down by device last month", ["sessions"], ["device"], [], None),
        ("completed tasks for each owner", ["tasks_completed"], ["owner"], [], None),
        ("page views by partner type and by month", ["page_views"], ["partner_type", "month"],
         [], None),
        ("which accounts have more than 3 overdue tasks?", ["tasks_overdue"], [],
         [("tasks_overdue", ">", 3.0)], "account"),
        ("which owners have unassigned tasks", ["tasks_unassigned"], [],
         [("tasks_unassigned", ">", 0.0)], "owner"),
        ("list every project with zero visits", ["sessions"], [], [("sessions", "=", 0.0)],
         "project"),
        ("accounts with at least two overdue tasks", ["tasks_overdue"], [],
         [("tasks_overdue", ">=", 2.0)], "account"),
        ("how many sign-ins this month", ["logins"], [], [], None),
        ("top accounts by logins", ["logins"], [], [], "account"),
    ],
)  # fmt: skip
def test_the_registry_vocabulary_is_read_from_a_question(
    question: str, measures: list[str], by: list[str], where: list[tuple], rows_of: str | None
) -> None:
    parsed = parse(question)
    assert parsed.measures == measures
    assert parsed.by == by
    assert [(c.measure, c.op, c.value) for c in parsed.where] == where
    assert parsed.rows_of == rows_of


def test_a_measure_declared_in_the_registry_is_understood_without_code() -> None:
    actions = REGISTRY.measures["actions"]
    downloads = Measure(
        "downloads", "Downloads", "Resources downloaded.", actions.source, actions.recipe,
        synonyms=("file downloads",),
    )  # fmt: skip
    with REGISTRY.extended(downloads):
        parsed = parse("file downloads per owner")
        assert (parsed.measures, parsed.by) == (["downloads"], ["owner"])
    assert parse("file downloads per owner").measures == []


@pytest.mark.parametrize(
    ("question", "window", "compare"),
    [
        ("logins since November 3", ("2026-11-03", "2026-11-22"), None),
        ("since the 1st of april", ("2026-04-01", "2026-11-22"), None),
        ("page views between Oct 5 and Oct 11", ("2026-10-05", "2026-10-11"), None),
        ("logins from 4 to 10 May", ("2026-05-04", "2026-05-10"), None),
        ("visits in the month before last", ("2026-09-01", "2026-09-30"), None),
        ("invites sent in Q3", ("2026-07-01", "2026-09-30"), None),
        ("logins in 2025", ("2025-01-01", "2025-12-31"), None),
        ("visits for october up to today", ("2026-10-01", "2026-11-22"), None),
        ("logins today", ("2026-11-22", "2026-11-22"), None),
        ("how many logins ths wk", ("2026-11-16", "2026-11-22"), None),
        ("logins lst qtr", None, None),
        ("logins may vs april", ("2026-05-01", "2026-05-31"),
         [("2026-05-01", "2026-05-31"), ("2026-04-01", "2026-04-30")]),
        ("page views in Q3 against Q2", ("2026-07-01", "2026-09-30"),
         [("2026-07-01", "2026-09-30"), ("2026-04-01", "2026-06-30")]),
        ("who may need help", None, None),
    ],
)  # fmt: skip
def test_periods_as_written(
    question: str, window: tuple[str, str] | None, compare: list[tuple[str, str]] | None
) -> None:
    slots = extract(question, TODAY)
    if window:
        assert (slots.from_date, slots.to_date) == window
    elif question == "logins lst qtr":
        assert slots.range == "last_quarter"
    else:
        assert slots.window == {}
    assert [(w["from"], w["to"]) for w in slots.compare_windows] == (compare or [])


@pytest.mark.parametrize(
    ("question", "ticket", "gain", "portal"),
    [
        ("what would self-service save us at 30 dollars per ticket?", 30.0, None, None),
        ("savings at $40 a ticket this quarter", 40.0, None, None),
        ("if a support ticket costs us 25 dollars, what are the savings", 25.0, None, None),
        ("ROI if the portal costs 1000 and brings in 5000", None, 5000.0, 1000.0),
        ("ROI with a cost of 2k and a gain of 8k", None, 8000.0, 2000.0),
    ],
)
def test_money_named_in_a_question(
    question: str, ticket: float | None, gain: float | None, portal: float | None
) -> None:
    slots = extract(question, TODAY)
    assert (slots.cost_per_ticket, slots.gain, slots.portal_cost) == (ticket, gain, portal)


INDEX = EntityIndex(
    [
        ("account", "a1", "Café Mañana Group"),
        ("account", "a2", "Rosewood Retail"),
        ("account", "a5", "Rosewood Biotech"),
        ("account", "a3", "Granite Peak Financial"),
        ("account", "a4", "Riverbend Media"),
        ("project", "p1", "Riverbend Media — Mobile pilot"),
        ("user", "u1", "José Núñez"),
        ("user", "u2", "Zoë Brandström"),
    ]
)


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("how is cafe manana group doing", "Café Mañana Group"),
        ("when did jose nunez last log in", "José Núñez"),
        ("tell me about Zoe Brandstrom", "Zoë Brandström"),
        ("logins for Rosewod Retail", "Rosewood Retail"),
        ("how is granit peak financial", "Granite Peak Financial"),
        ("how is Riverbnd doing", "Riverbend Media"),
    ],
)
def test_names_without_accents_or_with_a_typo_are_found(question: str, name: str) -> None:
    assert [m.name for m in INDEX.find(question)] == [name]


def test_a_typo_shared_by_two_names_or_a_vocabulary_word_finds_nothing() -> None:
    assert INDEX.find("how is Rosewod doing?") == []  # two Rosewoods: never guessed
    assert INDEX.find("how are logins doing") == []


@pytest.mark.parametrize(
    "question",
    [
        "what's the CSAT score of Highland Motors?",
        "move Dunmore Capital over to Zoe Novak",
        "please email all of Kestrel Farms' users a reminder",
        "what is the NPS of our customers",
        "can you schedule a call with their admins",
        "how many deals did the referral partners close?",
        "remind Zoe Novak to finish her tasks",
    ],
)
def test_requests_no_data_can_answer(question: str) -> None:
    assert out_of_scope(question)


@pytest.mark.parametrize(
    "question",
    [
        "invite-to-login conversion by project",
        "change in logins since last month",
        "how many invites were sent",
        "which projects have overdue tasks",
        "what's the deal with logins lately?",  # the idiom, not a sales deal
        "remind me which partners went dormant",  # a question, not a reminder to send
    ],
)
def test_questions_that_only_sound_like_requests(question: str) -> None:
    assert out_of_scope(question) is None


@pytest.mark.parametrize(
    ("question", "measures"),
    [
        ("how many people at Kestrel have logged in?", ["logged_in"]),
        ("users invited to the Harbor project", ["invited"]),
        ("how many active users and how many logged in?", ["unique_users", "logged_in"]),
        ("people active this week", ["unique_users"]),
    ],
)
def test_people_are_the_unit_of_a_measure_that_counts_them(question: str, measures: list) -> None:
    """ "People … logged in" asks for one figure: the people who logged in."""
    assert parse(question).measures == measures


def test_a_value_of_a_dimension_is_a_figure_even_near_a_list_of_people() -> None:
    """The nearest example is a hint: "logins on the partner portal" is a figure even
    when the closest example lists partner users who never logged in."""
    from assistant.planner.route import dimension_value

    def route(question: str) -> str | None:
        found = dimension_value(parse(question), extract(question, TODAY), [],
                                "find_never_logged_in")  # fmt: skip
        return found[0] if found else None

    assert route("how many logins were there on the partner portal this week") == "query_metrics"
    assert route("which partner portal users never logged in") is None


@pytest.mark.parametrize(
    ("question", "rows", "values"),
    [
        ("projects on the Migration playbook with overdue tasks", "project", {}),
        ("accounts in Priya's book with more than 3 overdue tasks", "account", {}),
        ("how many actions did admins take last week?", None, {"role": "admin"}),
        ("which members of the team have the most accounts", None, {}),
    ],
)
def test_rows_and_roles_in_other_orders(question: str, rows: str | None, values: dict) -> None:
    parsed = parse(question, {"role": ("admin", "viewer", "member")})
    assert (parsed.rows_of, parsed.values) == (rows, values)


def test_a_sibling_project_is_named_by_its_phase_alone() -> None:
    index = EntityIndex(
        [("account", "a1", "Kestrel Farms"),
         ("project", "p1", "Kestrel Farms — Support desk rollout"),
         ("project", "p2", "Kestrel Farms — Reporting workspace"),
         ("project", "p3", "Kestrel Farms — Regional rollout (EMEA)")]
    )  # fmt: skip
    before = "Kestrel Farms — Support desk rollout"
    found = index.sibling("and the reporting workspace one?", before)
    assert found is not None and found.id == "p2"
    assert index.sibling("and the rollout?", before) is None  # one word of two: no guess
    assert index.sibling("and last month?", before) is None
