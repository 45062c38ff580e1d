"""The agent loop: one ``create_agent`` graph for every provider.

The model picks metric tools; the tools compute every number. The loop is
LangChain 1.x's ``create_agent`` with these middleware:

* ``ToolCallLimitMiddleware(run_limit=max_tool_calls, exit_behavior="continue")``:
  calls past the cap are not run; the model gets an error ``ToolMessage`` ("Tool
  call limit exceeded. Do not make additional tool calls.") and one more turn to
  answer with what it has;
* ``ModelCallLimitMiddleware(run_limit=max_tool_calls + 2, exit_behavior="end")``:
  stops a model that keeps asking for tools (or keeps sending malformed calls);
* ``ToolErrorMiddleware``: an exception raised by a tool becomes an error
  ``ToolMessage`` the model can react to (see :func:`_tool_error_text`; unknown
  tool names and arguments that fail validation are turned into error
  ``ToolMessage`` by ``ToolNode`` itself);
* ``_InvalidToolCalls``: tool calls whose arguments are not JSON (LangChain puts
  them in ``AIMessage.invalid_tool_calls``) are answered with error ``ToolMessage``
  and the model is asked again;
* ``_RunTracker``: counts model round trips, times tool calls, gives tool calls
  without an id one, stops the graph when the caller gave up, and labels model
  failures with a short reason.

The graph runs in a worker thread so the whole-question deadline holds even while
a model request or a tool is blocking: at the deadline :class:`AgentError` is
raised at once and the worker stops at its next step.
"""

from __future__ import annotations

import contextvars
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    ModelCallLimitMiddleware,
    ModelCallResult,
    ModelRequest,
    ToolCallLimitMiddleware,
    ToolCallRequest,
    ToolErrorMiddleware,
    hook_config,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool, ToolException

from assistant.llm_tools import compact_tools
from assistant.settings import Settings

__all__ = [
    "Agent",
    "AgentError",
    "AgentEvent",
    "AgentRun",
    "ToolCallRecord",
]

log = logging.getLogger(__name__)

_ERROR_TEXT_LIMIT = 500
_EXPLAINED_TOOL_ERRORS = (ValueError, LookupError, TypeError, ToolException, PermissionError)
_TOOL_LIMIT_NODE = "ToolCallLimitMiddleware.after_model"
_MODEL_LIMIT_NODE = "ModelCallLimitMiddleware.before_model"


# -- results -----------------------------------------------------------------------------


@dataclass
class ToolCallRecord:
    """One tool call of a run: what was asked, what came back, how long it took."""

    name: str
    args: dict[str, Any]
    result: Any
    """The tool message content, parsed as JSON when it is JSON, else the text."""
    error: bool = False
    duration_ms: float = 0.0
    id: str = ""


@dataclass
class AgentRun:
    """The outcome of one question."""

    answer: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    round_trips: int = 0
    """Model calls made for this question."""
    tokens: dict[str, int] = field(
        default_factory=lambda: {"prompt": 0, "completion": 0, "total": 0}
    )
    limited: bool = False
    """True when the tool-call or model-call cap cut the run short."""
    messages: list[BaseMessage] = field(default_factory=list)
    """History + question + every AI and tool message of this run (for memory)."""


class AgentError(Exception):
    """The model failed (after the SDK's retries), or the question ran out of time.

    Attributes:
        reason: a short, user-presentable reason ("the model server returned HTTP 503").
        tool_calls: the tool calls completed before the failure, for a fallback answer.
        round_trips: model calls made before the failure.
    """

    def __init__(
        self,
        reason: str,
        tool_calls: list[ToolCallRecord] | None = None,
        round_trips: int = 0,
    ) -> None:
        """Carry ``reason`` and whatever partial tool results exist."""
        super().__init__(reason)
        self.reason = reason
        self.tool_calls = list(tool_calls or [])
        self.round_trips = round_trips


class TokenEvent(TypedDict):
    """A piece of model text, as it streams."""

    type: Literal["token"]
    text: str


class ToolCallEvent(TypedDict):
    """The model asked for a tool."""

    type: Literal["tool_call"]
    name: str
    args: dict[str, Any]


class ToolResultEvent(TypedDict):
    """A tool answered (``ok`` false for errors, refused and malformed calls)."""

    type: Literal["tool_result"]
    name: str
    ok: bool
    content: Any


class FinalEvent(TypedDict):
    """The run is over; always the last event."""

    type: Literal["final"]
    run: AgentRun


AgentEvent = TokenEvent | ToolCallEvent | ToolResultEvent | FinalEvent


# -- middleware --------------------------------------------------------------------------


