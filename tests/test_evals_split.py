"""The bank's dev / test split: the held-out test cases stay out of the example index,
are asked on their own (second) dataset, and are reported apart from dev."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from assistant.planner.plan import seed_examples
from assistant.service import Assistant
from assistant.settings import Settings
from evals.cases import CASES_DIR, SPLITS, Case, CaseError, load_cases
from evals.dataset import DEV, TEST, Dataset, open_dataset
from evals.report import Summary, markdown, now
from evals.run import opened, run_eval
from evals.runner import RunResult
from evals.truth import TruthContext, TruthError, evaluate
from metrics.scope import resolve_scope
from metrics.semantic.query import parse_query, run_query

ROOT = Path(__file__).resolve().parent.parent


def _fold(text: str) -> str:
    """A question as the index would match it: case, punctuation and spacing ignored."""
    return " ".join(re.sub(r"[^\w$%]+", " ", text.casefold()).split())


def _asked(cases: Iterable[Case]) -> dict[str, str]:
    """Every text a case sends to the assistant (question, paraphrases, earlier turns)."""
    return {_fold(q): c.id for c in cases for q in (*c.questions, *c.turns)}


def leaked(index: Iterable[str], cases: Iterable[Case]) -> list[str]:
    asked = _asked(cases)
    return sorted(f"{asked[_fold(q)]}: {q}" for q in index if _fold(q) in asked)


@pytest.fixture(scope="module")
def test_data() -> Iterator[Dataset]:
    opened = open_dataset(spec=TEST)
    yield opened
    opened.close()


def test_the_bank_is_split_into_dev_and_test_folders() -> None:
    assert not list(CASES_DIR.glob("*.yaml"))  # every case file is in dev/ or test/
    dev, test = load_cases(split="dev"), load_cases(split="test")
    assert len(dev) >= 150 and len(test) >= 100
    assert {c.split for c in dev} == {"dev"} and {c.split for c in test} == {"test"}
    assert all(c.source.startswith("dev/") for c in dev)
    assert all(c.source.startswith("test/") for c in test)
    assert {c.id for c in dev}.isdisjoint(c.id for c in test)
    assert len(load_cases()) == len(dev) + len(test)
    with pytest.raises(CaseError, match="split must be one of dev, test or all"):
        load_cases(split="train")


def test_the_test_split_runs_on_a_second_dataset() -> None:
    assert (TEST.seed, TEST.as_of) != (DEV.seed, DEV.as_of)
    assert TEST.key != DEV.key
    test = load_cases(split="test")
    # every test case is asked as of the test dataset's date unless it names its own
    assert all(c.as_of in (None, TEST.as_of) for c in test)


def test_the_example_index_holds_none_of_the_test_questions(test_data: Dataset) -> None:
    test = load_cases(split="test")
    seeds = [e.question for e in seed_examples()]
    assert seeds and leaked(seeds, test) == []
    # the index the assistant really searches, built on the test dataset
    assistant = Assistant(test_data.engine, Settings.from_env({}), store_dir=test_data.store_dir)
    _, documents, _, _ = assistant.store._example_matrix()
    assert len(documents) >= len(set(seeds))
    assert leaked(documents, test) == []
    # and no held-out question is a dev question under another name
    assert leaked(_asked(load_cases(split="dev")), test) == []


def test_the_leak_check_finds_a_test_question_in_an_index() -> None:
    (case, *_) = load_cases(split="test")
    index = ["who never logged in?", f"  {case.question.upper()}  "]
    assert leaked(index, [case]) == [f"{case.id}:   {case.question.upper()}  "]


def test_query_truth_is_the_general_query(test_data: Dataset) -> None:
    with test_data.engine.connect() as conn:
        ctx = TruthContext(conn, test_data.workspace_id, test_data.as_of)
        ws, as_of = test_data.workspace_id, test_data.as_of
        scope = resolve_scope(conn, ws, as_of=as_of, range="this_month")
        direct = run_query(conn, scope, parse_query("logins", "owner", sort="logins"))
        truth = evaluate(ctx, "query", {"measures": "logins", "by": "owner", "sort": "logins",
                                         "range": "this_month"})  # fmt: skip
        assert truth.names == [r["owner_name"] for r in direct.rows] and truth.names
        assert set(truth.names) <= set(truth.universe)
        total = evaluate(ctx, "query", {"measures": ["logins"], "range": "this_month"})
        assert total.value == direct.totals["logins"]
        second = truth.names[1]
        rank = evaluate(ctx, "query", {"measures": "logins", "by": "owner", "sort": "logins",
                                        "range": "this_month", "name": second.upper(),
                                        "field": "position"})  # fmt: skip
        assert rank.value == 2
        where = evaluate(ctx, "query", {"measures": "tasks_overdue", "by": "account",
                                         "where": "tasks_overdue > 1"})  # fmt: skip
        assert where.value == len(where.names)
        assert all(r["tasks_overdue"] > 1 for r in run_query(
            conn, resolve_scope(conn, test_data.workspace_id, as_of=test_data.as_of),
            parse_query("tasks_overdue", "account", "tasks_overdue > 1")).rows)  # fmt: skip
        with pytest.raises(TruthError, match="unknown measure"):
            evaluate(ctx, "query", {"measures": "happiness"})


def _result(case: str, split: str, passed: bool) -> RunResult:
    return RunResult(case, "kpis", 0, "q", passed, [], split=split)


def test_the_report_shows_each_split_apart() -> None:
    results = [_result("a", "dev", True), _result("b", "dev", True), _result("c", "test", False),
               _result("d", "test", True)]  # fmt: skip
    summary = Summary("offline", "planner", now(), 1.0, results)
    assert summary.split_accuracy("dev") == 100.0 and summary.split_accuracy("test") == 50.0
    assert summary.accuracy == 75.0
    splits = summary.as_dict()["splits"]
    assert splits["dev"]["dataset"]["seed"] == DEV.seed
    assert splits["test"]["dataset"]["seed"] == TEST.seed
    assert (splits["test"]["runs"], splits["test"]["passed"]) == (2, 1)
    text = markdown(summary)
    assert "## dev split: 100.0%" in text and "## test split: 50.0%" in text
    assert f"| test | seed {TEST.seed}, as of {TEST.as_of}" in text


def test_each_split_is_answered_on_its_own_dataset() -> None:
    dev = [c for c in load_cases(split="dev") if c.id == "kpis-logins-this-month"]
    test = [c for c in load_cases(split="test") if c.id == "t-periods-logins-in-may"]
    assert dev and test
    summary = run_eval(Settings.from_env({}), dev + test)
    assert summary.split_names() == list(SPLITS)
    by_split = {r.split: r for r in summary.results if r.variant == 0}
    assert by_split["dev"].passed, by_split["dev"].scores
    truth = test[0].truth
    assert truth is not None
    with opened(spec=TEST) as data, data.engine.connect() as conn:
        ctx = TruthContext(conn, data.workspace_id, data.as_of)
        expected = evaluate(ctx, truth.fn, truth.args).value
    with opened(spec=DEV) as data, data.engine.connect() as conn:
        ctx = TruthContext(conn, data.workspace_id, TEST.as_of)
        on_dev = evaluate(ctx, truth.fn, truth.args).value
    assert by_split["test"].expected.get("value") == expected != on_dev


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "eval", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "120"},
        timeout=300,
    )


def test_cli_split_and_per_split_thresholds_are_checked() -> None:
    bad = cli("--split", "train")
    assert bad.returncode == 1 and "--split must be dev, test or all" in bad.stderr
    unknown = cli("--fail-under", "train=95")
    assert unknown.returncode == 1 and "unknown split 'train'" in unknown.stderr
    absent = cli("--split", "test", "--fail-under", "dev=95")
    assert absent.returncode == 1 and "names dev but no case of that split runs" in absent.stderr
    assert "--fail-under must be a percentage" in cli("--fail-under", "dev=101").stderr
