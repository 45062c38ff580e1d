"""Settings, providers and JSON tool calling; the openai provider against a loopback stub.

Nothing here reaches the network: ``ChatOpenAI`` talks to ``tests.llm_stub`` on
127.0.0.1. The retry tests use the openai SDK's real backoff (0.5 s, then 1 s,
minus up to 25 % jitter), so they take about a second each.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import StructuredTool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from assistant.agent import Agent, AgentError
from assistant.json_tools import SCHEMA_NAME, JsonToolCalling, JsonToolCallingError
from assistant.providers import chat_model
from assistant.settings import DUMMY_API_KEY, Settings, SettingsError
from tests.llm_stub import Completion, LLMStub, Status, tool_call

SYSTEM = "You answer questions about portal engagement using tools."


class LookupArgs(BaseModel):
    name: str = Field(description="which number")


def _lookup(name: str) -> dict[str, Any]:
    return {"name": name, "value": {"alpha": 1, "beta": 2}[name]}


lookup_number = StructuredTool.from_function(
    _lookup, name="lookup_number", description="Look up a number.", args_schema=LookupArgs
)


@pytest.fixture
def stub() -> Iterator[LLMStub]:
    with LLMStub() as server:
        yield server


def stub_settings(stub: LLMStub, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "provider": "openai",
        "base_url": stub.base_url,
        "model": "stub-model",
        "timeout_s": 5.0,
        "max_retries": 2,
    }
    values.update(changes)
    return Settings(**values)


def stub_agent(stub: LLMStub, **changes: Any) -> Agent:
    settings = stub_settings(stub, **changes)
    return Agent(chat_model(settings), [lookup_number], SYSTEM, settings)


def roles(body: dict[str, Any]) -> list[str]:
    return [m["role"] for m in body["messages"]]


# -- settings ----------------------------------------------------------------------------


def test_settings_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.provider, settings.model, settings.tool_calling) == (
        "offline",
        "gpt-4o-mini",
        "native",
    )
    assert (settings.timeout_s, settings.max_retries) == (30.0, 3)
    assert (settings.max_tool_calls, settings.deadline_s) == (6, 60.0)


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "OPENAI_API_KEY": "sk-test",
            "PORTALPULSE_MODEL": "qwen2.5-1.5b-instruct",
            "PORTALPULSE_TOOL_CALLING": "JSON",
            "PORTALPULSE_TIMEOUT_S": "2.5",
            "PORTALPULSE_MAX_RETRIES": "0",
            "PORTALPULSE_MAX_TOOL_CALLS": "4",
            "PORTALPULSE_DEADLINE_S": "20",
        }
    )
    assert settings.provider == "openai"
    assert settings.model == "qwen2.5-1.5b-instruct"
    assert settings.tool_calling == "json"
    assert (settings.timeout_s, settings.max_retries) == (2.5, 0)
    assert (settings.max_tool_calls, settings.deadline_s) == (4, 20.0)
    assert "sk-test" not in repr(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.model = "other"  # type: ignore[misc]


def test_local_server_without_key_gets_a_dummy_key() -> None:
    settings = Settings.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"})
    assert settings.provider == "openai"
    assert settings.api_key == DUMMY_API_KEY


def test_explicit_offline_provider_wins() -> None:
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-test", "PORTALPULSE_PROVIDER": "offline"})
    assert settings.provider == "offline"


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"PORTALPULSE_PROVIDER": "anthropic"}, "PORTALPULSE_PROVIDER"),
        ({"PORTALPULSE_TOOL_CALLING": "xml"}, "PORTALPULSE_TOOL_CALLING"),
        ({"PORTALPULSE_TIMEOUT_S": "abc"}, "PORTALPULSE_TIMEOUT_S"),
        ({"PORTALPULSE_TIMEOUT_S": "0"}, "PORTALPULSE_TIMEOUT_S"),
        ({"PORTALPULSE_MAX_RETRIES": "-1"}, "PORTALPULSE_MAX_RETRIES"),
        ({"PORTALPULSE_MAX_TOOL_CALLS": "2.5"}, "PORTALPULSE_MAX_TOOL_CALLS"),
        ({"PORTALPULSE_MAX_TOOL_CALLS": "0"}, "PORTALPULSE_MAX_TOOL_CALLS"),
        ({"PORTALPULSE_DEADLINE_S": "-3"}, "PORTALPULSE_DEADLINE_S"),
        ({"OPENAI_BASE_URL": "localhost:8000"}, "OPENAI_BASE_URL"),
        ({"PORTALPULSE_PROVIDER": "openai"}, "OPENAI_API_KEY"),
    ],
)
def test_settings_errors_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(environ)


# -- chat_model --------------------------------------------------------------------------


def test_offline_provider_returns_the_planner() -> None:
    planner = GenericFakeChatModel(messages=iter([]))
    assert chat_model(Settings(), offline_model=planner) is planner
    # The planner speaks native tool calls: json mode does not wrap it.
    assert chat_model(Settings(tool_calling="json"), offline_model=planner) is planner
    with pytest.raises(ValueError, match="offline"):
        chat_model(Settings())


def test_openai_provider_is_configured_from_settings() -> None:
    settings = Settings(
        provider="openai",
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        model="m",
        timeout_s=7,
        max_retries=5,
    )
    model = chat_model(settings)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "m"
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.request_timeout == 7
    assert model.max_retries == 5
    assert model.stream_usage is True
    assert model.use_responses_api is False
    assert model.root_client.max_retries == 5

    wrapped = chat_model(settings.replace(tool_calling="json"))
    assert isinstance(wrapped, JsonToolCalling)
    assert isinstance(wrapped.inner, ChatOpenAI)


# -- the openai provider end to end ------------------------------------------------------


def test_native_tool_call_and_usage(stub: LLMStub) -> None:
    stub.enqueue(
        Completion(tool_calls=[tool_call("lookup_number", {"name": "alpha"}, id="call_a")]),
        Completion(
            content="Alpha is 1.",
            usage={"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35},
        ),
    )
    run = stub_agent(stub).run("What is alpha?")

    assert run.answer == "Alpha is 1."
    assert run.round_trips == 2
    assert run.tokens == {"prompt": 41, "completion": 12, "total": 53}
    assert [(r.name, r.result) for r in run.tool_calls] == [
        ("lookup_number", {"name": "alpha", "value": 1})
    ]
    first, second = stub.bodies
    assert first["model"] == "stub-model"
    assert [t["function"]["name"] for t in first["tools"]] == ["lookup_number"]
    assert roles(first) == ["system", "user"]
    assert roles(second) == ["system", "user", "assistant", "tool"]
    assert second["messages"][3]["tool_call_id"] == "call_a"
    assert json.loads(second["messages"][3]["content"]) == {"name": "alpha", "value": 1}


def test_rate_limit_is_retried_with_backoff(stub: LLMStub) -> None:
    stub.enqueue(Status(429), Completion(content="ok"))
    reply = chat_model(stub_settings(stub)).invoke("hi")

    assert reply.text == "ok"
    assert len(stub.requests) == 2
    [gap] = stub.gaps()
    assert 0.3 <= gap < 1.5  # 0.5 s minus up to 25 % jitter


def test_server_errors_are_retried_with_exponential_backoff(stub: LLMStub) -> None:
    stub.enqueue(Status(500), Status(500), Completion(content="Recovered."))
    run = stub_agent(stub, max_retries=3).run("hello?")

    assert run.answer == "Recovered."
    assert run.round_trips == 1  # the SDK retried inside one model call
    assert len(stub.requests) == 3
    first, second = stub.gaps()
    assert 0.3 <= first < 1.5  # ~0.5 s
    assert 0.7 <= second < 2.5  # ~1 s: the delay doubled
    assert second > first


def test_retry_after_header_is_honoured(stub: LLMStub) -> None:
    stub.enqueue(Status(503, headers={"retry-after-ms": "20"}), Completion(content="ok"))
    assert chat_model(stub_settings(stub)).invoke("hi").text == "ok"
    [gap] = stub.gaps()
    assert gap < 0.3


def test_persistent_server_error_becomes_agent_error(stub: LLMStub) -> None:
    stub.enqueue(
        Completion(tool_calls=[tool_call("lookup_number", {"name": "beta"})]),
        Status(502),
        Status(502),
    )
    with pytest.raises(AgentError) as caught:
        stub_agent(stub, max_retries=1).run("What is beta?")

    assert caught.value.reason == "the model server returned HTTP 502"
    assert len(stub.requests) == 3
    assert [r.result for r in caught.value.tool_calls] == [{"name": "beta", "value": 2}]


def test_client_errors_are_not_retried(stub: LLMStub) -> None:
    stub.enqueue(Status(400))
    with pytest.raises(AgentError, match="HTTP 400"):
        stub_agent(stub).run("hello?")
    assert len(stub.requests) == 1


def test_timeout_becomes_agent_error(stub: LLMStub) -> None:
    stub.enqueue(Completion(content="late", delay_s=1.5), Completion(content="late", delay_s=1.5))
    started = time.monotonic()
    with pytest.raises(AgentError) as caught:
        stub_agent(stub, timeout_s=0.25, max_retries=1).run("hello?")

    assert caught.value.reason == "the model did not answer in time"
    assert len(stub.requests) == 2  # timeouts are retried too
    assert time.monotonic() - started < 1.5


def test_unreachable_server_becomes_agent_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(provider="openai", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    agent = Agent(chat_model(settings), [lookup_number], SYSTEM, settings)
    with pytest.raises(AgentError, match="could not reach the model server"):
        agent.run("hello?")


def test_streaming_tokens_tool_calls_and_usage(stub: LLMStub) -> None:
    stub.enqueue(
        Completion(tool_calls=[tool_call("lookup_number", {"name": "beta"})]),
        Completion(content="Beta is 2 today."),
    )
    events = list(stub_agent(stub).stream("What is beta?"))

    assert [e["type"] for e in events if e["type"] != "token"] == [
        "tool_call",
        "tool_result",
        "final",
    ]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert tokens == ["Beta", " is", " 2", " today."]
    assert all(body["stream"] is True for body in stub.bodies)
    assert all(body["stream_options"] == {"include_usage": True} for body in stub.bodies)
    run = events[-1]["run"]
    assert run.answer == "Beta is 2 today."
    assert run.tokens == {"prompt": 22, "completion": 14, "total": 36}
    assert run.tool_calls[0].args == {"name": "beta"}


def test_malformed_native_arguments_are_fed_back(stub: LLMStub) -> None:
    stub.enqueue(
        Completion(tool_calls=[tool_call("lookup_number", '{"name": alpha', id="call_bad")]),
        Completion(tool_calls=[tool_call("lookup_number", {"name": "alpha"})]),
        Completion(content="Alpha is 1."),
    )
    run = stub_agent(stub).run("What is alpha?")

    assert run.answer == "Alpha is 1."
    assert run.round_trips == 3
    second = stub.bodies[1]
    assert roles(second) == ["system", "user", "assistant", "tool"]
    assert second["messages"][2]["tool_calls"][0]["id"] == "call_bad"
    assert "not a valid JSON object" in second["messages"][3]["content"]


# -- json tool calling against the stub --------------------------------------------------


def step(**obj: Any) -> Completion:
    return Completion(content=json.dumps(obj))


def test_json_mode_end_to_end(stub: LLMStub) -> None:
    stub.enqueue(
        step(action="call_tool", tool="lookup_number", arguments={"name": "beta"}),
        step(action="final_answer", answer="Beta is 2."),
    )
    run = stub_agent(stub, tool_calling="json").run("What is beta?")

    assert run.answer == "Beta is 2."
    assert run.round_trips == 2
    assert run.tokens == {"prompt": 22, "completion": 14, "total": 36}
    assert [(r.name, r.result) for r in run.tool_calls] == [
        ("lookup_number", {"name": "beta", "value": 2})
    ]
    for body in stub.bodies:
        assert "tools" not in body
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["name"] == SCHEMA_NAME
    call_branch, final_branch = stub.bodies[0]["response_format"]["json_schema"]["schema"]["anyOf"]
    assert call_branch["properties"]["tool"]["enum"] == ["lookup_number"]
    assert call_branch["properties"]["arguments"]["required"] == ["name"]
    assert final_branch["required"] == ["action", "answer"]
    # after one step of calls, only the answer is offered
    assert stub.bodies[1]["response_format"]["json_schema"]["schema"] == final_branch
    second = stub.bodies[1]
    assert roles(second) == ["system", "user", "assistant", "user"]
    assert "lookup_number" in second["messages"][0]["content"]
    assert second["messages"][0]["content"].endswith(SYSTEM)
    assert json.loads(second["messages"][2]["content"])["tool"] == "lookup_number"
    assert second["messages"][3]["content"].startswith("Result of tool lookup_number")
    assert "final answer now" in second["messages"][3]["content"]


def test_json_mode_repairs_one_bad_reply(stub: LLMStub) -> None:
    stub.enqueue(
        Completion(content="Sure! I will look it up."),
        step(action="call_tool", tool="lookup_number", arguments={"name": "alpha"}),
        step(action="final_answer", answer="Alpha is 1."),
    )
    run = stub_agent(stub, tool_calling="json").run("What is alpha?")

    assert run.answer == "Alpha is 1."
    assert run.round_trips == 2  # the repair happens inside one model turn
    assert len(stub.requests) == 3
    repair = stub.bodies[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! I will look it up."}
    assert "not valid JSON" in repair[-1]["content"]
    assert run.tokens["total"] == 3 * 18


def test_json_mode_gives_up_after_the_repair(stub: LLMStub) -> None:
    stub.enqueue(
        step(action="call_tool", tool="drop_tables", arguments={}),
        step(action="call_tool", tool="drop_tables", arguments={}),
    )
    with pytest.raises(AgentError) as caught:
        stub_agent(stub, tool_calling="json").run("Do something")
    assert "could not be used" in caught.value.reason
    assert "unknown tool 'drop_tables'" in caught.value.reason
    assert len(stub.requests) == 2


def test_json_mode_streams_the_answer_not_the_json(stub: LLMStub) -> None:
    stub.enqueue(
        step(action="call_tool", tool="lookup_number", arguments={"name": "alpha"}),
        step(action="final_answer", answer="Alpha is 1."),
    )
    events = list(stub_agent(stub, tool_calling="json").stream("What is alpha?"))

    assert [e["type"] for e in events] == ["tool_call", "tool_result", "token", "final"]
    assert events[2]["text"] == "Alpha is 1."
    assert all(body["stream"] is False for body in stub.bodies)


# -- JsonToolCalling with a fake inner model ---------------------------------------------


class RecordingInner(GenericFakeChatModel):
    """Replays replies; records what it was sent. It must never be given tools."""

    calls: list[tuple[list[BaseMessage], dict[str, Any]]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        raise AssertionError("JsonToolCalling must not bind tools on the inner model")

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls.append((list(messages), kwargs))
        reply = next(self.messages)
        message = AIMessage(content=reply) if isinstance(reply, str) else reply
        return ChatResult(generations=[ChatGeneration(message=message)])


def json_model(*replies: str | AIMessage, **options: Any) -> tuple[Any, RecordingInner]:
    inner = RecordingInner(messages=iter(replies))
    return JsonToolCalling(inner=inner, **options).bind_tools([lookup_number]), inner


def test_tool_call_from_fake_inner_model() -> None:
    model, inner = json_model(
        '{"action": "call_tool", "tool": "lookup_number", "arguments": {"name": "beta"}}'
    )
    reply = model.invoke([SystemMessage(SYSTEM), HumanMessage("What is beta?")])

    [call] = reply.tool_calls
    assert (call["name"], call["args"]) == ("lookup_number", {"name": "beta"})
    assert call["id"].startswith("call_")
    [(sent, kwargs)] = inner.calls
    assert kwargs["response_format"]["json_schema"]["name"] == SCHEMA_NAME
    assert [type(m) for m in sent] == [SystemMessage, HumanMessage]
    assert sent[0].text.endswith(SYSTEM)  # the tool list first: the same for every question
    assert "- lookup_number(name*: string): Look up a number." in sent[0].text


def test_tool_results_are_rendered_as_text() -> None:
    model, inner = json_model('{"action": "final_answer", "answer": "Alpha is 1."}')
    conversation = [
        SystemMessage(SYSTEM),
        HumanMessage("What is alpha and gamma?"),
        AIMessage(
            content="",
            tool_calls=[
                {"name": "lookup_number", "args": {"name": "alpha"}, "id": "c1"},
                {"name": "lookup_number", "args": {"name": "gamma"}, "id": "c2"},
            ],
        ),
        ToolMessage('{"value": 1}', tool_call_id="c1", name="lookup_number"),
        ToolMessage("KeyError: 'gamma'", tool_call_id="c2", name="lookup_number", status="error"),
    ]
    reply = model.invoke(conversation)

    assert reply.text == "Alpha is 1." and not reply.tool_calls
    sent = inner.calls[0][0]
    assert [type(m) for m in sent] == [SystemMessage, HumanMessage, AIMessage, HumanMessage]
    assert not any(isinstance(m, ToolMessage) for m in sent)
    assert not sent[2].tool_calls
    assert [json.loads(line)["arguments"] for line in sent[2].text.splitlines()] == [
        {"name": "alpha"},
        {"name": "gamma"},
    ]
    assert 'Result of tool lookup_number {"name": "alpha"}:\n{"value":1}' in sent[3].text
    assert 'Tool lookup_number {"name": "gamma"} failed:\nKeyError' in sent[3].text


@pytest.mark.parametrize(
    "reply",
    [
        '```json\n{"action": "call_tool", "tool": "lookup_number",'
        ' "arguments": {"name": "a"}}\n```',
        'Here you go: {"tool": "lookup_number", "arguments": {"name": "a"}}',
        '{"action": "call_tool", "tool": "lookup_number", "arguments": "{\\"name\\": \\"a\\"}"}',
    ],
)
def test_lenient_parsing(reply: str) -> None:
    model, _ = json_model(reply)
    assert model.invoke("q").tool_calls[0]["args"] == {"name": "a"}


def test_invalid_arguments_are_repaired_once_and_usage_adds_up() -> None:
    usage = {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
    model, inner = json_model(
        AIMessage(
            content='{"action": "call_tool", "tool": "lookup_number", "arguments": {"nam": "a"}}',
            usage_metadata=usage,
        ),
        AIMessage(
            content='{"action": "call_tool", "tool": "lookup_number", "arguments": {"name": "a"}}',
            usage_metadata=usage,
        ),
    )
    reply = model.invoke("q")

    assert reply.tool_calls[0]["args"] == {"name": "a"}
    assert reply.usage_metadata["total_tokens"] == 24
    repair = inner.calls[1][0][-1]
    assert isinstance(repair, HumanMessage)
    assert "invalid arguments for lookup_number: name: Field required" in repair.text


def test_unusable_twice_raises_a_clear_error() -> None:
    model, _ = json_model("no idea", "still no idea")
    with pytest.raises(JsonToolCallingError, match="after 2 attempts: the reply is not valid JSON"):
        model.invoke("q")


def test_unconstrained_arguments_schema() -> None:
    model = JsonToolCalling(
        inner=RecordingInner(messages=iter([])), constrain_arguments=False
    ).bind_tools(
        [lookup_number, StructuredTool.from_function(lambda: 1, name="one", description="1")]
    )
    call_branch, final_branch = model.reply_schema()["anyOf"]
    assert call_branch["properties"]["tool"]["enum"] == ["lookup_number", "one"]
    assert call_branch["properties"]["arguments"] == {"type": "object"}
    assert final_branch["properties"]["action"]["enum"] == ["final_answer"]
