"""The optional LLM-as-judge: prose quality against a case's rubric.

Used only when a model is configured (``--provider openai``, or ``--judge`` with an
OpenAI-compatible endpoint in the environment); with the offline planner a
rubric is *skipped*, never guessed, and skipped scores do not count. The judge
sees the question, the answer, the rubric and the tool results, and must reply
with JSON ``{"pass": true|false, "reason": "..."}``; anything else is a failed
score whose detail says what came back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from evals.scorers import Response, Score

SYSTEM = (
    "You grade answers of an analytics assistant. Judge only what the rubric asks, "
    "using the tool results as the facts. Reply with JSON only: "
    '{"pass": true or false, "reason": "one sentence"}.'
)
MAX_DATA_CHARS = 6000


class Judge:
    """A chat model that grades one answer per call."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def grade(self, rubric: str, response: Response) -> Score:
        data = json.dumps(response.data, default=str)[:MAX_DATA_CHARS]
        prompt = (
            f"Question: {response.question}\n\nAnswer:\n{response.answer}\n\n"
            f"Rubric: {rubric}\n\nTool results (JSON, may be cut):\n{data}"
        )
        try:
            reply = self.model.invoke([SystemMessage(SYSTEM), HumanMessage(prompt)])
        except Exception as exc:  # a judge outage fails the score, not the run
            return Score("judge", False, f"judge unavailable: {type(exc).__name__}")
        return parse_verdict(str(reply.content))


def parse_verdict(text: str) -> Score:
    """``{"pass": bool, "reason": str}`` from the judge's reply (a JSON object anywhere)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        verdict: Any = json.loads(match.group()) if match else None
    except json.JSONDecodeError:
        verdict = None
    if not isinstance(verdict, dict) or not isinstance(verdict.get("pass"), bool):
        return Score("judge", False, f"judge reply is not a verdict: {text[:120]!r}")
    return Score("judge", verdict["pass"], str(verdict.get("reason", ""))[:300])


def skipped() -> Score:
    return Score("judge", True, "no model configured: rubric not judged", skipped=True)
