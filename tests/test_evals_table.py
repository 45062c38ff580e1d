"""The per-model row of an eval run and the Markdown table built from kept reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from evals.report import Summary, write_reports
from evals.runner import RunResult
from evals.scorers import Score
from evals.table import from_log, table


def run(case: str, passed: bool, grounded: bool, ms: float, trips: int, total: int) -> RunResult:
    scores = [Score("trajectory", passed, ""), Score("grounded", grounded, "")]
    return RunResult(
        case_id=case, category="kpis", variant=0, question="q?", passed=passed and grounded,
        scores=scores, latency_ms=ms, round_trips=trips,
        tokens={"prompt": total - 10, "completion": 10, "total": total, "cached": total // 2},
    )  # fmt: skip


def summary() -> Summary:
    results = [
        run(f"c{i}", i % 4 != 0, i != 5, 100.0 * (i + 1), 1 + i % 2, 1000) for i in range(100)
    ]
    return Summary("openai", "qwen2.5-1.5b", datetime(2026, 12, 2, tzinfo=UTC), 60.0, results)


def test_model_row_figures() -> None:
    row = summary().model_row()
    assert row["runs"] == 100 and row["accuracy"] == 74.0  # 75 pass the trajectory, c5 not grounded
    assert row["checks_passed"] == 99.0
    assert (row["round_trips"], row["round_trips_max"]) == (1.5, 2)
    assert row["tokens_per_question"] == 1000 and row["cached_per_question"] == 500
    assert (row["p50_ms"], row["p99_ms"]) == (5050.0, 9900.0)


def test_table_from_reports_with_dotted_model_names(tmp_path: Path) -> None:
    json_path, md_path = write_reports(summary(), tmp_path)
    assert json_path.name == "openai-qwen2.5-1.5b-2026-12-02.json" and md_path.exists()
    assert json.loads(json_path.read_text())["model_row"]["runs"] == 100
    lines = table([json_path]).splitlines()
    assert lines[0].startswith("| provider | model |") and len(lines) == 3
    assert lines[2] == (
        "| openai | qwen2.5-1.5b | 2026-12-02 | 100 | 100 | 74.0% | 99.0% | 1.5 / 2 | "
        "1,000 (500 cached) | 5.0 s | 9.9 s |"
    )


def test_a_progress_log_gives_the_same_row(tmp_path: Path) -> None:
    full = summary()
    log = tmp_path / "runs.jsonl"
    log.write_text("".join(json.dumps(r.as_dict()) + "\n" for r in full.results))
    row = from_log(log, "openai", "qwen2.5-1.5b").model_row()
    expected = full.model_row()
    assert {k: v for k, v in row.items() if k != "date"} == {
        k: v for k, v in expected.items() if k != "date"
    }


def test_a_sample_spreads_over_the_bank_and_leads_with_every_category() -> None:
    from evals.cases import load_cases, sample_cases

    bank = load_cases(split="dev")
    picked = sample_cases(bank, 34)
    assert len(picked) == 34 and len({c.id for c in picked}) == 34
    categories = {c.category for c in picked}
    assert len(categories) >= len({c.category for c in bank}) - 1  # every area, near enough
    assert {c.category for c in picked[: len(categories)]} == categories
