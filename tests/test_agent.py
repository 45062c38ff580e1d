"""The agent loop with scripted fake chat models (no network, no real LLM)."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from assistant.agent import Agent, AgentError, AgentRun
from assistant.settings import Settings

SYSTEM = "You answer questions about portal engagement using tools."
NUMBERS = {"alpha": 1, "beta": 2}
_ids = itertools.count(1)

Step = AIMessage | str | Callable[[list[BaseMessage]], AIMessage]


# -- scripted models ---------------------------------------------------------------------


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that accepts tools and replays a script of replies.

    A step is an ``AIMessage``, a string (a final answer) or a function of the
    messages the model was given. Streaming yields word tokens, then one chunk
    carrying the tool calls (GenericFakeChatModel's own streaming drops them).
    """

    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[Any] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        self.bound_tools = list(tools)
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.seen.append(list(messages))
        step = next(self.messages)
        if callable(step) and not isinstance(step, AIMessage | str):
            step = step(list(messages))
        message = AIMessage(content=step) if isinstance(step, str) else step
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[Any]:
        message = self._generate(messages, stop, run_manager, **kwargs).generations[0].message
        assert isinstance(message, AIMessage)
        pieces = [
            AIMessageChunk(content=token, id=message.id)
            for token in re.split(r"(\s)", message.text)
            if token
        ]
        pieces.append(
            AIMessageChunk(
                content="",
                id=message.id,
                tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                    for i, c in enumerate(message.tool_calls)
                ],
                usage_metadata=message.usage_metadata,
                chunk_position="last",
            )
        )
        for piece in pieces:
            chunk = ChatGenerationChunk(message=piece)
            if run_manager:
                run_manager.on_llm_new_token(piece.text, chunk=chunk)
            yield chunk


class PlannerLike(BaseChatModel):
    """The minimal interface an offline planner needs: ``bind_tools`` and ``_generate``."""

    script: list[AIMessage]
    position: int = 0

    @property
    def _llm_type(self) -> str:
        return "planner-like"

    def bind_tools(self, tools: Any, **kwargs: Any) -> PlannerLike:
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        message = self.script[self.position]
        self.position += 1
        return ChatResult(generations=[ChatGeneration(message=message)])


def call(tool: str, /, **args: Any) -> dict[str, Any]:
    return {"name": tool, "args": args, "id": f"call_{next(_ids)}", "type": "tool_call"}


def asks(*calls: dict[str, Any], text: str = "", tokens: int = 0) -> AIMessage:
    usage = None
    if tokens:
        usage = {"input_tokens": tokens, "output_tokens": 1, "total_tokens": tokens + 1}
    return AIMessage(content=text, tool_calls=list(calls), usage_metadata=usage)


def scripted(*steps: Step) -> ScriptedModel:
    return ScriptedModel(messages=iter(steps))


# -- tools -------------------------------------------------------------------------------


class LookupArgs(BaseModel):
    name: str = Field(description="which number")


def _lookup(name: str) -> dict[str, Any]:
    return {"name": name, "value": NUMBERS[name]}


def _explode(name: str) -> dict[str, Any]:
    raise ValueError(f"no portal called {name!r}")


def _crash(name: str) -> str:
    raise RuntimeError("connection to db at postgres://admin:hunter2@db failed")


def _sleep(name: str) -> str:
    time.sleep(2.0)
    return "late"


lookup_number = StructuredTool.from_function(
    _lookup, name="lookup_number", description="Look up a number.", args_schema=LookupArgs
)
explode = StructuredTool.from_function(
    _explode, name="explode", description="Always fails.", args_schema=LookupArgs
)
crash = StructuredTool.from_function(
    _crash, name="crash", description="Breaks internally.", args_schema=LookupArgs
)
slow = StructuredTool.from_function(
    _sleep, name="slow", description="Takes two seconds.", args_schema=LookupArgs
)
TOOLS = [lookup_number, explode, crash, slow]


def make_agent(model: BaseChatModel, **settings: Any) -> Agent:
    return Agent(model, TOOLS, SYSTEM, Settings(**settings))


