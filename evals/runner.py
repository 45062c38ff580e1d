"""Ask every case through the assistant and score the answers.

For each case: bind its placeholders, compute the ground truth from the metrics
layer, then ask the question and each paraphrase in a fresh conversation (after
the case's earlier ``turns``, for follow-ups) through
:meth:`assistant.service.Assistant.ask` — exactly what ``portalpulse ask`` and
``POST /api/ask`` do — and score the final answer. A run *passes* when every
scorer that applies passes (a skipped LLM judge does not count).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.service import Assistant
from evals.cases import Case, ScorerSpec, Trajectory, TruthSpec
from evals.dataset import Dataset
from evals.judge import Judge, skipped
from evals.scorers import (
    SCORERS,
    Response,
    Score,
    score_covered,
    score_grounded,
    score_trajectory,
)
from evals.truth import Truth, TruthContext, TruthError, evaluate


@dataclass
class RunResult:
    """One question of one case, asked and scored."""

    case_id: str
    category: str
    variant: int
    """0 for the case's question, i for its i-th paraphrase."""
    question: str
    passed: bool
    scores: list[Score]
    answer: str = ""
    expected: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    grounded: bool = False
    latency_ms: float = 0.0
    round_trips: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    split: str = "dev"

    @property
    def run_id(self) -> str:
        return self.case_id if self.variant == 0 else f"{self.case_id}#{self.variant}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """The inverse of :meth:`as_dict` (for reports and progress logs read back)."""
        return cls(
            case_id=data["case"], category=data["category"], variant=data["variant"],
            question=data["question"], passed=data["passed"],
            scores=[Score(**s) for s in data["scores"]], answer=data.get("answer", ""),
            expected=data.get("expected") or {}, tool_calls=data.get("tool_calls") or [],
            grounded=data.get("grounded", False), latency_ms=data.get("latency_ms", 0.0),
            round_trips=data.get("round_trips", 0), tokens=data.get("tokens") or {},
            error=data.get("error"),
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "case": self.case_id,
            "category": self.category,
            "split": self.split,
            "variant": self.variant,
            "question": self.question,
            "passed": self.passed,
            "answer": self.answer,
            "expected": self.expected,
            "scores": [
                {
                    "name": s.name,
                    "passed": s.passed,
                    "detail": s.detail,
                    "value": s.value,
                    "skipped": s.skipped,
                }
                for s in self.scores
            ],
            "tool_calls": [{"name": c["name"], "args": c["args"]} for c in self.tool_calls],
            "grounded": self.grounded,
            "latency_ms": self.latency_ms,
            "round_trips": self.round_trips,
            "tokens": self.tokens,
            "error": self.error,
        }


def _fill(value: Any, binds: dict[str, Any]) -> Any:
    """``{name}`` placeholders replaced in every string of ``value`` (nested)."""
    if isinstance(value, str) and "{" in value:
        try:
            return value.format_map(binds)
        except (KeyError, IndexError, ValueError) as exc:
            raise TruthError(f"placeholder in {value!r}: {exc}") from None
    if isinstance(value, dict):
        return {k: _fill(v, binds) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_fill(v, binds) for v in value)
    return value


def _bound(case: Case, ctx: TruthContext) -> Case:
    """The case with its ``bind`` placeholders filled from truth functions."""
    binds: dict[str, Any] = {"as_of": ctx.as_of}
    for name, spec in case.bind.items():
        result = evaluate(ctx, spec.fn, _fill(spec.args, binds))
        binds[name] = result.take(spec.take or "value")
    if len(binds) == 1 and "{" not in repr(case):
        return case

    def truth(spec: TruthSpec | None) -> TruthSpec | None:
        return None if spec is None else replace(spec, args=_fill(spec.args, binds))

    return replace(
        case,
        question=_fill(case.question, binds),
        paraphrases=_fill(case.paraphrases, binds),
        turns=_fill(case.turns, binds),
        truth=truth(case.truth),
        score=tuple(
            ScorerSpec(s.kind, _fill(s.options, binds), truth(s.truth)) for s in case.score
        ),
        tools=Trajectory(
            case.tools.expected,
            case.tools.forbidden,
            case.tools.mode,
            _fill(case.tools.args, binds),
            case.tools.ok,
        ),
        scope=_fill(case.scope, binds),
    )


class Runner:
    """Runs cases on one dataset with one assistant configuration."""

    def __init__(
        self,
        assistant: Assistant,
        dataset: Dataset,
        provider: str | None = None,
        judge: Judge | None = None,
    ) -> None:
        self.assistant = assistant
        self.dataset = dataset
        self.provider = provider
        self.judge = judge

    def run(
        self, cases: list[Case], progress: Callable[[RunResult], None] | None = None
    ) -> list[RunResult]:
        results: list[RunResult] = []
        for case in cases:
            for result in self.run_case(case):
                results.append(result)
                if progress is not None:
                    progress(result)
        return results

    def run_case(self, case: Case) -> list[RunResult]:
        """Every question of ``case``; a broken case (bad truth arguments) fails its runs."""
        as_of = case.as_of or self.dataset.as_of
        with self.dataset.engine.connect() as conn:
            ctx = TruthContext(conn, self.dataset.workspace_id, as_of, dict(case.scope))
            try:
                case = _bound(case, ctx)
                ctx.fixed = dict(case.scope)
                truth = evaluate(ctx, case.truth.fn, case.truth.args) if case.truth else None
                own = {
                    i: evaluate(ctx, s.truth.fn, s.truth.args)
                    for i, s in enumerate(case.score)
                    if s.truth is not None
                }
            except (TruthError, LookupError, ValueError) as exc:
                bad, split = f"truth: {exc}", case.split
                return [
                    RunResult(case.id, case.category, i, q, False, [], error=bad, split=split)
                    for i, q in enumerate(case.questions)
                ]
        return [
            self._ask(case, i, question, as_of, truth, own)
            for i, question in enumerate(case.questions)
        ]

    def _ask(
        self,
        case: Case,
        variant: int,
        question: str,
        as_of: str,
        truth: Truth | None,
        own: dict[int, Truth],
    ) -> RunResult:
        ws = self.dataset.workspace_id
        conversation: str | None = None
        started = time.perf_counter()
        try:
            for turn in case.turns:
                earlier = self.assistant.ask(
                    ws, "default", turn, conversation_id=conversation, as_of=as_of,
                    filters=case.scope or None, provider=self.provider,
                )  # fmt: skip
                conversation = earlier.conversation_id
            result = self.assistant.ask(
                ws, "default", question, conversation_id=conversation, as_of=as_of,
                filters=case.scope or None, provider=self.provider,
            )  # fmt: skip
        except Exception as exc:  # an assistant crash is a failed run, not a failed eval
            return RunResult(
                case.id, case.category, variant, question, False, [],
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
                error=f"{type(exc).__name__}: {exc}", split=case.split,
            )  # fmt: skip
        response = Response(
            question, result.answer, result.grounded, result.tool_calls, result.data
        )
        scores = [
            score_trajectory(case.tools, response),
            score_grounded(response),
            score_covered(result.checks),
        ]
        for i, spec in enumerate(case.score):
            scores.append(SCORERS[spec.kind](spec, response, own.get(i, truth)))
        if case.judge:
            scores.append(self.judge.grade(case.judge, response) if self.judge else skipped())
        expected = (truth.show() if truth else {}) | {
            k: v for s in own.values() for k, v in s.show().items()
        }
        return RunResult(
            case_id=case.id,
            category=case.category,
            variant=variant,
            question=question,
            passed=all(s.passed for s in scores if not s.skipped),
            scores=scores,
            answer=result.answer,
            expected=expected,
            tool_calls=result.tool_calls,
            grounded=result.grounded,
            latency_ms=result.latency_ms,
            round_trips=result.round_trips,
            tokens=dict(result.tokens or {}),
            error=result.error,
            split=case.split,
        )
