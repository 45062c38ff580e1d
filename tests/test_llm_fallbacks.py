"""Whatever a small model does, the question is answered: JSON mode against the loopback stub.

In JSON mode the offline planner makes the first step of every question it places; the
model chooses a tool only for the others (``UNPLACED``) and writes every answer. Malformed
JSON, a tool that does not exist, invented numbers, a model that never produces a usable
step: each ends in a grounded answer (the model's, the offline planner's reply, or the
templated answer), never an exception and never a lost question.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.json_tools import compact_result, mentioned
from assistant.service import Assistant
from assistant.settings import Settings
from metrics.db import connect, workspace_id
from metrics.ingest import import_folder
from tests.conftest import write_folder
from tests.llm_stub import Completion, LLMStub, tool_call
from tests.test_assistant_llm import AS_OF, FOLDER

QUESTION = "how many logins in the last 7 days?"
"""A question the offline planner places (get_kpis over the last 7 days)."""
UNPLACED = "gimme a quick pulse check on logins"
"""A question the offline planner cannot place: in JSON mode the model chooses the tool."""


def step(tool: str | None = None, answer: str | None = None, **arguments: object) -> Completion:
    """A JSON-mode reply: a tool call or a final answer."""
    if tool is not None:
        body = {"action": "call_tool", "tool": tool, "arguments": arguments}
    else:
        body = {"action": "final_answer", "answer": answer}
    return Completion(content=json.dumps(body))


def assistant_on_stub(
    tmp_path: Path, tool_calling: str, **settings_: object
) -> Iterator[tuple[Assistant, int, LLMStub]]:
    """An assistant on the small test folder, its model the loopback stub."""
    engine = connect(f"sqlite:///{tmp_path / 'llm.db'}")
    import_folder(engine, write_folder(tmp_path / "in", FOLDER))
    with engine.connect() as conn:
        ws = workspace_id(conn)
    with LLMStub() as stub:
        settings = Settings.from_env({}).replace(
            provider="openai", base_url=stub.base_url, api_key="test", model="stub",
            max_retries=0, timeout_s=5, tool_calling=tool_calling, **settings_,
        )  # fmt: skip
        yield Assistant(engine, settings, store_dir=tmp_path / "chroma"), ws, stub
    engine.dispose()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Assistant, int, LLMStub]]:
    yield from assistant_on_stub(tmp_path, "json")


@pytest.fixture
def native_setup(tmp_path: Path) -> Iterator[tuple[Assistant, int, LLMStub]]:
    yield from assistant_on_stub(tmp_path, "native")


@pytest.fixture
def planner_setup(tmp_path: Path) -> Iterator[tuple[Assistant, int, LLMStub]]:
    yield from assistant_on_stub(tmp_path, "planner")


def stored(assistant: Assistant, ws: int, conversation_id: str) -> str:
    return str(assistant.memory.history(ws, conversation_id)[0].content)


def test_a_good_small_model_answers_in_two_round_trips(setup) -> None:
    assistant, ws, stub = setup
    stub.enqueue(step("get_kpis", range="last_7_days"), step(answer="0 logins in the last 7 days."))
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert (result.answer, result.grounded, result.round_trips) == (
        "0 logins in the last 7 days.", True, 2,
    )  # fmt: skip
    first = stub.bodies[0]
    assert first["response_format"]["type"] == "json_schema" and "tools" not in first


def test_after_one_step_of_calls_only_an_answer_is_accepted(setup) -> None:
    """A small model keeps calling unrelated tools; after the first step the schema offers
    only the final answer, so a question costs two round trips."""
    assistant, ws, stub = setup
    stub.enqueue(step("get_kpis", range="last_7_days"), step(answer="0 logins in the last 7 days."))
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.round_trips == 2 and result.grounded
    first, second = (b["response_format"]["json_schema"]["schema"] for b in stub.bodies)
    assert "anyOf" in first
    assert second["properties"]["action"]["enum"] == ["final_answer"]
    assert "final answer now" in stub.bodies[1]["messages"][-1]["content"]


def test_figures_that_ignore_a_name_in_the_question_are_not_given(native_setup) -> None:
    """A model that fetches the whole workspace's figures for "Acme's logins" answers a
    different question: grounded, but not covered. The reply names what it could not use
    and states no figure; the figures stay in ``data``. (Native tool calling: the model
    chooses the call; in JSON mode the planner would have placed this question.)"""
    assistant, ws, stub = native_setup
    stub.enqueue(
        Completion(tool_calls=[tool_call("get_kpis", {"range": "last_7_days"})]),
        Completion(content="0 logins in the last 7 days."),
    )
    question = "how many logins did Acme have in the last 7 days?"
    result = assistant.ask(ws, "default", question, as_of=AS_OF)
    assert result.checks["covered"] is False and result.checks["unused"] == ["Acme"]
    assert "couldn't use “Acme”" in result.answer
    assert not any(ch.isdigit() for ch in result.answer)
    assert result.data and result.data[0]["tool"] == "get_kpis"


def test_with_planner_tool_calling_the_model_only_writes_the_answer(planner_setup) -> None:
    """PORTALPULSE_TOOL_CALLING=planner: the offline planner's call, the model's words (one
    round trip to the model), checked like any answer."""
    assistant, ws, stub = planner_setup
    stub.enqueue(step(answer="0 logins in the last 7 days."))
    result = assistant.ask(ws, "default", QUESTION, as_of=AS_OF)
    assert [c["name"] for c in result.tool_calls] == ["get_kpis"]  # the planner's call
    assert result.answer == "0 logins in the last 7 days." and result.grounded
    [only] = stub.bodies  # the model was asked once, for the answer
    action = only["response_format"]["json_schema"]["schema"]["properties"]["action"]
    assert action["enum"] == ["final_answer"]


def test_in_json_mode_a_question_the_planner_places_gets_its_call(setup) -> None:
    """The planner places the question: its call, the model's words; the model is asked
    once, for the answer (a 1.5B model chose the right tool in 5 of 40 questions)."""
    assistant, ws, stub = setup
    stub.enqueue(step(answer="0 logins in the last 7 days."))
    result = assistant.ask(ws, "default", QUESTION, as_of=AS_OF)
    assert [c["name"] for c in result.tool_calls] == ["get_kpis"]
    assert result.tool_calls[0]["args"]["range"] == "last_7_days"
    assert result.answer == "0 logins in the last 7 days." and result.grounded
    [only] = stub.bodies
    action = only["response_format"]["json_schema"]["schema"]["properties"]["action"]
    assert action["enum"] == ["final_answer"]


def test_in_json_mode_a_reply_without_a_tool_keeps_the_planners_suggestions(setup) -> None:
    """Not placed, and the model answers without fetching anything: the planner's reply
    (what it can answer instead) is given, never the model's figure-free guess."""
    assistant, ws, stub = setup
    stub.enqueue(step(answer="Logins look healthy lately."))
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.tool_calls == [] and result.error is None
    assert result.answer.startswith("I can't answer that") and "Questions I can answer" in (
        result.answer
    )
    assert len(stub.requests) == 1
    assert stored(assistant, ws, result.conversation_id) == UNPLACED


