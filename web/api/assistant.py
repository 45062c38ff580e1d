"""The assistant over HTTP: ask, stream (server-sent events), feedback, conversations.

Every call runs in the request's workspace (``TenantDep``): the assistant's
tools, entity index, example index and memory are all keyed by ``tenant.id``,
and a conversation of another workspace reads as "not found". Input is checked
before anything runs — the question, ``as_of`` and the filters — so a stream
never starts for a request that can only fail.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from metrics.scope import ScopeError, resolve_scope
from metrics.semantic.params import FilterParams, WindowParams
from web.api.errors import scope_unprocessable, unprocessable
from web.api.nul import MESSAGE as NUL_MESSAGE
from web.api.nul import check_body
from web.deps import Runtime, RuntimeDep, Tenant, TenantDep

router = APIRouter(tags=["assistant"])
MAX_QUESTION = 2000


class AskFilters(FilterParams):
    """Filters fixed for a question: tool arguments can narrow them, never widen them.

    The same names as everywhere (``account`` and ``project`` repeat; ``accounts`` and
    ``projects`` are accepted too); names or ids, resolved once, strictly."""


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    conversation_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Continue this conversation (follow-up questions); leave it out to start one.",
    )
    as_of: str | None = Field(None, description="Date or ISO 8601 instant that plays 'now'.")
    filters: AskFilters | None = Field(
        None, description="Fixed filters for this question (owner, accounts, …): narrows only."
    )
    window: WindowParams | None = Field(
        None,
        description="The page's window (`range`, or `from` and `to`): the period of a question "
        "that names none. A period in the question wins.",
    )
    request_id: str | None = Field(
        None, min_length=1, max_length=64, description="Idempotency key."
    )


class AskResponse(BaseModel):
    answer: str
    grounded: bool = Field(description="Every number in the answer is in the tool results.")
    tool_calls: list[dict[str, Any]]
    data: list[dict[str, Any]] = Field(description="The tools' JSON results.")
    conversation_id: str
    message_seq: int = Field(description="The answer's number, for POST /api/feedback.")
    provider: str
    round_trips: int
    latency_ms: float
    error: str | None = None
    replayed: bool = False
    checks: dict[str, Any] = Field(
        default_factory=dict,
        description="grounded: every number is in the tool results; covered: every mention "
        "of the question (names, period, measures, parameters, filters) was used by a tool "
        "call; unused: the mentions that were not.",
    )


class FeedbackRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=64)
    message_seq: int = Field(ge=1, le=1_000_000)
    verdict: Literal["right", "wrong"]


class ConversationSummary(BaseModel):
    id: str
    title: str
    created_at: str
    updated_at: str
    turns: int


def _checked(
    body: AskRequest, rt: Runtime, tn: Tenant, idempotency_key: str | None
) -> dict[str, Any]:
    """The assistant's keyword arguments, after checking everything that can be checked."""
    from assistant.memory import ConversationNotFound

    nul = check_body(body.model_dump(exclude_none=True))
    if nul:
        raise unprocessable(f"{nul}: {NUL_MESSAGE}")
    if idempotency_key and "\x00" in idempotency_key:
        raise unprocessable(f"header 'Idempotency-Key': {NUL_MESSAGE}")
    if not body.question.strip():
        raise unprocessable("question: the question is empty")
    filters: dict[str, Any] = {}
    failed: list[tuple[str, ScopeError]] = []  # every problem of the request, in one 422
    with rt.engine.connect() as conn:  # resolves names (did-you-mean errors) once
        if body.filters:
            try:
                filters = body.filters.resolve_filters(conn, tn.id)
            except ScopeError as exc:
                failed.append(("filters: ", exc))
        window = body.window or WindowParams()
        try:  # and checks the as_of and the page's window
            resolve_scope(
                conn, tn.id, as_of=body.as_of, range=window.range, start=window.from_,
                end=window.to,
            )  # fmt: skip
        except ScopeError as exc:
            failed.append(("window: " if body.window else "", exc))
        except OverflowError:
            raise unprocessable("as_of: the date is outside the supported range") from None
    if failed:
        raise unprocessable(
            "; ".join(where + str(exc) for where, exc in failed),
            problems=[p for _, exc in failed for p in exc.describe_problems()],
        )

    if body.conversation_id:
        try:
            rt.assistant.memory.history(tn.id, body.conversation_id, turns=1)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc)) from None
    return {
        "conversation_id": body.conversation_id,
        "as_of": body.as_of,
        "window": body.window.model_dump(by_alias=True, exclude_none=True) if body.window else None,
        "filters": filters,
        "request_id": body.request_id or idempotency_key,
    }


IdempotencyKey = Annotated[
    str | None,
    Header(max_length=64, description="A retried request with the same key is not re-run."),
]


@router.post(
    "/api/ask",
    response_model=AskResponse,
    summary="Ask a question",
    responses={404: {"description": "No such conversation."}},
)
def ask(
    body: AskRequest, rt: RuntimeDep, tn: TenantDep, idempotency_key: IdempotencyKey = None
) -> AskResponse:
    """Ask in plain language; every number in the answer comes from a metrics tool and is
    checked against the tool results (`grounded`). A model failure is not an error: the
    answer says so and still gives the figures the tools returned."""
    from assistant.service import QuestionError

    kwargs = _checked(body, rt, tn, idempotency_key)
    try:
        result = rt.assistant.ask(tn.id, tn.name, body.question, **kwargs)
    except ScopeError as exc:
        raise scope_unprocessable(exc) from None
    except QuestionError as exc:
        raise unprocessable(str(exc)) from None
    return AskResponse(**{k: getattr(result, k) for k in AskResponse.model_fields})


