"""``portalpulse eval``: the question bank against the assistant, scored on ground truth.

The bank has a ``dev`` split (tunable) and a held-out ``test`` split on a second
dataset; ``--split`` picks them and the report shows each apart. ``--fail-under``
gates every split that ran (``95``) or named ones (``dev=95`` or ``dev=98,test=95``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

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
    split: Annotated[
        str,
        typer.Option(
            help="dev (the cases the planner was developed on), test (held out, on a second "
            "dataset) or all; each split is reported on its own."
        ),
    ] = "all",
    sample: Annotated[
        int | None,
        typer.Option(help="Only N cases spread evenly over the bank (for slow local models)."),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(help="Append each scored run to this file as a JSON line, as it ends."),
    ] = None,
    fail_under: Annotated[
        str | None,
        typer.Option(
            "--fail-under",
            help="Exit 1 when a split's accuracy (%) is below this: a number gates every "
            "split that ran, 'dev=95' or 'dev=98,test=95' only the splits named.",
        ),
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
    from evals.cases import SPLITS, CaseError, load_cases, sample_cases
    from evals.report import RESULTS_DIR, SCRATCH_DIR, print_summary, write_reports
    from evals.run import eval_settings, run_eval

    if provider not in ("offline", "openai"):
        raise UserError(f"--provider must be offline or openai, not {provider!r}")
    if split not in (*SPLITS, "all"):
        raise UserError(f"--split must be {', '.join(SPLITS)} or all, not {split!r}")
    gates = parse_fail_under(fail_under) if fail_under is not None else None
    if judge and provider == "offline":
        raise UserError("--judge needs a model: use it with --provider openai")
    try:
        settings = eval_settings(provider, model)
        selected = load_cases(pattern=cases, split=split)
        if sample is not None:
            selected = sample_cases(selected, sample)
    except (SettingsError, CaseError) as exc:
        raise UserError(str(exc)) from None
    if not selected:
        what = f"--cases {cases!r}" if cases else f"--split {split}"
        if cases and split != "all":
            what += f" in --split {split}"
        raise UserError(f"no case matches {what}")
    ran = {c.split for c in selected}
    missing = [name for name in gates or {} if name != "*" and name not in ran]
    if missing:
        raise UserError(
            f"--fail-under names {', '.join(missing)} but no case of that split runs "
            f"(--split {split}{f', --cases {cases!r}' if cases else ''})"
        )
    total = sum(len(c.questions) for c in selected)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

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
    below = []
    for name in summary.split_names():
        threshold = (gates or {}).get(name, (gates or {}).get("*"))
        accuracy = summary.split_accuracy(name)
        if threshold is not None and accuracy is not None and accuracy < threshold:
            below.append(f"{name} accuracy {accuracy:.1f}% is under --fail-under {threshold:g}%")
    if below:
        raise UserError("; ".join(below))


def parse_fail_under(text: str) -> dict[str, float]:
    """``95`` → every split (key ``*``); ``dev=98,test=95`` → those splits only."""
    from evals.cases import SPLITS

    gates: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().rpartition("=")
        name = name.strip() if sep else "*"
        if sep and name not in SPLITS:
            raise UserError(
                f"--fail-under: unknown split {name!r} (one of {', '.join(SPLITS)}), in {text!r}"
            )
        try:
            threshold = float(value)
        except ValueError:
            threshold = -1.0
        if not 0 <= threshold <= 100:
            raise UserError(
                f"--fail-under must be a percentage between 0 and 100 (or SPLIT=PERCENT, "
                f"comma-separated), not {text!r}"
            )
        gates[name] = threshold
    return gates


def _append(path: Path | None, record: dict[str, object]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