def test_malformed_json_twice_falls_back_to_the_planners_reply(setup) -> None:
    assistant, ws, stub = setup
    stub.enqueue(
        Completion(content='{"action": "call_tool", "tool": "get_kpis", "arguments": {'),
        Completion(content="I think you should check the dashboard."),
    )
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.error is None and result.tool_calls == []
    assert result.answer.startswith("I can't answer that")  # the planner's reply
    repair = stub.bodies[1]["messages"][-1]["content"]
    assert "not valid JSON" in repair
    assert len(stub.requests) == 2
    assert stored(assistant, ws, result.conversation_id) == UNPLACED


def test_an_unusable_step_after_the_planners_call_gets_the_templated_answer(setup) -> None:
    """The planner placed the question; the model's answer stays unusable JSON: the
    templated answer from the planner's call, never an exception."""
    assistant, ws, stub = setup
    stub.enqueue(*[Completion(content="not json at all")] * 2)
    result = assistant.ask(ws, "default", QUESTION, as_of=AS_OF)
    assert result.error is None and result.grounded
    assert [c["name"] for c in result.tool_calls] == ["get_kpis"]
    assert result.answer.startswith("Logins, last 7 days")
    assert stored(assistant, ws, result.conversation_id) == QUESTION


def test_an_unknown_tool_is_repaired_once(setup) -> None:
    assistant, ws, stub = setup
    stub.enqueue(
        step("get_revenue"),
        step("get_kpis", range="last_7_days"),
        step(answer="0 logins in the last 7 days."),
    )
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert "unknown tool 'get_revenue'" in stub.bodies[1]["messages"][-1]["content"]
    assert [c["name"] for c in result.tool_calls] == ["get_kpis"]
    assert result.grounded and result.answer == "0 logins in the last 7 days."


