"""The offline planner as a LangChain chat model, so it runs in the same agent loop.

First step of a turn: plan the question and answer with a tool call (or, when
nothing fits, with a plain "I can't answer that" and suggestions). Once the
tool results are back: write the answer from the tool's Jinja2 template. The
plan's focus rides on the tool-call message's metadata, so the model keeps no
per-question state and one instance may serve concurrent questions.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from assistant.answers import compose, render
from assistant.planner.plan import Plan, Planner, question_of

_EXAMPLE = {
    "project": "How is the Northwind rollout going?",
    "account": "How is Northwind Logistics doing?",
    "partner": "Tell me about Meridian Advisory",
    "user": "Tell me about Ann Lee",
}


class OfflinePlanner(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    planner: Planner

    @property
    def _llm_type(self) -> str:
        return "portalpulse-offline-planner"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OfflinePlanner:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        question, index = question_of(messages)
        turn = messages[index + 1 :]
        results = [m for m in turn if isinstance(m, ToolMessage)]
        if results:
            message = AIMessage(self._answer(question, turn, results))
        else:
            history = [m for m in messages[:index] if not isinstance(m, SystemMessage)]
            message = self._first_step(self.planner.plan(question, history))
        return ChatResult(generations=[ChatGeneration(message=message)])

    @staticmethod
    def _first_step(plan: Plan) -> AIMessage:
        meta = {"planner": {"focus": plan.focus, "similarity": round(plan.similarity, 3),
                            "changed": plan.changed, "outcome": plan.outcome}}  # fmt: skip
        if plan.tool:
            calls = [
                {
                    "name": tool,
                    "args": args,
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "tool_call",
                }
                for tool, args in [(plan.tool, plan.args), *plan.extra]
            ]
            return AIMessage("", tool_calls=calls, response_metadata=meta)
        if plan.clarify:
            text = render("answers/clarify.j2", what=plan.clarify, example=_EXAMPLE[plan.clarify])
        else:
            text = render("answers/unsupported.j2", suggestions=plan.suggestions)
        return AIMessage(text, response_metadata=meta)

    @staticmethod
    def _answer(question: str, turn: list[BaseMessage], results: list[ToolMessage]) -> str:
        planned: dict[str, Any] = next(
            (
                m.response_metadata.get("planner", {})
                for m in turn
                if isinstance(m, AIMessage) and m.tool_calls
            ),
            {},
        )
        focus, changed = planned.get("focus"), planned.get("changed")
        answers = []
        for result in results:
            try:
                envelope = json.loads(result.content)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue  # e.g. "tool call limit exceeded": nothing to report from it
            answers.append(compose(envelope, question, focus))
        if answers and changed:  # a follow-up says what it changed
            answers[0] = render("answers/changed.j2", changed=changed, answer=answers[0])
        return "\n\n".join(answers) or (
            "I couldn't get the figures for that question. Please try again or rephrase it."
        )
