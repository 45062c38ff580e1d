"""The evals end to end on the fixed eval dataset: truth, runner, reports, a broken metric
and a broken planner caught, the LLM path against a loopback stub, and the CLI.

The whole bank over the offline planner runs in ``scripts/test`` (``portalpulse eval
--fail-under 95``); here only a few cases run, so these tests stay quick.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import Settings
from evals.cases import load_cases, parse_case
from evals.dataset import INJECTED_PROJECT, Dataset, open_dataset
from evals.report import Summary, now, write_reports
from evals.run import run_eval
from evals.runner import Runner
from evals.truth import TruthContext, evaluate
from metrics import lookups
from metrics.scope import resolve_scope
from metrics.sections import section
from tests.llm_stub import Completion, LLMStub, tool_call

ROOT = Path(__file__).resolve().parent.parent
PICK = ("kpis-logins-this-month", "leaderboard-top-3-why", "ambiguous-harbor", "refuse-weather")


@pytest.fixture(scope="module")
def data() -> Iterator[Dataset]:
    opened = open_dataset()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def assistant(data: Dataset) -> Assistant:
    return Assistant(data.engine, Settings.from_env({}), store_dir=data.store_dir)


def cases(*ids: str):
    wanted = [c for c in load_cases() if c.id in ids]
    assert len(wanted) == len(ids)
    return wanted


def test_truth_comes_from_the_metrics_layer(data: Dataset) -> None:
    with data.engine.connect() as conn:
        ctx = TruthContext(conn, data.workspace_id, data.as_of)
        scope = resolve_scope(conn, data.workspace_id, as_of=data.as_of, range="this_month")
        kpis = section("kpis")(conn, scope)
        assert evaluate(ctx, "kpi", {"metric": "logins", "range": "this_month"}).value == (
            kpis.kpis.logins
        )
        never = lookups.never_logged_in(
            conn, resolve_scope(conn, data.workspace_id, as_of=data.as_of)
        )
        assert evaluate(ctx, "never_logged_in", {}).value == never.total
        owner = TruthContext(conn, data.workspace_id, data.as_of, {"owner": "tm_05"})
        narrowed = evaluate(owner, "kpi", {"metric": "logins", "range": "this_month"}).value
        assert narrowed < kpis.kpis.logins  # the case's scope narrows the truth too
        projects = evaluate(ctx, "projects", {"sort": "tasks_overdue", "descending": True})
        assert INJECTED_PROJECT in projects.universe  # the planted rows are in the dataset


def test_offline_cases_pass_and_the_report_has_every_field(
    data: Dataset, assistant: Assistant, tmp_path: Path
) -> None:
    results = Runner(assistant, data).run(cases(*PICK))
    assert [r.run_id for r in results if not r.passed] == []
    assert len(results) == 6  # the logins case has two paraphrases
    summary = Summary("offline", "planner", now(), 1.0, results)
    json_path, md_path = write_reports(summary, tmp_path)
    report = json.loads(json_path.read_text())
    assert json_path.name.startswith("offline-planner-") and report["accuracy"] == 100.0
    first = next(r for r in report["results"] if r["id"] == "kpis-logins-this-month")
    for key in ("passed", "answer", "expected", "latency_ms", "round_trips", "tokens", "scores"):
        assert key in first
    assert first["expected"]["value"] > 0
    assert {s["name"] for s in first["scores"]} >= {"trajectory", "grounded", "number"}
    judged = next(r for r in report["results"] if r["case"] == "leaderboard-top-3-why")
    assert any(s["name"] == "judge" and s["skipped"] for s in judged["scores"])
    assert "| kpis | 1 | 3 | 3 | 100.0% |" in md_path.read_text()


def test_a_broken_metric_fails_the_evals(
    data: Dataset, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tools' KPI section overcounts logins by one; the truth still calls the real one."""
    import tools.catalog

    real = tools.catalog.section

    def broken(name: str):
        compute = real(name)
        if name != "kpis":
            return compute

        def wrong(conn, scope, **options):
            result = compute(conn, scope, **options)
            kpis = result.kpis.model_copy(update={"logins": result.kpis.logins + 1})
            return result.model_copy(update={"kpis": kpis})

        return wrong

    monkeypatch.setattr(tools.catalog, "section", broken)
    results = Runner(assistant, data).run(cases("kpis-logins-this-month", "refuse-weather"))
    failed = {r.run_id for r in results if not r.passed}
    assert failed == {
        "kpis-logins-this-month",
        "kpis-logins-this-month#1",
        "kpis-logins-this-month#2",
    }
    number = next(s for s in results[0].scores if s.name == "number")
    assert "expected" in number.detail


