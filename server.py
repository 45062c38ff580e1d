"""The PortalPulse HTTP API (FastAPI). ``portalpulse serve`` runs :func:`create_app` with uvicorn.

Every request works in the workspace the server was started for; nothing a
client sends — body, query or question text — can name another one.

* ``GET /api/metrics/{section}`` — any section of SPEC §4, scope as query parameters
* ``POST /api/ask`` — a question → ``{answer, grounded, tool_calls, data, conversation_id}``
* ``POST /api/ask/stream`` — the same as server-sent events (tool calls as they happen,
  tokens, then the final answer)
* ``POST /api/feedback`` — mark an answer right or wrong
* ``GET /api/conversations/{id}`` — a conversation's messages
* ``GET /digests/preview``, ``/digests/unsubscribe`` — weekly digests (:mod:`web.digests`)
* ``GET /health``, ``GET /ready``; OpenAPI at ``/docs``
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from metrics.db import DEFAULT_WORKSPACE, connect, workspace_id
from metrics.scope import RANGES, ScopeError, resolve_scope
from metrics.sections import SECTIONS, section, split_options
from web.deps import Runtime, RuntimeDep, TenantDep
from web.digests import digest_lifespan
from web.digests import router as digests_router


@dataclass(frozen=True)
class Config:
    database_url: str | None = None
    workspace: str = DEFAULT_WORKSPACE


def scope_query(
    range: Annotated[Literal[RANGES] | None, Query(description="Named range.")] = None,  # type: ignore[valid-type]
    from_: Annotated[str | None, Query(alias="from", description="First day, YYYY-MM-DD.")] = None,
    to: Annotated[str | None, Query(description="Last day, inclusive.")] = None,
    as_of: Annotated[str | None, Query(description="Date or instant that plays 'now'.")] = None,
    owner: Annotated[str | None, Query()] = None,
    account: Annotated[list[str] | None, Query()] = None,
    playbook: Annotated[str | None, Query()] = None,
    partner_type: Annotated[Literal["referral", "reseller"] | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    project: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    return {
        "range": range,
        "start": from_,
        "end": to,
        "as_of": as_of,
        "owner": owner,
        "accounts": account or [],
        "playbook": playbook,
        "partner_type": partner_type,
        "status": status or [],
        "projects": project or [],
    }


ScopeDep = Annotated[dict[str, Any], Depends(scope_query)]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    conversation_id: str | None = None
    as_of: str | None = None
    filters: dict[str, Any] | None = Field(
        None, description="Fixed filters for this question (owner, accounts, …): narrows only."
    )
    request_id: str | None = Field(None, max_length=64, description="Idempotency key.")


class AskResponse(BaseModel):
    answer: str
    grounded: bool
    tool_calls: list[dict[str, Any]]
    data: list[dict[str, Any]]
    conversation_id: str
    message_seq: int
    provider: str
    round_trips: int
    latency_ms: float
    error: str | None = None
    replayed: bool = False


class FeedbackRequest(BaseModel):
    conversation_id: str
    message_seq: int = Field(ge=1)
    verdict: Literal["right", "wrong"]


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


_FILTER_KEYS = {"owner", "accounts", "playbook", "partner_type", "status", "projects"}


def _ask_kwargs(body: AskRequest, idempotency_key: str | None) -> dict[str, Any]:
    filters = body.filters or {}
    unknown = set(filters) - _FILTER_KEYS
    if unknown:
        raise _unprocessable(
            f"filters: unknown key(s) {', '.join(sorted(unknown))}; "
            f"use {', '.join(sorted(_FILTER_KEYS))}"
        )
    return {
        "conversation_id": body.conversation_id,
        "as_of": body.as_of,
        "filters": filters,
        "request_id": body.request_id or idempotency_key,
    }


def create_app(config: Config | None = None) -> FastAPI:
    """The application for one database and workspace."""
    config = config or Config()
    app = FastAPI(
        title="PortalPulse",
        description="Engagement analytics for customer and partner portals, with an assistant.",
        version="0.1.0",
        lifespan=digest_lifespan,
    )
    engine = connect(config.database_url)
    with engine.begin() as conn:
        ws = workspace_id(conn, config.workspace)
    app.state.runtime = Runtime(engine, config.workspace, ws)
    app.include_router(digests_router)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"])
    def ready(rt: RuntimeDep) -> JSONResponse:
        try:
            with rt.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the point of this endpoint is to say so
            return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "workspace": rt.workspace})

    @app.get("/api/metrics/{name}", tags=["metrics"])
    def metrics_section(
        name: str,
        rt: RuntimeDep,
        tn: TenantDep,
        scope: ScopeDep,
        sort: str | None = None,
        descending: bool | None = None,
        page: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int | None, Query(ge=1, le=500)] = None,
        bucket: Literal["day", "week", "month"] | None = None,
    ) -> dict[str, Any]:
        """A metrics section (SPEC §4) over the scope given as query parameters."""
        if name not in SECTIONS:
            raise HTTPException(404, f"unknown section {name!r}; one of: {', '.join(SECTIONS)}")
        compute = section(name)
        options = {
            "sort": sort,
            "descending": descending,
            "page": page,
            "limit": limit,
            "bucket": bucket,
        }
        given, refused = split_options(name, options)
        if refused:
            raise _unprocessable(f"section {name!r} does not take {', '.join(refused)}")
        with rt.engine.connect() as conn:
            try:
                resolved = resolve_scope(conn, tn.id, **scope)
                return compute(conn, resolved, **given).model_dump(mode="json")
            except (ScopeError, ValueError) as exc:
                raise _unprocessable(str(exc)) from None

    @app.post("/api/ask", response_model=AskResponse, tags=["assistant"])
    def ask(
        body: AskRequest,
        rt: RuntimeDep,
        tn: TenantDep,
        idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
    ) -> AskResponse:
        """Ask a question; every number in the answer comes from a metrics tool."""
        from assistant.memory import ConversationNotFound
        from assistant.service import QuestionError

        try:
            result = rt.assistant.ask(
                tn.id, tn.name, body.question, **_ask_kwargs(body, idempotency_key)
            )
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except (QuestionError, ScopeError) as exc:
            raise _unprocessable(str(exc)) from None
        return AskResponse(**{k: getattr(result, k) for k in AskResponse.model_fields})

    @app.post("/api/ask/stream", tags=["assistant"])
    def ask_stream(
        body: AskRequest,
        rt: RuntimeDep,
        tn: TenantDep,
        idempotency_key: Annotated[str | None, Header(max_length=64)] = None,
    ) -> StreamingResponse:
        """Server-sent events: ``tool_call``, ``tool_result``, ``token`` …, then ``final``."""
        from assistant.memory import ConversationNotFound

        kwargs = _ask_kwargs(body, idempotency_key)
        try:
            if kwargs["conversation_id"]:
                rt.assistant.memory.history(tn.id, kwargs["conversation_id"], turns=1)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc)) from None

        def events() -> Iterator[str]:
            try:
                for event in rt.assistant.stream(tn.id, tn.name, body.question, **kwargs):
                    if event["type"] == "final":
                        payload = event["result"].as_dict()
                    else:
                        payload = {k: v for k, v in event.items() if k != "type"}
                    yield f"event: {event['type']}\ndata: {json.dumps(payload, default=str)}\n\n"
            except Exception as exc:  # a stream cannot change its status: report in-band
                yield f"event: error\ndata: {json.dumps({'message': str(exc)})}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/api/feedback", tags=["assistant"])
    def feedback(body: FeedbackRequest, rt: RuntimeDep, tn: TenantDep) -> dict[str, str]:
        """Mark an answer right (its question joins the example index) or wrong."""
        from assistant.memory import ConversationNotFound

        try:
            rt.assistant.feedback(tn.id, body.conversation_id, body.message_seq, body.verdict)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return {"status": "recorded"}

    @app.get("/api/conversations/{conversation_id}", tags=["assistant"])
    def conversation(conversation_id: str, rt: RuntimeDep, tn: TenantDep) -> dict[str, Any]:
        from assistant.memory import ConversationNotFound

        try:
            messages = rt.assistant.memory.history(tn.id, conversation_id, turns=1000)
        except ConversationNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return {
            "conversation_id": conversation_id,
            "messages": [
                {"role": m.type, "content": m.content}
                for m in messages
                if m.type == "human" or (m.type == "ai" and not getattr(m, "tool_calls", None))
            ],
        }

    return app
