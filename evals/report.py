"""Eval reports: a summary, the JSON and Markdown files, and the terminal tables.

Every report shows the bank's two splits apart — ``dev`` (the cases the planner was
developed on) and ``test`` (held out, on a second dataset) — with overall figures
beside them. Reports are named ``<provider>-<model>-<YYYY-MM-DD>.{json,md}``. Runs of real
models go to ``evals/results/`` and are kept in git, so answers can be compared
across models and versions; the offline CI run writes to ``evals/results/tmp/``
(git-ignored) unless told otherwise — see ``evals/README.md``.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evals import dataset
from evals.cases import SPLITS
from evals.runner import RunResult

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CHECKS = ("grounded", "covered")
"""Scorers that re-check what every answer claims about itself (``checks`` in answers)."""
SCRATCH_DIR = RESULTS_DIR / "tmp"


@dataclass
class Summary:
    provider: str
    model: str
    started: datetime
    duration_s: float
    results: list[RunResult]

    @property
    def runs(self) -> int:
        return len(self.results)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def accuracy(self) -> float:
        return 100.0 * self.passed / self.runs if self.runs else 0.0

    def split_names(self) -> list[str]:
        """The splits this run asked, in the bank's order."""
        present = {r.split for r in self.results}
        return [name for name in SPLITS if name in present]

    def split_accuracy(self, split: str) -> float | None:
        """Accuracy (%) of one split's runs; None when none of its cases ran."""
        rows = [r for r in self.results if r.split == split]
        return 100.0 * sum(1 for r in rows if r.passed) / len(rows) if rows else None

    def categories(self, split: str | None = None) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[RunResult]] = defaultdict(list)
        for result in self.results:
            if split is None or result.split == split:
                groups[result.category].append(result)
        return {name: _counts(rows) for name, rows in sorted(groups.items())}

    def splits(self) -> dict[str, dict[str, Any]]:
        """Per split: its dataset, counts, accuracy and per-category figures."""
        out: dict[str, dict[str, Any]] = {}
        for name in self.split_names():
            rows = [r for r in self.results if r.split == name]
            out[name] = {
                "dataset": dataset.SPECS[name].describe(),
                **_counts(rows),
                "categories": self.categories(name),
            }
        return out

    def scorers(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"scored": 0, "passed": 0})
        for result in self.results:
            for score in result.scores:
                if not score.skipped:
                    counts[score.name]["scored"] += 1
                    counts[score.name]["passed"] += int(score.passed)
        return dict(sorted(counts.items()))

    def latency(self) -> dict[str, float]:
        values = sorted(r.latency_ms for r in self.results if r.latency_ms)
        if not values:
            return {}
        return {
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(_percentile(values, 0.95), 1),
            "p99_ms": round(_percentile(values, 0.99), 1),
            "max_ms": round(values[-1], 1),
        }

    def checks_passed(self) -> float:
        """Share of runs (%) whose answer passed every check it carries (``grounded``,
        and ``covered`` where the assistant reports it)."""
        if not self.runs:
            return 0.0
        ok = 0
        for result in self.results:
            checks = [s for s in result.scores if s.name in CHECKS and not s.skipped]
            ok += int(bool(checks) and all(s.passed for s in checks))
        return 100.0 * ok / self.runs

    def model_row(self) -> dict[str, Any]:
        """One row of the per-model table in ``evals/README.md``."""
        latency = self.latency()
        trips = [r.round_trips for r in self.results]
        return {
            "provider": self.provider,
            "model": self.model,
            "date": f"{self.started:%Y-%m-%d}",
            "cases": len({r.case_id for r in self.results}),
            "runs": self.runs,
            "accuracy": round(self.accuracy, 1),
            "checks_passed": round(self.checks_passed(), 1),
            "round_trips": round(statistics.mean(trips), 2) if trips else 0.0,
            "round_trips_max": max(trips, default=0),
            "tokens_per_question": round(self.tokens().get("total", 0) / self.runs)
            if self.runs
            else 0,
            "cached_per_question": round(self.tokens().get("cached", 0) / self.runs)
            if self.runs
            else 0,
            "p50_ms": latency.get("p50_ms", 0.0),
            "p99_ms": latency.get("p99_ms", 0.0),
        }

    def tokens(self) -> dict[str, int]:
        total: dict[str, int] = defaultdict(int)
        for result in self.results:
            for key, value in result.tokens.items():
                if isinstance(value, int):
                    total[key] += value
        return dict(total)

    def as_dict(self) -> dict[str, Any]:
        trips = [r.round_trips for r in self.results]
        return {
            "provider": self.provider,
            "model": self.model,
            "started": self.started.isoformat().replace("+00:00", "Z"),
            "duration_s": round(self.duration_s, 1),
            "dataset": {name: dataset.SPECS[name].describe() for name in self.split_names()},
            "splits": self.splits(),
            "cases": len({r.case_id for r in self.results}),
            "runs": self.runs,
            "passed": self.passed,
            "accuracy": round(self.accuracy, 1),
            "categories": self.categories(),
            "scorers": self.scorers(),
            "latency": self.latency(),
            "round_trips_mean": round(statistics.mean(trips), 2) if trips else 0,
            "model_row": self.model_row(),
            "tokens": self.tokens(),
            "results": [r.as_dict() for r in self.results],
        }