def test_a_model_that_never_gives_a_usable_step_gets_the_planners_answer(setup) -> None:
    assistant, ws, stub = setup
    stub.enqueue(*[step("get_revenue")] * 4)
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.error is None and result.grounded and result.tool_calls == []
    assert result.answer.startswith("I can't answer that")  # the planner's reply
    assert len(stub.requests) == 2 and result.round_trips == 1
    assert stored(assistant, ws, result.conversation_id) == UNPLACED


def test_invented_numbers_end_in_the_templated_answer(setup) -> None:
    """The model chose the call and wrote a number no tool returned: the templated answer
    at once, without a second try (it would cost a small model another minute)."""
    assistant, ws, stub = setup
    stub.enqueue(step("get_kpis", range="last_7_days"), step(answer="Logins rose to 42."))
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.grounded and result.grounding["replaced"]
    assert result.grounding["first_attempt"] == ["42"] and "42" not in result.answer
    assert result.answer.startswith("Logins, last 7 days")  # the figure asked for first
    assert len(stub.requests) == 2


def test_an_answer_that_leaves_out_the_figure_asked_for_is_replaced(planner_setup) -> None:
    """Grounded is not enough: "Yes, logins went up" states no wrong number, and no
    number at all. A model may reword the templated answer, never make it say less."""
    assistant, ws, stub = planner_setup
    stub.enqueue(step(answer="Yes, people logged in during the last 7 days."))
    result = assistant.ask(ws, "default", QUESTION, as_of=AS_OF)
    assert result.grounding.get("incomplete") == ["0"], (result.answer, result.grounding)
    assert result.answer.startswith("Logins, last 7 days") and "**0**" in result.answer


def test_a_list_cut_short_by_the_model_is_replaced(planner_setup) -> None:
    assistant, ws, stub = planner_setup
    stub.enqueue(step(answer="Ann has not logged in."))  # Bob has not either
    result = assistant.ask(ws, "default", "who never logged in?", as_of=AS_OF)
    assert result.grounding.get("incomplete"), result.answer
    assert "Bob" in result.answer


def test_a_reworded_answer_with_the_headline_is_kept(planner_setup) -> None:
    assistant, ws, stub = planner_setup
    stub.enqueue(step(answer="Just 0 logins in the past week."))
    result = assistant.ask(ws, "default", QUESTION, as_of=AS_OF)
    assert result.answer == "Just 0 logins in the past week."
    assert "incomplete" not in result.grounding and result.grounded


def test_with_planner_tool_calling_invented_numbers_get_the_template_at_once(
    planner_setup,
) -> None:
    """The planner chose the calls, so its templated answer replaces an ungrounded one
    without a second request to the model (one model request in all)."""
    assistant, ws, stub = planner_setup
    stub.enqueue(step(answer="There were 42 logins."))
    result = assistant.ask(ws, "default", QUESTION, as_of=AS_OF)
    assert result.grounding["replaced"] and result.grounding["first_attempt"] == ["42"]
    assert result.answer.startswith("Logins, last 7 days") and result.grounded
    assert len(stub.requests) == 1


def test_with_planner_tool_calling_a_name_nobody_has_keeps_the_planners_reply(
    planner_setup,
) -> None:
    """The lookup found no such account: the planner's reply says so and suggests names;
    a model's "Globex does not exist." would lose that, so the reply stands."""
    assistant, ws, stub = planner_setup
    stub.enqueue(step(answer="Globex Holdings does not exist."))
    result = assistant.ask(ws, "default", "how is Globex Holdings doing?", as_of=AS_OF)
    assert [c["name"] for c in result.tool_calls] == ["get_profile"]
    assert "no account called 'Globex Holdings'" in result.answer
    assert result.grounding["replaced"]


def test_a_model_that_stops_answering_mid_question_keeps_the_question(setup) -> None:
    """The stub's script runs out after the tool call: HTTP 500 on the next request."""
    assistant, ws, stub = setup
    stub.enqueue(step("get_kpis", range="last_7_days"))
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.error and "500" in result.error
    assert result.grounded and "unavailable" in result.answer
    assert "KPI cards" in result.answer  # the figures the tool returned are still given
    assert stored(assistant, ws, result.conversation_id) == UNPLACED