class _Cancelled(Exception):
    """The caller stopped waiting (deadline or closed stream): end the worker."""


class _ModelFailed(Exception):
    """The model call failed; ``reason`` is the short explanation for :class:`AgentError`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _RunContext:
    """Per-question bookkeeping, shared by the middleware and the caller's thread."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    model_calls: int = 0
    durations_ms: dict[str, float] = field(default_factory=dict)


class _RunTracker(AgentMiddleware):
    """Count round trips, time tools, honour cancellation, label model failures."""

    def wrap_model_call(self, request: ModelRequest, handler: Any) -> ModelCallResult:
        ctx = _context(request.runtime)
        if ctx is not None:
            if ctx.cancelled.is_set():
                raise _Cancelled
            ctx.model_calls += 1
        try:
            response = handler(request)
        except Exception as exc:
            raise _ModelFailed(_model_failure_reason(exc)) from exc
        # Some OpenAI-compatible servers send tool calls without ids; ToolNode needs them.
        produced = [response] if isinstance(response, AIMessage) else response.result
        for message in produced:
            if isinstance(message, AIMessage):
                for call in message.tool_calls:
                    if not call.get("id"):
                        call["id"] = f"call_{uuid.uuid4().hex[:24]}"
        return response

    def wrap_tool_call(self, request: ToolCallRequest, handler: Any) -> Any:
        ctx = _context(request.runtime)
        if ctx is not None and ctx.cancelled.is_set():
            raise _Cancelled
        started = time.perf_counter()
        try:
            return handler(request)
        finally:
            if ctx is not None:
                elapsed = (time.perf_counter() - started) * 1000
                ctx.durations_ms[request.tool_call.get("id") or ""] = elapsed


class _InvalidToolCalls(AgentMiddleware):
    """Answer tool calls with unparseable arguments with an error, and ask again."""

    @hook_config(can_jump_to=["model"])
    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        messages = state.get("messages", [])
        last = messages[-1] if messages else None
        if not isinstance(last, AIMessage) or not last.invalid_tool_calls:
            return None
        replies = [
            ToolMessage(
                content=(
                    f"Error: the arguments for {bad.get('name') or 'the tool'} are not a valid "
                    f"JSON object ({bad.get('error') or 'unparseable'}): {bad.get('args')!r}. "
                    "Call the tool again with a JSON object of arguments."
                ),
                tool_call_id=bad.get("id") or f"call_{uuid.uuid4().hex[:24]}",
                name=bad.get("name") or "unknown",
                status="error",
            )
            for bad in last.invalid_tool_calls
        ]
        update: dict[str, Any] = {"messages": replies}
        if not last.tool_calls:
            update["jump_to"] = "model"
        return update


def _tool_error_text(exc: Exception, request: ToolCallRequest) -> str:
    """What the model is told when a tool raises (the full error goes to the log).

    Errors about the request (``ValueError``, ``LookupError``, ``TypeError``,
    ``ToolException``, ``PermissionError``) carry their message so the model can fix
    its arguments; anything else (a database error, a bug) only its type.
    """
    name = request.tool_call.get("name")
    log.warning("tool %s failed: %s: %s", name, type(exc).__name__, exc, exc_info=exc)
    if isinstance(exc, _EXPLAINED_TOOL_ERRORS):
        text = f"Error: {type(exc).__name__}: {exc}"
    else:
        text = (
            f"Error: {type(exc).__name__} (the tool failed internally; "
            "try another tool or answer with what you have)"
        )
    return text[:_ERROR_TEXT_LIMIT]


def _context(runtime: Any) -> _RunContext | None:
    ctx = getattr(runtime, "context", None)
    return ctx if isinstance(ctx, _RunContext) else None


def _model_failure_reason(exc: BaseException) -> str:
    """A short reason for a failed model call, independent of the provider."""
    from langchain_core import exceptions as lc_errors

    name = type(exc).__name__
    status = getattr(exc, "status_code", None)

    def is_a(*names: str) -> bool:
        classes = tuple(c for n in names if isinstance(c := getattr(lc_errors, n, None), type))
        return (bool(classes) and isinstance(exc, classes)) or any(n in name for n in names)

    if is_a("ModelTimeoutError", "Timeout"):
        return "the model did not answer in time"
    if is_a("ModelConnectionError", "ConnectionError", "APIConnectionError"):
        return "could not reach the model server"
    if status == 429 or is_a("ModelRateLimitError", "RateLimitError"):
        return "the model server is rate-limiting requests (HTTP 429)"
    if is_a("ModelAuthenticationError", "AuthenticationError", "PermissionDenied"):
        return f"the model server refused the credentials (HTTP {status or 401})"
    if isinstance(status, int):
        return f"the model server returned HTTP {status}"
    if is_a("JsonToolCallingError"):
        return str(exc)[:_ERROR_TEXT_LIMIT]
    return f"the model failed ({name}: {exc})"[:_ERROR_TEXT_LIMIT]