def _counts(rows: list[RunResult]) -> dict[str, Any]:
    passed = sum(1 for r in rows if r.passed)
    return {
        "cases": len({r.case_id for r in rows}),
        "runs": len(rows),
        "passed": passed,
        "accuracy": round(100.0 * passed / len(rows), 1) if rows else 0.0,
    }


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "model"


def report_name(summary: Summary) -> str:
    return f"{slug(summary.provider)}-{slug(summary.model)}-{summary.started:%Y-%m-%d}"


def write_reports(summary: Summary, folder: Path) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    name = report_name(summary)  # may hold dots ("qwen2.5-1.5b"): not a suffix
    json_path, md_path = folder / f"{name}.json", folder / f"{name}.md"
    json_path.write_text(
        json.dumps(summary.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    md_path.write_text(markdown(summary), encoding="utf-8")
    return json_path, md_path


def _cell(text: str, limit: int = 160) -> str:
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def markdown(summary: Summary) -> str:
    data = summary.as_dict()
    lines = [
        f"# Eval report — {summary.provider} / {summary.model}",
        "",
        f"{data['started']} · {data['cases']} cases, {data['runs']} runs · {data['duration_s']} s",
        "",
        f"**Accuracy: {data['accuracy']}%** ({data['passed']} of {data['runs']} runs passed) · "
        f"latency p50 {data['latency'].get('p50_ms', 0)} ms, "
        f"p95 {data['latency'].get('p95_ms', 0)} ms, "
        f"p99 {data['latency'].get('p99_ms', 0)} ms · "
        f"checks passed {data['model_row']['checks_passed']}% · "
        f"model round trips {data['round_trips_mean']} per question · "
        f"tokens {data['tokens'].get('total', 0):,}",
        "",
        "| split | dataset | cases | runs | passed | accuracy |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, row in data["splits"].items():
        ds = row["dataset"]
        lines.append(
            f"| {name} | seed {ds['seed']}, as of {ds['as_of']}, {ds['events']:,} events"
            f"{', planted rows' if ds['planted'] else ''} (v{ds['version']}) | {row['cases']} | "
            f"{row['runs']} | {row['passed']} | **{row['accuracy']}%** |"
        )
    for name, row in data["splits"].items():
        lines += [
            "",
            f"## {name} split: {row['accuracy']}%",
            "",
            "| category | cases | runs | passed | accuracy |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for category, c in row["categories"].items():
            lines.append(
                f"| {category} | {c['cases']} | {c['runs']} | {c['passed']} | {c['accuracy']}% |"
            )
    lines += ["", "| scorer | scored | passed |", "| --- | ---: | ---: |"]
    for name, row in data["scorers"].items():
        lines.append(f"| {name} | {row['scored']} | {row['passed']} |")
    failed = [r for r in summary.results if not r.passed]
    lines += ["", f"## Failures ({len(failed)})", ""]
    for r in failed:
        reasons = "; ".join(f"{s.name}: {s.detail}" for s in r.scores if not s.passed)
        lines += [
            f"### {r.run_id} ({r.split} · {r.category})",
            "",
            f"- question: {_cell(r.question, 300)}",
            f"- expected: `{_cell(json.dumps(r.expected, default=str), 300)}`",
            f"- tools: {_cell(', '.join(c['name'] for c in r.tool_calls) or 'none')}",
            f"- why: {_cell(reasons or r.error or '', 400)}",
            f"- answer: {_cell(r.answer, 600)}",
            "",
        ]
    lines += [
        "## Every run",
        "",
        "| run | split | category | pass | tools | latency ms | round trips | tokens | answer |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in summary.results:
        tools = ", ".join(c["name"] for c in r.tool_calls) or "—"
        lines.append(
            f"| {r.run_id} | {r.split} | {r.category} | {'✅' if r.passed else '❌'} | {tools} | "
            f"{r.latency_ms:.0f} | {r.round_trips} | {r.tokens.get('total', 0)} | "
            f"{_cell(r.answer, 100)} |"
        )
    return "\n".join(lines) + "\n"


def print_summary(summary: Summary, console: Console, failures: int = 10) -> None:
    """Per split, the per-category table and the split's accuracy; then each split's
    accuracy side by side, the overall one, and the first failures."""
    table = Table(title=f"Evals — {summary.provider} / {summary.model}")
    for column, justify in (("split", "left"), ("category", "left"), ("cases", "right"),
                            ("runs", "right"), ("passed", "right"),
                            ("accuracy", "right")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    splits = summary.splits()
    for name, part in splits.items():
        for category, row in part["categories"].items():
            table.add_row(name, category, *_cells(row))
        table.add_row(f"[bold]{name}[/]", "[bold]all[/]", *_cells(part, bold=True))
        table.add_section()
    if len(splits) > 1:
        table.add_row("overall", "", *_cells(_counts(summary.results), bold=True))
    console.print(table)
    for name, part in splits.items():
        ds = part["dataset"]
        console.print(
            f"{name}: {part['accuracy']:.1f}% ({part['passed']} of {part['runs']} runs) on "
            f"seed {ds['seed']}, as of {ds['as_of']}",
            highlight=False,
        )
    latency = summary.latency()
    console.print(
        f"latency p50 {latency.get('p50_ms', 0)} ms, p95 {latency.get('p95_ms', 0)} ms · "
        f"{summary.duration_s:.1f} s in all",
        highlight=False,
    )
    failed = [r for r in summary.results if not r.passed]
    for r in failed[:failures]:
        reasons = "; ".join(f"{s.name}: {s.detail}" for s in r.scores if not s.passed)
        console.print(
            f"[red]✗[/] {r.split} {r.run_id}: {_cell(reasons or r.error or '', 200)}",
            highlight=False,
        )
    if len(failed) > failures:
        console.print(f"… and {len(failed) - failures} more failures (see the report)")


def _cells(row: dict[str, Any], bold: bool = False) -> tuple[str, str, str, str]:
    style = "green" if row["accuracy"] >= 95 else ("yellow" if row["accuracy"] >= 80 else "red")
    if bold:
        style = f"bold {style}"
    return (
        str(row["cases"]), str(row["runs"]), str(row["passed"]),
        f"[{style}]{row['accuracy']:.1f}%[/]",
    )  # fmt: skip


def _percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` percentile of sorted ``values``."""
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def now() -> datetime:
    return datetime.now(UTC)