def test_a_broken_planner_fails_the_evals(
    data: Dataset, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planner that forgets the window the question names answers the default window."""
    import assistant.planner.plan as plan

    real = plan.extract

    def forgetful(question, today):
        slots = real(question, today)
        slots.range = slots.from_date = slots.to_date = None
        return slots

    monkeypatch.setattr(plan, "extract", forgetful)
    results = Runner(assistant, data).run(cases("kpis-logins-this-month"))
    assert not any(r.passed for r in results)
    trajectory = next(s for s in results[0].scores if s.name == "trajectory")
    assert not trajectory.passed and "range" in trajectory.detail


def test_the_openai_path_against_a_loopback_stub(data: Dataset, tmp_path: Path) -> None:
    case = parse_case(
        {
            "id": "stub-logins",
            "category": "kpis",
            "question": "how many logins this month?",
            "truth": {"fn": "kpi", "args": {"metric": "logins", "range": "this_month"}},
            "score": [{"number": {"unit": "count", "source": "both", "path": "kpis.logins"}}],
            "tools": {"expected": ["get_kpis"], "mode": "strict"},
            "judge": "States the number of logins and the window.",
        },
        "test",
    )
    with data.engine.connect() as conn:
        ctx = TruthContext(conn, data.workspace_id, data.as_of)
        logins = evaluate(ctx, "kpi", {"metric": "logins", "range": "this_month"}).value
    with LLMStub() as stub:
        stub.enqueue(
            Completion(tool_calls=[tool_call("get_kpis", {"range": "this_month"})]),
            Completion(content=f"There were {logins:,} logins this month."),
            Completion(content='{"pass": true, "reason": "number and window given"}'),
        )
        settings = Settings.from_env({}).replace(
            provider="openai", base_url=stub.base_url, api_key="test", model="stub-model",
            max_retries=0, timeout_s=10,
        )  # fmt: skip
        summary = run_eval(settings, [case])
    (result,) = summary.results
    assert result.passed, [(s.name, s.detail) for s in result.scores]
    assert result.round_trips == 2 and result.tokens.get("total") == 36
    assert any(s.name == "judge" and not s.skipped and s.passed for s in result.scores)
    assert (summary.provider, summary.model) == ("openai", "stub-model")
    json_path, _ = write_reports(summary, tmp_path)
    assert json_path.name.startswith("openai-stub-model-")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "eval", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "120", **(env or {})},
        timeout=300,
    )


def test_cli_rejects_bad_options_clearly() -> None:
    bad = cli("--fail-under", "120")
    assert bad.returncode == 1 and "--fail-under must be a percentage" in bad.stderr
    assert (
        "no case matches --cases 'nothing-like-this'" in cli("--cases", "nothing-like-this").stderr
    )
    missing = cli("--provider", "openai")
    assert missing.returncode == 1 and "OPENAI_API_KEY" in missing.stderr


def test_cli_runs_a_real_model_endpoint_and_enforces_the_threshold(tmp_path: Path) -> None:
    with LLMStub() as stub:
        stub.enqueue(Completion(content="I can't answer that from the portal engagement data."))
        env = {"OPENAI_BASE_URL": stub.base_url, "PORTALPULSE_MODEL": "tiny-1b"}
        done = cli("--provider", "openai", "--cases", "refuse-weather", "--out", str(tmp_path),
                   "--fail-under", "95", env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dev: 100.0% (1 of 1 runs)" in done.stdout  # each split's accuracy is printed
    (report,) = tmp_path.glob("openai-tiny-1b-*.json")
    assert json.loads(report.read_text())["results"][0]["passed"]
    assert (tmp_path / report.name.replace(".json", ".md")).exists()
    with LLMStub() as stub:
        stub.enqueue(Completion(content="It is sunny in Paris today."))
        env = {"OPENAI_BASE_URL": stub.base_url, "PORTALPULSE_MODEL": "tiny-1b"}
        failed = cli("--provider", "openai", "--cases", "refuse-weather", "--out", str(tmp_path),
                     "--fail-under", "95", env=env)  # fmt: skip
    assert failed.returncode == 1 and "dev accuracy 0.0% is under --fail-under 95%" in failed.stderr
