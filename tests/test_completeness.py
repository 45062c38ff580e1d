"""The completeness check: a model's answer keeps the templated answer's headline."""

from __future__ import annotations

from assistant.completeness import missing_from

KPI = (
    "Logins, 8 Jun 2026 – 14 Jun 2026: **199** — up 134.1% against the previous period (85).\n"
    "KPI cards, 8 Jun 2026 – 14 Jun 2026:\n- Logins: 199 (up 134.1%)\n- Page views: 733"
)
LIST = (
    "Inactive project as of 17 Jun 2026 — 3 found. Most urgent first:\n"
    "1. [high] project “Goldcrest Retail — Customer portal launch”: 30 days\n"
    "2. [high] project “Pioneer Telecom — Regional rollout (EMEA)”: 67 days\n"
    "3. [medium] project “Quarry Lane Retail — SSO integration”: 21 days\n"
)
SAVINGS = (
    "Support, last 30 days (19 May 2026 – 17 Jun 2026): 17 tickets; 7 resolved by "
    "self-service (41.2%). Deflection savings: 280 (7 × 40 per ticket)."
)


def test_the_bold_figure_is_what_must_be_said() -> None:
    assert missing_from("There were 199 logins last week.", KPI) == []
    assert missing_from("Logins went up last week.", KPI) == ["199"]
    assert missing_from("Page views: 733.", KPI) == ["199"]  # another figure of the card


def test_a_figure_may_be_rounded_at_the_decimals_it_is_written_with() -> None:
    reference = "Activation, this month: **41.2%** of invited users logged in."
    assert missing_from("About 41% of invitees activated.", reference) == []
    assert missing_from("About 40% of invitees activated.", reference) == ["41.2"]
    assert missing_from("1,191 logins", "Logins: **1,191**") == []


def test_without_bold_the_first_lines_figures_count_but_dates_and_the_questions_own() -> None:
    question = "what would self-service save us at $40 a ticket?"
    full = "17 tickets, 7 resolved by self-service (41.2%): savings of 280."
    assert missing_from(full, SAVINGS, question) == []
    assert missing_from("Self-service would save 280.", SAVINGS, question) == ["17", "7", "41.2"]


def test_names_of_the_first_list_items_must_be_kept() -> None:
    full = (
        "Three projects: Goldcrest Retail — Customer portal launch (30 days), "
        "pioneer telecom: regional rollout (emea), and Quarry Lane Retail - SSO integration."
    )
    assert missing_from(f"3 found. {full}", LIST) == []
    assert missing_from("3 found: Goldcrest Retail — Customer portal launch.", LIST) == [
        "“Pioneer Telecom — Regional rollout (EMEA)”",
        "“Quarry Lane Retail — SSO integration”",
    ]


def test_accents_and_case_do_not_matter_for_names() -> None:
    reference = "Profile of “Zoë Brandström”: **12** logins."
    assert missing_from("zoe brandstrom logged in 12 times", reference) == []


def test_nothing_is_required_of_an_empty_reference() -> None:
    assert missing_from("anything", "") == []