# -- the agent ---------------------------------------------------------------------------


class Agent:
    """Answer questions by letting ``model`` call ``tools`` (the same loop for every provider).

    Args:
        model: any LangChain chat model whose ``bind_tools`` works (``ChatOpenAI``,
            ``JsonToolCalling``, the offline planner).
        tools: the metric tools (the model sees them through
            :func:`~assistant.llm_tools.compact_tools`: short descriptions, compact schemas).
        system_prompt: the instructions given before every model call.
        settings: caps and deadline (``max_tool_calls``, ``deadline_s``).
    """

    def __init__(
        self,
        model: BaseChatModel,
        tools: Sequence[BaseTool],
        system_prompt: str,
        settings: Settings,
    ) -> None:
        """Build the ``create_agent`` graph once; it is reused by every question."""
        self.model = model
        self.tools = compact_tools(tools)
        self.system_prompt = system_prompt
        self.settings = settings
        middleware: list[AgentMiddleware] = [
            _RunTracker(),
            ToolErrorMiddleware(on_error=_tool_error_text),
            _InvalidToolCalls(),
            ToolCallLimitMiddleware(run_limit=settings.max_tool_calls, exit_behavior="continue"),
            ModelCallLimitMiddleware(run_limit=settings.max_tool_calls + 2, exit_behavior="end"),
        ]
        self.graph = create_agent(
            model,
            self.tools,
            system_prompt=system_prompt,
            middleware=middleware,
            context_schema=_RunContext,
        )
        # Each model turn takes about six graph steps (limits, model, tools).
        self._recursion_limit = 10 * (settings.max_tool_calls + 3) + 25

    def run(self, question: str, history: Sequence[BaseMessage] = ()) -> AgentRun:
        """Answer ``question`` (after ``history``) without streaming tokens.

        Raises:
            AgentError: the model failed after retries, or the deadline passed.
        """
        for event in self._events(question, history, stream_tokens=False):
            if event["type"] == "final":
                return event["run"]
        raise AgentError("the agent stopped without an answer")  # pragma: no cover

    def stream(self, question: str, history: Sequence[BaseMessage] = ()) -> Iterator[AgentEvent]:
        """Answer ``question``, yielding token, tool_call, tool_result and a final event.

        Tokens are every piece of text the model writes, including text it writes
        alongside a tool call. Closing the iterator early stops the run.

        Raises:
            AgentError: the model failed after retries, or the deadline passed.
        """
        yield from self._events(question, history, stream_tokens=True)

    # -- internals -----------------------------------------------------------------------

    def _events(
        self, question: str, history: Sequence[BaseMessage], *, stream_tokens: bool
    ) -> Iterator[AgentEvent]:
        deadline = time.monotonic() + self.settings.deadline_s
        ctx = _RunContext()
        inputs = {"messages": [*history, HumanMessage(content=question)]}
        modes = ["updates", "values", *(["messages"] if stream_tokens else [])]
        items: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work() -> None:
            try:
                for item in self.graph.stream(
                    inputs,
                    {"recursion_limit": self._recursion_limit},
                    context=ctx,
                    stream_mode=modes,
                ):
                    if ctx.cancelled.is_set():
                        return
                    items.put(("item", item))
                items.put(("done", None))
            except BaseException as exc:  # handed to the caller's thread
                items.put(("error", exc))

        worker = threading.Thread(
            target=contextvars.copy_context().run, args=(work,), daemon=True, name="agent-run"
        )
        state = _Collector(offset=len(inputs["messages"]), durations=ctx.durations_ms)
        worker.start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    kind, payload = items.get(timeout=max(remaining, 0.0))
                except queue.Empty:
                    raise AgentError(
                        f"no answer within the {self.settings.deadline_s:g} s deadline",
                        state.records(),
                        ctx.model_calls,
                    ) from None
                if kind == "done":
                    break
                if kind == "error":
                    raise self._as_agent_error(payload, state, ctx) from payload
                mode, chunk = payload
                if mode == "values":
                    state.values(chunk)
                elif mode == "updates":
                    yield from state.updates(chunk)
                elif mode == "messages":
                    token = _token_text(chunk)
                    if token:
                        yield {"type": "token", "text": token}
        finally:
            ctx.cancelled.set()
        yield {"type": "final", "run": state.result(ctx.model_calls)}

    @staticmethod
    def _as_agent_error(exc: BaseException, state: _Collector, ctx: _RunContext) -> AgentError:
        if isinstance(exc, _ModelFailed):
            reason = exc.reason
        elif isinstance(exc, AgentError):
            return exc
        else:
            reason = f"the agent loop failed ({type(exc).__name__}: {exc})"[:_ERROR_TEXT_LIMIT]
        return AgentError(reason, state.records(), ctx.model_calls)