def test_prompt_tokens_read_from_the_servers_cache_are_counted(setup) -> None:
    """llama.cpp (``cache_prompt``) and OpenAI report cached prompt tokens; the second
    request of a question re-reads the first one's prefix."""
    assistant, ws, stub = setup
    usage = {"prompt_tokens": 1200, "completion_tokens": 20, "total_tokens": 1220}
    cached = {**usage, "prompt_tokens_details": {"cached_tokens": 1150}}
    stub.enqueue(
        Completion(content=step("get_kpis", range="last_7_days").content, usage=usage),
        Completion(content=step(answer="0 logins in the last 7 days.").content, usage=cached),
    )
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.tokens == {"prompt": 2400, "completion": 40, "total": 2440, "cached": 1150}


def test_tool_results_reach_a_small_model_without_nulls_or_timing() -> None:
    envelope = {"tool": "get_kpis", "ms": 3.2, "data": {"kpis": {"logins": 5, "avg": None}},
                "rows": {}, "filters": {"owner": None}, "names": ["a", None]}  # fmt: skip
    assert compact_result(json.dumps(envelope)) == (
        '{"tool":"get_kpis","data":{"kpis":{"logins":5}},"names":["a",null]}'
    )
    assert compact_result("KeyError: 'gamma'") == "KeyError: 'gamma'"


def test_arguments_a_small_model_fills_with_nothing_are_left_out(setup) -> None:
    """A 1.5B model writes every argument it is shown; null and "" mean "not given",
    and the reply schema lets it say null instead of picking a filter nobody asked for."""
    assistant, ws, stub = setup
    stub.enqueue(
        step("get_kpis", range="last_7_days", owner="", account="", partner_type=None),
        step(answer="0 logins in the last 7 days."),
    )
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.tool_calls[0]["args"] == {"range": "last_7_days"} and result.grounded
    assert result.data[0]["filters"] == {} or not any(result.data[0]["filters"].values())
    schema = stub.bodies[0]["response_format"]["json_schema"]["schema"]
    kpis = next(b for b in schema["anyOf"] if b["properties"].get("tool", {}).get("enum") == [
        "get_kpis"])  # fmt: skip
    partner_type = kpis["properties"]["arguments"]["properties"]["partner_type"]
    assert {"type": "null"} in partner_type["anyOf"]


def test_an_answer_cut_at_the_token_limit_gets_the_templated_answer_at_once(
    tmp_path: Path,
) -> None:
    """PORTALPULSE_MAX_TOKENS bounds a rambling small model: the server stops the reply
    (finish_reason "length"), the JSON is cut, and the templated answer follows without
    a repair request (asked again, the model would ramble as long again)."""
    gen = assistant_on_stub(tmp_path, "json", max_tokens=40)
    assistant, ws, stub = next(gen)
    try:
        stub.enqueue(
            Completion(
                content='{"action": "final_answer", "answer": "Logins were', finish_reason="length"
            )
        )
        result = assistant.ask(ws, "default", QUESTION, as_of=AS_OF)
        assert result.error is None and result.grounded
        assert result.answer.startswith("Logins, last 7 days")
        assert len(stub.requests) == 1 and stub.bodies[0]["max_completion_tokens"] == 40
    finally:
        gen.close()


def test_filter_values_the_question_never_mentions_are_dropped(setup) -> None:
    """Seen with Qwen2.5-1.5B on a question the planner could not place: every argument
    filled ("owner": "default", a partner type, a status). Values the question does not
    mention are dropped before the call runs."""
    assistant, ws, stub = setup
    stub.enqueue(
        step("get_kpis", owner="default", partner_type="reseller", status=["live"]),
        step(answer="0 logins in the last 30 days."),
    )
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert result.tool_calls[0]["args"] == {} and result.tool_calls[0]["ok"]
    assert result.grounded and result.error is None


def test_a_value_is_mentioned_by_a_shared_word_or_its_start() -> None:
    question = "how are the resellers at Acme doing?"
    assert mentioned("reseller", question) == "reseller"
    assert mentioned(["Acme", "Globex"], question) == ["Acme"]
    assert mentioned("default", question) is None


def test_when_every_call_the_model_chose_fails_the_planners_reply_is_given(setup) -> None:
    assistant, ws, stub = setup
    stub.enqueue(
        step("get_profile", kind="account", name="Pulse Logins"),  # no such account
        step(answer="The portal has no account called Pulse Logins."),
    )
    result = assistant.ask(ws, "default", UNPLACED, as_of=AS_OF)
    assert [e.get("error") is not None for e in result.data] == [True]
    assert result.answer.startswith("I can't answer that") and result.grounding["replaced"]
