"""``portalpulse eval``: the question bank against the assistant, scored on ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.common import UserError, console


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def eval_command(
    provider: Annotated[
        str, typer.Option(help="offline (the planner) or openai (any OpenAI-compatible model).")
    ] = "offline",
    model: Annotated[
        str | None, typer.Option(help="Model name for --provider openai (PORTALPULSE_MODEL).")
    ] = None,
    cases: Annotated[
        str | None,
        typer.Option(help="Only cases whose id or category matches (glob or substring)."),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(help="Only N cases spread evenly over the bank (for slow local models)."),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(help="Append each scored run to this file as a JSON line, as it ends."),
    ] = None,
    fail_under: Annotated[
        float | None,
        typer.Option("--fail-under", help="Exit 1 when overall accuracy (%) is below this."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the JSON + Markdown report (default: evals/results/ for real "
            "models, evals/results/tmp/ for offline runs)."
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Offline too: write the report to evals/results/.")
    ] = False,
    judge: Annotated[
        bool | None,
        typer.Option("--judge/--no-judge", help="Grade rubrics with an LLM judge (needs a model)"),
    ] = None,
) -> None:
    """Ask every case of the question bank on the fixed eval dataset and score the answers."""
    from assistant.settings import SettingsError
    from evals.cases import CaseError, load_cases, sample_cases
    from evals.report import RESULTS_DIR, SCRATCH_DIR, print_summary, write_reports
    from evals.run import eval_settings, run_eval

    if provider not in ("offline", "openai"):
        raise UserError(f"--provider must be offline or openai, not {provider!r}")
    if fail_under is not None and not 0 <= fail_under <= 100:
        raise UserError(f"--fail-under must be a percentage between 0 and 100, not {fail_under}")
    if judge and provider == "offline":
        raise UserError("--judge needs a model: use it with --provider openai")
    try:
        settings = eval_settings(provider, model)
        selected = load_cases(pattern=cases)
        if sample is not None:
            selected = sample_cases(selected, sample)
    except (SettingsError, CaseError) as exc:
        raise UserError(str(exc)) from None
    if not selected:
        raise UserError(f"no case matches --cases {cases!r}")
    total = sum(len(c.questions) for c in selected)
    columns = (
        TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
    )  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("eval", total=total, last="")
        summary = run_eval(
            settings,
            selected,
            judge=judge,
            progress=lambda r: (
                bar.update(
                    task, advance=1, last=("[green]✓[/] " if r.passed else "[red]✗[/] ") + r.run_id
                ),
                _append(log, r.as_dict()),
            ),
        )
    print_summary(summary, console)
    folder = out or (RESULTS_DIR if provider != "offline" or keep else SCRATCH_DIR)
    json_path, md_path = write_reports(summary, folder)
    console.print(f"report: {json_path} and {md_path.name}", highlight=False)
    if fail_under is not None and summary.accuracy < fail_under:
        raise UserError(f"accuracy {summary.accuracy:.1f}% is under --fail-under {fail_under:g}%")


def _append(path: Path | None, record: dict[str, object]) -> None:
    if path is not None:
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