class _Collector:
    """Fold the graph's stream into events and, at the end, an :class:`AgentRun`."""

    def __init__(self, offset: int, durations: dict[str, float]) -> None:
        self.offset = offset
        self.durations = durations
        self.messages: list[BaseMessage] = []
        self.model_messages: list[AIMessage] = []
        self.limited = False

    def values(self, chunk: dict[str, Any]) -> None:
        self.messages = list(chunk.get("messages", []))

    def updates(self, chunk: dict[str, Any]) -> Iterator[AgentEvent]:
        for node, update in chunk.items():
            if not isinstance(update, dict):
                continue
            new = update.get("messages") or []
            new = new if isinstance(new, list) else [new]
            if node in (_TOOL_LIMIT_NODE, _MODEL_LIMIT_NODE) and new:
                self.limited = True
            for message in new:
                if node == "model" and isinstance(message, AIMessage):
                    self.model_messages.append(message)
                    for call in message.tool_calls:
                        yield {"type": "tool_call", "name": call["name"], "args": call["args"]}
                    for bad in message.invalid_tool_calls:
                        yield {"type": "tool_call", "name": bad.get("name") or "", "args": {}}
                elif isinstance(message, ToolMessage):
                    yield {
                        "type": "tool_result",
                        "name": message.name or "",
                        "ok": message.status != "error",
                        "content": _parse_content(message.content),
                    }

    def records(self) -> list[ToolCallRecord]:
        new = self.messages[self.offset :]
        results = {m.tool_call_id: m for m in new if isinstance(m, ToolMessage)}
        records = []
        for message in new:
            if not isinstance(message, AIMessage):
                continue
            calls = [(c["id"], c["name"], c["args"]) for c in message.tool_calls]
            calls += [(c.get("id"), c.get("name"), {}) for c in message.invalid_tool_calls]
            for call_id, name, args in calls:
                reply = results.get(call_id or "")
                if reply is None:
                    continue  # never answered (the run stopped first)
                records.append(
                    ToolCallRecord(
                        name=name or "",
                        args=dict(args),
                        result=_parse_content(reply.content),
                        error=reply.status == "error",
                        duration_ms=round(self.durations.get(call_id or "", 0.0), 3),
                        id=call_id or "",
                    )
                )
        return records

    def result(self, round_trips: int) -> AgentRun:
        return AgentRun(
            answer=self._answer(),
            tool_calls=self.records(),
            round_trips=round_trips,
            tokens=self._tokens(),
            limited=self.limited,
            messages=list(self.messages),
        )

    def _answer(self) -> str:
        if self.model_messages and not self.model_messages[-1].tool_calls:
            text = self.model_messages[-1].text.strip()
            if text or not self.limited:
                return text
        # Stopped by a cap: the last thing the model said, if anything.
        for message in reversed(self.model_messages):
            if message.text.strip():
                return message.text.strip()
        return ""

    def _tokens(self) -> dict[str, int]:
        """Prompt, completion and total tokens; ``cached`` too when the server reports
        prompt tokens read from its cache (OpenAI, llama.cpp's ``cache_prompt``)."""
        tokens = {"prompt": 0, "completion": 0, "total": 0}
        cached = 0
        for message in self.model_messages:
            usage = message.usage_metadata or {}
            tokens["prompt"] += int(usage.get("input_tokens", 0) or 0)
            tokens["completion"] += int(usage.get("output_tokens", 0) or 0)
            tokens["total"] += int(usage.get("total_tokens", 0) or 0)
            details = usage.get("input_token_details") or {}
            cached += int(details.get("cache_read", 0) or 0)
        if cached:
            tokens["cached"] = cached
        return tokens


def _token_text(chunk: Any) -> str:
    message, metadata = chunk
    if (metadata or {}).get("langgraph_node") != "model":
        return ""
    if isinstance(message, AIMessageChunk | AIMessage):
        return message.text
    return ""


def _parse_content(content: Any) -> Any:
    """Tool output as data when it is JSON (ToolNode serialises dicts and lists)."""
    if not isinstance(content, str) or not content.strip():
        return content
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        return content
