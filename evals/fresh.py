"""Ask fresh questions on a demo seed nobody developed against, and write what came back.

Fresh questions are the honest check before an assistant issue is resolved: written
as a manager would, on a seed used for nothing else, never added to the examples or
the eval bank. This prints (or writes) each question's tool calls, checks and answer
as Markdown, for a person to score; it scores nothing itself.

    python -m evals.fresh QUESTIONS.txt --seed 13 --as-of 2026-12-03 [--out FILE.md]

One question per line; a line starting with ``+`` continues the previous question's
conversation (a follow-up); blank lines and ``#`` comments are skipped. The provider
comes from the environment as for ``portalpulse ask`` (offline unless a key or URL is
set), so the same file can be asked of a real model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from assistant.service import AskResult, Assistant
from assistant.settings import Settings
from evals.dataset import SPECS, open_dataset


def read_questions(path: Path) -> list[tuple[str, bool]]:
    """``(question, is_follow_up)`` for each non-blank, non-comment line of ``path``."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        follow_up = text.startswith("+")
        out.append((text.lstrip("+").strip(), follow_up))
    return out


def entry(number: int, question: str, result: AskResult, seconds: float) -> str:
    """One question's Markdown: calls, checks, round trips and the answer."""
    calls = "; ".join(
        f"{c['name']} {json.dumps(c['args'], ensure_ascii=False, sort_keys=True)}"
        for c in result.tool_calls
    )
    lines = [
        f"### {number}. {question}",
        f"- calls: {calls or 'none'}",
        f"- checks: {json.dumps(result.checks)}"
        + (f"; grounding: {json.dumps(result.grounding)}" if len(result.grounding) > 1 else ""),
        f"- provider: {result.provider}, round trips {result.round_trips}, {seconds:.1f} s"
        + (f", error: {result.error}" if result.error else ""),
        f"- answer: {result.answer}",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--seed", type=int, required=True, help="the demo's seed")
    parser.add_argument("--as-of", required=True, help="the day the demo data ends")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: stdout)")
    args = parser.parse_args(argv)
    if args.seed in {s.seed for s in SPECS.values()}:
        parser.error(f"seed {args.seed} is an eval split's seed: fresh questions need another")
    spec = replace(
        SPECS["dev"], split=f"fresh-{args.seed}", seed=args.seed, as_of=args.as_of, extra=None
    )
    dataset = open_dataset(spec=spec)
    settings = Settings.from_env()
    assistant = Assistant(dataset.engine, settings, store_dir=dataset.store_dir)
    parts = [f"# Fresh questions: demo seed {args.seed}, as of {args.as_of}\n"]
    conversation: str | None = None
    try:
        for number, (question, follow_up) in enumerate(read_questions(args.questions), 1):
            started = time.perf_counter()
            result = assistant.ask(
                dataset.workspace_id, "default", question, as_of=args.as_of,
                conversation_id=conversation if follow_up else None,
            )  # fmt: skip
            conversation = result.conversation_id
            parts.append(entry(number, question, result, time.perf_counter() - started))
            print(f"{number}. {question}", file=sys.stderr)
    finally:
        dataset.close()
    text = "\n".join(parts)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
