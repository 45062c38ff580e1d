"""Assistant benchmark: offline answer latency, and model round trips on the LLM path.

    .venv/bin/python bench/ask.py [--events 50000] [--repeat 5]

1. Offline: every question style of the assistant issue, asked `--repeat` times
   in one warm process on the demo data; prints p50/p99 latency per answer (the
   full path: planning, tools, templates, grounding, memory writes), and, as a
   reference in the same run, the time of the bare metrics calls those answers
   make — so the figure shows what the assistant adds on top of the metrics.
2. LLM path: the same agent loop with ChatOpenAI against a loopback
   OpenAI-compatible stub that picks the planner's tool and then answers;
   prints model round trips per question (target: at most 2 for a
   single-metric question). The stub measures the loop, not a model's quality.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from metrics.db import connect, workspace_id  # noqa: E402
from metrics.demo import generate_demo  # noqa: E402
from metrics.ingest import import_folder  # noqa: E402
from tools import ToolContext, run_tool  # noqa: E402

AS_OF = "2026-11-22"
QUESTIONS = [
    "who never logged in?",
    "How many customers never logged into their portal?",
    "which projects have the lowest portal engagement this month?",
    "who hasn't visited in two weeks?",
    "invite-to-login conversion by project",
    "where are the overdue and unassigned tasks?",
    "top 5 partners and why they rank there",
    "which partners had no sessions in the last 30 days?",
    "most viewed resources and rooms",
    "how many logins this month compared to last month?",
    "are logins going up?",
    "what are DAU, WAU and MAU?",
    "what share of visits are on mobile?",
    "what is our self-service resolution rate and deflection savings?",
    "summarize the risks in my portfolio",
    "what does avg visit duration mean?",
    "what is the weather today?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def offline(assistant: Assistant, ws: int, repeat: int) -> None:
    for question in QUESTIONS:  # warm every path once
        assistant.ask(ws, "default", question, as_of=AS_OF)
    latencies: list[float] = []
    per_question: dict[str, list[float]] = {}
    tool_time: list[float] = []
    round_trips: list[int] = []
    ctx = ToolContext(assistant.engine, ws, as_of=AS_OF)
    for _ in range(repeat):
        for question in QUESTIONS:
            started = time.perf_counter()
            result = assistant.ask(ws, "default", question, as_of=AS_OF)
            latencies.append((time.perf_counter() - started) * 1000)
            per_question.setdefault(question, []).append(latencies[-1])
            round_trips.append(result.round_trips)
            bare = time.perf_counter()
            for call in result.tool_calls:
                run_tool(ctx, call["name"], call["args"])
            tool_time.append((time.perf_counter() - bare) * 1000)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    t50 = percentile(tool_time, 0.5)
    print(f"offline answers ({len(latencies)} = {len(QUESTIONS)} questions × {repeat})")
    print(f"  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {max(latencies):6.1f} ms")
    print(
        f"  bare tool calls of the same answers: p50 {t50:6.1f} ms "
        f"(answer ÷ tools at p50: {p50 / max(t50, 0.01):.1f}×)"
    )
    print(
        f"  model round trips per question: {statistics.mean(round_trips):.2f} mean, "
        f"{max(round_trips)} max"
    )
    slowest = sorted(per_question.items(), key=lambda kv: -statistics.median(kv[1]))[:3]
    for question, times in slowest:
        print(f"  slowest: {statistics.median(times):6.1f} ms median — {question}")


def llm_path(assistant: Assistant, ws: int) -> None:
    from tests.llm_stub import Completion, LLMStub, tool_call

    with LLMStub() as stub:
        settings = Settings.from_env({}).replace(
            provider="openai", base_url=stub.base_url, api_key="bench", model="stub"
        )
        trips = []
        for question in QUESTIONS[:-2]:
            plan = assistant.ask(ws, "default", question, as_of=AS_OF)
            if not plan.tool_calls:
                continue
            call = plan.tool_calls[0]
            stub.enqueue(
                Completion(tool_calls=[tool_call(call["name"], call["args"])]),
                Completion(content="Here is what the portal data shows for that question."),
            )
            llm = Assistant(assistant.engine, settings, store=assistant.store)
            result = llm.ask(ws, "default", question, as_of=AS_OF)
            trips.append(result.round_trips)
        print(f"LLM path (loopback OpenAI-compatible stub, {len(trips)} single-metric questions)")
        print(
            f"  model round trips per question: {statistics.mean(trips):.2f} mean, "
            f"{max(trips)} max (target ≤ 2)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = connect(f"sqlite:///{root / 'bench.db'}")
        generate_demo(root / "csv", seed=7, as_of=date.fromisoformat(AS_OF), events=args.events)
        import_folder(engine, root / "csv")
        with engine.connect() as conn:
            ws = workspace_id(conn)
        started = time.perf_counter()
        assistant = Assistant(engine, Settings.from_env({}), store_dir=root / "chroma")
        print(
            f"assistant start (embedding model, example index): "
            f"{time.perf_counter() - started:.1f} s, demo of {args.events:,} events"
        )
        offline(assistant, ws, args.repeat)
        llm_path(assistant, ws)


if __name__ == "__main__":
    main()