def tool_messages(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


# -- the loop ----------------------------------------------------------------------------


def test_single_tool_call_then_answer() -> None:
    model = scripted(asks(call("lookup_number", name="alpha"), tokens=10), "Alpha is 1.")
    run = make_agent(model).run("What is alpha?")

    assert isinstance(run, AgentRun)
    assert run.answer == "Alpha is 1."
    assert run.round_trips == 2
    assert not run.limited
    [record] = run.tool_calls
    assert (record.name, record.args, record.error) == ("lookup_number", {"name": "alpha"}, False)
    assert record.result == {"name": "alpha", "value": 1}
    assert record.duration_ms >= 0
    assert run.tokens == {"prompt": 10, "completion": 1, "total": 11}
    assert [type(m).__name__ for m in run.messages] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    # The system prompt goes first on every model call; the tools were bound.
    assert all(isinstance(s[0], SystemMessage) and s[0].text == SYSTEM for s in model.seen)
    assert {t.name for t in model.bound_tools} == {t.name for t in TOOLS}


def test_answer_without_tools_and_history() -> None:
    history = [HumanMessage("Hi"), AIMessage("Hello! Ask me about engagement.")]
    model = scripted("Nothing to look up.")
    run = make_agent(model).run("Thanks", history=history)

    assert run.answer == "Nothing to look up."
    assert run.round_trips == 1
    assert run.tool_calls == []
    assert run.tokens == {"prompt": 0, "completion": 0, "total": 0}
    assert [m.text for m in model.seen[0][1:]] == [
        "Hi",
        "Hello! Ask me about engagement.",
        "Thanks",
    ]
    assert [m.text for m in run.messages[:3]] == [m.text for m in model.seen[0][1:]]


def test_tool_error_is_fed_back_and_recovered_from() -> None:
    def recover(messages: list[BaseMessage]) -> AIMessage:
        [error] = tool_messages(messages)
        assert error.status == "error"
        assert "ValueError: no portal called 'gamma'" in error.text
        return asks(call("lookup_number", name="beta"))

    model = scripted(asks(call("explode", name="gamma")), recover, "Beta is 2.")
    run = make_agent(model).run("What is gamma?")

    assert run.answer == "Beta is 2."
    assert run.round_trips == 3
    assert [(r.name, r.error) for r in run.tool_calls] == [
        ("explode", True),
        ("lookup_number", False),
    ]
    assert "no portal called" in run.tool_calls[0].result


def test_internal_tool_failures_hide_their_details() -> None:
    model = scripted(asks(call("crash", name="alpha")), "Sorry, that failed.")
    run = make_agent(model).run("What is alpha?")

    [record] = run.tool_calls
    assert record.error
    assert record.result.startswith("Error: RuntimeError (the tool failed internally")
    assert "hunter2" not in json.dumps([m.text for m in model.seen[-1]])
    assert run.answer == "Sorry, that failed."


def test_unknown_tool_and_bad_arguments_are_fed_back() -> None:
    def check(messages: list[BaseMessage]) -> AIMessage:
        by_name = {m.name: m for m in tool_messages(messages)}
        unknown, bad = by_name["count_users"], by_name["lookup_number"]
        assert unknown.status == bad.status == "error"
        assert "not a valid tool" in unknown.text and "lookup_number" in unknown.text
        assert "name" in bad.text  # the missing field is named
        return AIMessage(content="I could not look that up.")

    model = scripted(asks(call("count_users"), call("lookup_number", nam="alpha")), check)
    run = make_agent(model).run("How many users?")

    assert run.answer == "I could not look that up."
    assert sorted((r.name, r.error) for r in run.tool_calls) == [
        ("count_users", True),
        ("lookup_number", True),
    ]


def test_arguments_that_are_not_json_are_fed_back() -> None:
    broken = AIMessage(
        content="",
        invalid_tool_calls=[
            {
                "name": "lookup_number",
                "args": '{"name": alpha',
                "id": "call_bad",
                "error": "Expecting value",
                "type": "invalid_tool_call",
            }
        ],
    )

    def retry(messages: list[BaseMessage]) -> AIMessage:
        [error] = tool_messages(messages)
        assert error.tool_call_id == "call_bad" and error.status == "error"
        assert "not a valid JSON object" in error.text
        return asks(call("lookup_number", name="alpha"))

    model = scripted(broken, retry, "Alpha is 1.")
    run = make_agent(model).run("What is alpha?")

    assert run.answer == "Alpha is 1."
    assert run.round_trips == 3
    assert [(r.name, r.error) for r in run.tool_calls] == [
        ("lookup_number", True),
        ("lookup_number", False),
    ]


def test_parallel_tool_calls_in_one_turn() -> None:
    model = scripted(
        asks(call("lookup_number", name="alpha"), call("lookup_number", name="beta")),
        "1 and 2.",
    )
    run = make_agent(model).run("alpha and beta?")

    assert run.round_trips == 2
    assert sorted(r.result["value"] for r in run.tool_calls) == [1, 2]


def test_tool_call_cap_stops_a_model_that_loops_forever() -> None:
    def forever() -> Iterator[AIMessage]:
        while True:
            yield asks(call("lookup_number", name="alpha"), text="Checking again.")

    model = ScriptedModel(messages=forever())
    started = time.monotonic()
    run = make_agent(model, max_tool_calls=3).run("Loop please")

    assert time.monotonic() - started < 5
    assert run.limited
    executed = [r for r in run.tool_calls if not r.error]
    assert len(executed) == 3
    assert run.round_trips == 3 + 2  # the cap, one refused turn, one more refused turn
    assert run.answer == "Checking again."  # whatever the model said last
    refused = [m for m in tool_messages(model.seen[-1]) if m.status == "error"]
    assert refused and "Tool call limit exceeded" in refused[0].text


def test_tool_call_cap_lets_the_model_answer_with_what_it_has() -> None:
    def answer(messages: list[BaseMessage]) -> AIMessage:
        assert "Tool call limit exceeded" in tool_messages(messages)[-1].text
        return AIMessage(content="Alpha is 1 (stopped early).")

    model = scripted(
        asks(call("lookup_number", name="alpha")),
        asks(call("lookup_number", name="beta")),
        answer,
    )
    run = make_agent(model, max_tool_calls=1).run("Everything please")

    assert run.limited
    assert run.answer == "Alpha is 1 (stopped early)."
    assert run.round_trips == 3
    assert [(r.args["name"], r.error) for r in run.tool_calls] == [("alpha", False), ("beta", True)]


def test_deadline_raises_agent_error_with_partial_results() -> None:
    model = scripted(
        asks(call("lookup_number", name="alpha")),
        asks(call("slow", name="beta")),
        "never reached",
    )
    started = time.monotonic()
    with pytest.raises(AgentError) as caught:
        make_agent(model, deadline_s=0.5).run("Slow question")

    assert time.monotonic() - started < 1.5
    assert "deadline" in caught.value.reason
    assert [r.name for r in caught.value.tool_calls] == ["lookup_number"]
    assert caught.value.tool_calls[0].result["value"] == 1
    assert caught.value.round_trips == 2


def test_deadline_covers_a_model_that_hangs() -> None:
    def hang(messages: list[BaseMessage]) -> AIMessage:
        time.sleep(1.5)
        return AIMessage(content="too late")

    with pytest.raises(AgentError, match="deadline"):
        make_agent(scripted(hang), deadline_s=0.3).run("Anyone there?")


def test_model_failure_becomes_agent_error() -> None:
    def fail(messages: list[BaseMessage]) -> AIMessage:
        raise TimeoutError("read timed out")

    model = scripted(asks(call("lookup_number", name="beta")), fail)
    with pytest.raises(AgentError) as caught:
        make_agent(model).run("What is beta?")

    assert caught.value.reason == "the model did not answer in time"
    assert [r.result["value"] for r in caught.value.tool_calls] == [2]
    assert isinstance(caught.value.__cause__, Exception)


def test_stream_event_order() -> None:
    model = scripted(
        asks(call("lookup_number", name="alpha"), text="Let me check.", tokens=5),
        AIMessage(
            content="Alpha is 1.",
            usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
        ),
    )
    events = list(make_agent(model).stream("What is alpha?"))
    kinds = [e["type"] for e in events]

    assert kinds == [
        "token",
        "token",
        "token",
        "token",
        "token",
        "tool_call",
        "tool_result",
        "token",
        "token",
        "token",
        "token",
        "token",
        "final",
    ]
    texts = [e["text"] for e in events if e["type"] == "token"]
    assert "".join(texts) == "Let me check.Alpha is 1."
    assert events[5] == {"type": "tool_call", "name": "lookup_number", "args": {"name": "alpha"}}
    assert events[6] == {
        "type": "tool_result",
        "name": "lookup_number",
        "ok": True,
        "content": {"name": "alpha", "value": 1},
    }
    final = events[-1]["run"]
    assert final.answer == "Alpha is 1."
    assert final.round_trips == 2
    assert final.tokens == {"prompt": 12, "completion": 4, "total": 16}


def test_stream_with_a_model_that_does_not_stream() -> None:
    planner = PlannerLike(
        script=[asks(call("lookup_number", name="beta")), AIMessage(content="Beta is 2.")]
    )
    events = list(make_agent(planner).stream("What is beta?"))

    assert [e["type"] for e in events] == ["tool_call", "tool_result", "token", "final"]
    assert events[2]["text"] == "Beta is 2."
    assert events[-1]["run"].answer == "Beta is 2."


def test_closing_the_stream_early_stops_the_run() -> None:
    model = scripted(asks(call("lookup_number", name="alpha"), text="Working on it"), "done")
    stream = make_agent(model).stream("alpha?")
    assert next(stream)["type"] == "token"
    stream.close()
    time.sleep(0.2)
    assert len(model.seen) == 1  # the worker stopped before a second model call


def test_one_agent_serves_concurrent_questions() -> None:
    def answer_for(messages: list[BaseMessage]) -> AIMessage:
        return AIMessage(content=f"{tool_messages(messages)[-1].text}")

    def step(messages: list[BaseMessage]) -> AIMessage:
        if isinstance(messages[-1], HumanMessage):
            return asks(call("lookup_number", name=messages[-1].text))
        return answer_for(messages)

    agent = make_agent(ScriptedModel(messages=itertools.repeat(step)))
    results: dict[str, AgentRun] = {}

    def ask(name: str) -> None:
        results[name] = agent.run(name)

    threads = [threading.Thread(target=ask, args=(n,)) for n in ("alpha", "beta") * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    for name, run in results.items():
        assert run.round_trips == 2
        assert [r.args for r in run.tool_calls] == [{"name": name}]
        assert json.loads(run.answer)["name"] == name