PIECE_WORDS = 6
"""Words per ``token`` event when an answer that was written whole is streamed."""
PIECE_PAUSE_S = 0.008
"""Pause between those pieces, so a client shows them arriving (40 pieces: a third of a second)."""
MAX_PIECES = 40


def answer_pieces(text: str, words: int = PIECE_WORDS) -> list[str]:
    """``text`` cut into pieces of about ``words`` words each, whitespace kept: joined, they
    are ``text`` again. Long answers get longer pieces (at most :data:`MAX_PIECES`)."""
    parts = re.findall(r"\S+\s*|\s+", text)
    size = max(words, -(-len(parts) // MAX_PIECES))
    return ["".join(parts[i : i + size]) for i in range(0, len(parts), size)]


def _pieces(text: str) -> Iterator[str]:
    """``token`` events for ``text``: one for a model's token, several for a whole answer."""
    pieces = answer_pieces(text)
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(PIECE_PAUSE_S)
        yield _sse("token", {"text": piece})


def _sse(kind: str, payload: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(payload, default=str)}\n\n"


@router.post(
    "/api/ask/stream",
    summary="Ask a question, streamed",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-sent events: `tool_call` and `tool_result` as each tool "
            "runs, `token` pieces of the answer, then `final` (the whole `/api/ask` "
            "response). A failure after the stream started is an `error` event.",
            "content": {"text/event-stream": {}},
        },
        404: {"description": "No such conversation."},
    },
)
def ask_stream(
    body: AskRequest, rt: RuntimeDep, tn: TenantDep, idempotency_key: IdempotencyKey = None
) -> StreamingResponse:
    """The same as `POST /api/ask` as server-sent events."""
    kwargs = _checked(body, rt, tn, idempotency_key)

    def events() -> Iterator[str]:
        sent = ""
        try:
            for event in rt.assistant.stream(tn.id, tn.name, body.question, **kwargs):
                if event["type"] == "token":
                    # a model's tokens pass as they come; text written whole (the offline
                    # planner's templated answer) goes out in pieces, as a model would write it
                    sent += event.get("text", "")
                    yield from _pieces(event.get("text", ""))
                elif event["type"] == "final":
                    result = event["result"].as_dict()
                    if not sent:
                        yield from _pieces(result["answer"])
                    yield _sse("final", {k: result[k] for k in AskResponse.model_fields})
                else:
                    yield _sse(event["type"], {k: v for k, v in event.items() if k != "type"})
        except Exception as exc:  # a stream cannot change its status: report in-band
            yield _sse("error", {"message": str(exc) or type(exc).__name__})

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.post(
    "/api/feedback",
    summary="Mark an answer right or wrong",
    responses={404: {"description": "No such conversation or message."}},
)
def feedback(body: FeedbackRequest, rt: RuntimeDep, tn: TenantDep) -> dict[str, str]:
    """A `right` answer's question joins this workspace's example index, so the offline
    planner answers similar questions the same way."""
    from assistant.memory import ConversationNotFound

    if "\x00" in body.conversation_id:
        raise unprocessable(f"body.conversation_id: {NUL_MESSAGE}")
    try:
        rt.assistant.feedback(tn.id, body.conversation_id, body.message_seq, body.verdict)
    except ConversationNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {"status": "recorded"}


@router.get("/api/conversations", summary="Conversations of the workspace")
def conversations(
    rt: RuntimeDep,
    tn: TenantDep,
    limit: Annotated[int, Query(ge=1, le=200, description="Conversations to return (1–200).")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="Conversations to skip, for paging.")
    ] = 0,
) -> list[ConversationSummary]:
    """Most recently active first."""
    rows = rt.assistant.memory.list(tn.id, limit=limit, offset=offset)
    return [
        ConversationSummary(
            id=r["id"],
            title=r["title"],
            created_at=r["created_at"].isoformat().replace("+00:00", "Z"),
            updated_at=r["updated_at"].isoformat().replace("+00:00", "Z"),
            turns=r["turns"],
        )
        for r in rows
    ]


@router.get(
    "/api/conversations/{conversation_id}",
    summary="A conversation's messages",
    responses={404: {"description": "No such conversation in this workspace."}},
)
def conversation(
    conversation_id: Annotated[str, Path(description="The `conversation_id` an answer returned.")],
    rt: RuntimeDep,
    tn: TenantDep,
) -> dict[str, Any]:
    """Questions and answers in order; each answer with the tool calls and data it came
    from, and its `seq` for feedback."""
    from assistant.memory import ConversationNotFound

    try:
        messages = rt.assistant.memory.history(tn.id, conversation_id, turns=1_000_000)
    except ConversationNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    out: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    data: list[Any] = []
    for seq, message in enumerate(messages, start=1):  # seq is contiguous from 1
        if message.type == "human":
            calls, data = [], []
            out.append({"role": "human", "content": message.content, "seq": seq})
        elif message.type == "ai" and getattr(message, "tool_calls", None):
            calls += [{"name": c["name"], "args": c["args"]} for c in message.tool_calls]
        elif message.type == "tool":
            try:
                data.append(json.loads(str(message.content)))
            except ValueError:
                data.append(str(message.content))
        elif message.type == "ai":
            out.append(
                {"role": "ai", "content": message.content, "seq": seq,
                 "tool_calls": calls, "data": data}
            )  # fmt: skip
    return {"conversation_id": conversation_id, "messages": out}
