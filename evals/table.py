"""The per-model table of ``evals/README.md``, from the kept JSON reports.

    .venv/bin/python -m evals.table [REPORT.json ...]    # default: evals/results/*.json
    .venv/bin/python -m evals.table --log RUNS.jsonl PROVIDER MODEL   # from `eval --log`

One row per report: accuracy, checks passed (``grounded``/``covered`` re-checked by
the scorers), model round trips per question (mean and max), tokens per question
(of which read from the server's prompt cache, when it says) and latency p50/p99.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.report import RESULTS_DIR, Summary
from evals.runner import RunResult

HEADER = (
    "| provider | model | date | cases | runs | accuracy | checks passed | round trips "
    "(mean / max) | tokens per question | p50 latency | p99 latency |\n"
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def _seconds(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def row(report: dict[str, Any]) -> str:
    """One Markdown row for a report written by :func:`evals.report.write_reports`."""
    r = report["model_row"]
    cached = f" ({r['cached_per_question']:,} cached)" if r.get("cached_per_question") else ""
    return (
        f"| {r['provider']} | {r['model']} | {r['date']} | {r['cases']} | {r['runs']} | "
        f"{r['accuracy']}% | {r['checks_passed']}% | {r['round_trips']} / {r['round_trips_max']} "
        f"| {r['tokens_per_question']:,}{cached} | {_seconds(r['p50_ms'])} | "
        f"{_seconds(r['p99_ms'])} |"
    )


def table(paths: list[Path]) -> str:
    """The Markdown table of the reports at ``paths`` (those without a model row skipped)."""
    lines = [HEADER]
    for path in paths:
        report = json.loads(path.read_text(encoding="utf-8"))
        if "model_row" in report:
            lines.append(row(report))
    return "\n".join(lines)


def from_log(path: Path, provider: str, model: str) -> Summary:
    """A summary of the runs an ``eval --log`` file holds (a run cut short included)."""
    runs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    started = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return Summary(provider, model, started, 0.0, [RunResult.from_dict(r) for r in runs])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--log"]:
        _, log, provider, model = args
        print(HEADER)
        print(row({"model_row": from_log(Path(log), provider, model).model_row()}))
        return
    paths = [Path(a) for a in args] or sorted(RESULTS_DIR.glob("*.json"))
    print(table(paths))


if __name__ == "__main__":
    main()
