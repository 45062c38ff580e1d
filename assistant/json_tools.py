"""Tool selection through schema-constrained JSON, for models without native tool calls.

Small local models (served by llama.cpp, Ollama or vLLM) rarely produce native
tool calls the server can parse, but they follow a JSON schema reliably when the
server constrains decoding to it. :class:`JsonToolCalling` wraps such a model so
the agent loop can treat it like any tool-calling chat model:

* ``bind_tools(tools)`` only records the tools (the inner model never sees the
  ``tools`` parameter);
* every turn the inner model gets the conversation rendered as plain text
  (tool results become user messages), one extra system instruction listing the
  tools and the reply format, and ``response_format={"type": "json_schema", ...}``
  constraining its reply to ``{"action": "call_tool", "tool": ..., "arguments": {...}}``
  or ``{"action": "final_answer", "answer": "..."}``;
* the reply is parsed into an ``AIMessage`` with ``tool_calls`` (arguments validated
  against the tool's schema) or with the answer as content;
* a reply that is not JSON, names an unknown tool or has invalid arguments is
  retried once with the error fed back; if it is still unusable the ``fallback``
  model (the offline planner) takes that step, else :class:`JsonToolCallingError`
  is raised;
* with ``planner_first`` the offline planner makes the first step of a turn (of every
  turn, or of every turn whose question it placed), so the model picks no tool the
  planner would have picked better and only writes the answer from the results.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.llm_tools import compact_schema
from assistant.planner.parse import fold
from metrics.semantic.params import FilterParams
from tools.args import argument_names

SCHEMA_NAME = "portalpulse_step"
PlannerFirst = Literal["never", "placed", "always"]
"""Who makes the first step of a turn: see :class:`JsonToolCalling`."""

log = logging.getLogger(__name__)

_INSTRUCTIONS = """\
Reply with exactly one JSON object and nothing else, either
{{"action": "call_tool", "tool": "<tool name>", "arguments": {{<its arguments>}}}}
or {{"action": "final_answer", "answer": "<your answer to the user>"}}.
Call one tool per reply; you then see its result. Most questions need one tool: once a
result holds the figures asked for, give the final answer from it.
Give only the arguments the question asks for; leave the others out.

Tools, as name(arguments; * = required): what it returns.{shared}
{tools}"""

_SHARED = """
Tools marked (scope, ...) also take the scope arguments: {arguments}."""
_NO_TOOLS = "(none: give the final answer)"


class JsonToolCallingError(ValueError):
    """The inner model's reply could not be turned into a tool call or an answer."""

    def __init__(self, message: str, reply: str = "") -> None:
        """Keep the offending ``reply`` (possibly empty) next to the message."""
        super().__init__(message)
        self.reply = reply


class _ReplyError(ValueError):
    """One unusable reply; fed back to the model once before giving up."""


class JsonToolCalling(BaseChatModel):
    """Wrap ``inner`` so tool calls come from JSON-schema-constrained replies.

    Args:
        inner: the chat model that writes the JSON (e.g. ``ChatOpenAI`` pointed at a
            local server); it must honour ``response_format`` for the constraint to
            hold, but replies are validated either way.
        max_repairs: how many times an unusable reply is fed back (default 1).
        fallback: the model asked instead when a reply is still unusable after the
            repairs (the offline planner: its tool call or templated answer); without one
            :class:`JsonToolCallingError` is raised.
        tool_rounds: how many steps of a turn may call a tool (default 1); after them the
            reply schema allows only the final answer. Small models otherwise keep calling
            unrelated tools (3.2 round trips a question, up to 8, in the first real runs);
            with one round a question costs two round trips: the call, then the answer.
        planner_first: who makes the first step of a turn (``fallback`` needed for
            anything but ``"never"``). ``"never"``: the inner model. ``"always"``: the
            offline planner — its tool calls, or its reply when nothing fits — and the
            inner model only writes the answer from the results. ``"placed"``: the planner
            when it placed the question (tool calls, a clarifying question, a refusal);
            the inner model chooses a tool only for a question the planner could not
            place, and its answer without any tool is replaced by the planner's reply (it
            states no figure from a tool). A 1.5B model picked the right tool in 5 of 40
            test questions on its own; the planner in 40 of 40, so a small model never
            picks a worse tool than the planner.
        constrain_arguments: when true (default) the schema has one branch per tool
            whose ``arguments`` is that tool's own argument schema, so constrained
            decoding also guarantees well-formed arguments; when false ``arguments``
            is any object and ``tool`` an enum of all tool names.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    max_repairs: int = 1
    tool_rounds: int = 1
    planner_first: PlannerFirst = "never"
    constrain_arguments: bool = True
    fallback: BaseChatModel | None = None
    tool_specs: list[dict[str, Any]] = Field(default_factory=list)
    tool_objects: dict[str, BaseTool] = Field(default_factory=dict, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "json-tool-calling"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"inner": getattr(self.inner, "_llm_type", type(self.inner).__name__)}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Return a copy that offers ``tools``; the inner model's ``bind_tools`` is not used."""
        specs: list[dict[str, Any]] = []
        objects: dict[str, BaseTool] = {}
        for tool in tools:
            function = convert_to_openai_tool(tool)["function"]
            parameters = function.get("parameters") or {"type": "object"}
            schema = getattr(tool, "args_schema", None)
            if isinstance(tool, BaseTool) and isinstance(schema, type):
                # Every enum kept: the reply schema constrains decoding to valid values.
                parameters = compact_schema(schema)
            specs.append(
                {
                    "name": function["name"],
                    "description": function.get("description", ""),
                    "parameters": parameters,
                }
            )
            if isinstance(tool, BaseTool):
                objects[function["name"]] = tool
        return self.model_copy(update={"tool_specs": specs, "tool_objects": objects})

    # -- what the inner model is asked -------------------------------------------------

    @property
    def tool_names(self) -> list[str]:
        """Names of the bound tools, in binding order."""
        return [spec["name"] for spec in self.tool_specs]

    def reply_schema(self, final_only: bool = False) -> dict[str, Any]:
        """The JSON schema every reply must match (``final_only``: no more tool calls)."""
        final = {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["final_answer"]},
                "answer": {"type": "string"},
            },
            "required": ["action", "answer"],
            "additionalProperties": False,
        }
        if not self.tool_specs or final_only:
            return final
        if self.constrain_arguments:
            calls = [
                _call_branch([spec["name"]], _nullable_optionals(spec["parameters"]))
                for spec in self.tool_specs
            ]
        else:
            calls = [_call_branch(self.tool_names, {"type": "object"})]
        return {"anyOf": [*calls, final]}

    def response_format(self, final_only: bool = False) -> dict[str, Any]:
        """The OpenAI ``response_format`` carrying :meth:`reply_schema`."""
        schema = self.reply_schema(final_only)
        return {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": schema, "strict": False},
        }

    def instructions(self) -> str:
        """The system instruction describing the tools and the reply format.

        Each tool is one line, ``name(arguments): description``; arguments that most
        tools share with the same schema (the window and filters) are listed once.
        """
        if not self.tool_specs:
            return _INSTRUCTIONS.format(shared="", tools=_NO_TOOLS)
        shared = _shared_arguments(self.tool_specs)
        lines = []
        for spec in self.tool_specs:
            props = spec["parameters"].get("properties", {})
            required = set(spec["parameters"].get("required", []))
            scoped = bool(shared) and all(props.get(n) == p for n, p in shared.items())
            args = [
                _argument_text(name, prop, name in required)
                for name, prop in props.items()
                if not (scoped and name in shared)
            ]
            if scoped:
                args.insert(0, "scope")
            lines.append(f"- {spec['name']}({', '.join(args)}): {spec['description'].strip()}")
        shared_text = ""
        if shared:
            listed = "; ".join(_argument_text(n, p, False) for n, p in shared.items())
            shared_text = _SHARED.format(arguments=listed)
        return _INSTRUCTIONS.format(shared=shared_text, tools="\n".join(lines))

    def render(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """Rewrite a tool-calling conversation as plain system/user/assistant text."""
        calls: dict[str, dict[str, Any]] = {}
        out: list[BaseMessage] = []
        system_parts: list[str] = []
        pending_results: list[str] = []

        def flush_results() -> None:
            if pending_results:
                out.append(HumanMessage(content="\n\n".join(pending_results)))
                pending_results.clear()

        for message in messages:
            if isinstance(message, ToolMessage):
                call = calls.get(message.tool_call_id, {})
                pending_results.append(_render_tool_result(message, call))
                continue
            flush_results()
            if isinstance(message, SystemMessage):
                system_parts.append(message.text)
            elif isinstance(message, AIMessage):
                for tool_call in message.tool_calls:
                    calls[tool_call["id"] or ""] = dict(tool_call)
                out.append(AIMessage(content=_render_ai(message)))
            else:
                out.append(HumanMessage(content=message.text))
        flush_results()
        # The tool list first: it is the same for every question, so a server that caches
        # prompts reuses it even when the system prompt's as-of or scope changes.
        system_parts.insert(0, self.instructions())
        return [SystemMessage(content="\n\n".join(p for p in system_parts if p)), *out]

    # -- what comes back ---------------------------------------------------------------

    def parse(self, text: str) -> AIMessage:
        """Turn one reply into an ``AIMessage`` (tool call or final answer).

        Raises:
            _ReplyError: the reply is unusable; the message explains why.
        """
        obj = _load_json_object(text)
        action = obj.get("action")
        if action is None:
            action = "call_tool" if "tool" in obj else "final_answer" if "answer" in obj else None
        if action == "final_answer":
            answer = obj.get("answer")
            if answer is None:
                raise _ReplyError('a final_answer needs an "answer" string')
            if not isinstance(answer, str):
                answer = json.dumps(answer, ensure_ascii=False)
            return AIMessage(content=answer)
        if action != "call_tool":
            raise _ReplyError(f'"action" must be "call_tool" or "final_answer", got {action!r}')
        name = obj.get("tool")
        if name not in self.tool_names:
            choices = ", ".join(self.tool_names) or "none"
            raise _ReplyError(f"unknown tool {name!r}; choose one of: {choices}")
        args = obj.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as err:
                raise _ReplyError(f'"arguments" for {name} is not a JSON object: {err}') from None
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise _ReplyError(f'"arguments" for {name} must be a JSON object')
        # Small models fill every argument they are shown: null or "" means "not given".
        args = {k: v for k, v in args.items() if v is not None and v != ""}
        self._validate_arguments(name, args)
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        return AIMessage(
            content="",
            tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}],
        )

    def _validate_arguments(self, name: str, args: dict[str, Any]) -> None:
        tool = self.tool_objects.get(name)
        schema = tool.args_schema if tool is not None else None
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            try:
                schema.model_validate(args)
            except ValidationError as err:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                    for e in err.errors()
                )
                raise _ReplyError(f"invalid arguments for {name}: {problems}") from None
            return
        spec = next(s for s in self.tool_specs if s["name"] == name)
        missing = [key for key in spec["parameters"].get("required", []) if key not in args]
        if missing:
            raise _ReplyError(f"invalid arguments for {name}: missing {', '.join(missing)}")

    # -- the turn ----------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        planned: AIMessage | None = None
        first = _tool_rounds(messages) == 0
        if first and self.fallback is not None and self.planner_first != "never":
            planned = self._planner_step(messages)
            outcome = planned.response_metadata.get("planner", {}).get("outcome")
            if self.planner_first == "always" or outcome != "unsupported":
                return ChatResult(generations=[ChatGeneration(message=planned)])
        conversation = self.render(messages)
        final_only = _tool_rounds(messages) >= self.tool_rounds
        if final_only:  # said after the results, where a small model reads it last
            last = conversation[-1]
            if isinstance(last, HumanMessage):
                conversation[-1] = HumanMessage(content=f"{last.text}\n\n{_ANSWER_NOW}")
            else:
                conversation.append(HumanMessage(content=_ANSWER_NOW))
        response_format = self.response_format(final_only)
        usage: UsageMetadata | None = None
        reply_text = ""
        problem = ""
        for attempt in range(self.max_repairs + 1):  # noqa: B007 (counted below)
            # Same as inner.bind(response_format=...).invoke(...), but with the callbacks
            # cut off (a binding would merge the graph's back in): the raw JSON must not
            # leak into token streams, and the request need not stream.
            try:
                reply = self.inner.invoke(
                    conversation, {"callbacks": []}, response_format=response_format
                )
            except Exception as exc:
                if type(exc).__name__ != "LengthFinishReasonError":  # openai's, not imported
                    raise
                problem = _TOKEN_LIMIT  # not repaired: asked again, it would ramble as long
                break
            if isinstance(reply, AIMessage) and reply.usage_metadata:
                usage = add_usage(usage, reply.usage_metadata)
            reply_text = reply.text if isinstance(reply, BaseMessage) else str(reply)
            try:
                message = self.parse(reply_text)
            except _ReplyError as err:
                problem = str(err)
                if _cut_off(reply):  # not repaired either
                    problem = f"{_TOKEN_LIMIT}: {problem}"
                    break
                conversation = [
                    *conversation,
                    AIMessage(content=reply_text),
                    HumanMessage(content=_repair_prompt(problem)),
                ]
                continue
            if planned is not None and not message.tool_calls:
                # Not placed by the planner, and the model answers without any figure from
                # a tool: the planner's reply (what it can answer instead) says more.
                message = planned.model_copy(
                    update={"response_metadata": {**planned.response_metadata,
                                                  "model_answer": message.text}}
                )  # fmt: skip
            elif isinstance(reply, BaseMessage):
                message.response_metadata = dict(reply.response_metadata)
            if message.tool_calls and planned is not None:
                message = self._asked_only(message, messages, planned)
            if usage is not None:
                message.usage_metadata = usage
            return ChatResult(generations=[ChatGeneration(message=message)])
        attempts = attempt + 1
        if self.fallback is not None:
            log.warning(
                "unusable model reply after %d attempts (%s); using the fallback's step",
                attempts,
                problem,
            )
            step = planned or self._planner_step(messages)
            message = step.model_copy(
                update={
                    "usage_metadata": usage,
                    "response_metadata": {**step.response_metadata, "problem": problem,
                                          "fallback": getattr(self.fallback, "_llm_type", "")},
                }
            )  # fmt: skip
            return ChatResult(generations=[ChatGeneration(message=message)])
        raise JsonToolCallingError(
            f"the model's reply could not be used after {attempts} attempts: {problem}", reply_text
        )

    @staticmethod
    def _asked_only(
        message: AIMessage, messages: list[BaseMessage], planned: AIMessage
    ) -> AIMessage:
        """The model's tool calls without the filter values the question never mentions.

        A small model fills every argument it is shown ("owner": "default", a partner
        type nobody asked about); such a filter narrows the figures to a different
        question or fails the call. Kept next to the calls: what was dropped, and the
        planner's reply for a question it could not place (said instead when every
        call fails)."""
        question = _question_text(messages)
        dropped: dict[str, Any] = {}
        calls = []
        for call in message.tool_calls:
            args = dict(call["args"])
            for name in _NAMED_ARGUMENTS & set(args):
                kept = mentioned(args[name], question)
                if kept != args[name]:
                    dropped[name] = args[name]
                    if kept in (None, []):
                        del args[name]
                    else:
                        args[name] = kept
            calls.append({**call, "args": args})
        metadata = dict(message.response_metadata)
        if dropped:
            metadata["dropped_arguments"] = dropped
        metadata["planner_reply"] = planned.text
        return message.model_copy(update={"tool_calls": calls, "response_metadata": metadata})

    def _planner_step(self, messages: list[BaseMessage]) -> AIMessage:
        """The fallback's (the offline planner's) step, marked as planned by it."""
        assert self.fallback is not None
        step = self.fallback.invoke(messages, {"callbacks": []})
        return AIMessage(
            content=step.content,
            tool_calls=list(getattr(step, "tool_calls", []) or []),
            response_metadata={**dict(step.response_metadata), "plan": "offline planner"},
        )


_ANSWER_NOW = (
    'Give the final answer now, {"action": "final_answer", "answer": "..."}, using only the '
    "figures in the tool results above."
)


_NAMED_ARGUMENTS = frozenset(argument_names(FilterParams)) | {"name", "text"}
"""Arguments whose values are names or filter values, which the question must mention."""


def _question_text(messages: Sequence[BaseMessage]) -> str:
    """The text of the turn's question (the last user message)."""
    return next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")


def mentioned(value: Any, question: str) -> Any:
    """``value`` (or the items of a list) that ``question`` mentions: a word of four
    letters or more in common, or the start of one ("reseller" in "resellers")."""
    if isinstance(value, list):
        return [item for item in value if mentioned(item, question) is not None]
    words = re.findall(r"[a-z0-9]+", fold(question))
    tokens = [
        t for t in re.findall(r"[a-z0-9]+", fold(str(value).replace("_", " "))) if len(t) >= 4
    ]
    hit = any(w == t or (len(w) >= 4 and (w.startswith(t) or t.startswith(w)))
              for t in tokens for w in words)  # fmt: skip
    return value if hit else None


_TOKEN_LIMIT = "the reply hit the token limit (PORTALPULSE_MAX_TOKENS)"


def _cut_off(reply: object) -> bool:
    """Whether the server stopped the reply at the token limit (``PORTALPULSE_MAX_TOKENS``)."""
    metadata = getattr(reply, "response_metadata", None) or {}
    return metadata.get("finish_reason") == "length"


def _tool_rounds(messages: Sequence[BaseMessage]) -> int:
    """Steps of the current turn (since the last user message) that called tools."""
    rounds = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage) and message.tool_calls:
            rounds += 1
    return rounds


def _shared_arguments(specs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Arguments that more than half of the tools (and at least three) take with the same
    schema, in first-seen order."""
    seen: dict[str, list[Any]] = {}
    for spec in specs:
        for name, prop in spec["parameters"].get("properties", {}).items():
            seen.setdefault(name, []).append(prop)
    return {
        name: props[0]
        for name, props in seen.items()
        if len(props) >= 3 and len(props) * 2 > len(specs) and all(p == props[0] for p in props)
    }


def _argument_text(name: str, prop: dict[str, Any], required: bool) -> str:
    """``name: a|b|c`` for an enum, ``name: integer`` for a typed value; ``*`` if required."""
    mark = "*" if required else ""
    if "enum" in prop:
        return f"{name}{mark}: {'|'.join(str(v) for v in prop['enum'])}"
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = "|".join(str(k) for k in kind if k != "null")
    return f"{name}{mark}: {kind}" if kind else f"{name}{mark}"


def _nullable_optionals(parameters: dict[str, Any]) -> dict[str, Any]:
    """The arguments schema with every optional argument allowed to be ``null``.

    Under constrained decoding a small model tends to write every argument it was
    shown; without a ``null`` choice an optional enum forces it to pick a value (a
    filter nobody asked for). ``null`` and ``""`` are dropped when the reply is parsed.
    """
    required = set(parameters.get("required", []))
    properties = {}
    for name, prop in parameters.get("properties", {}).items():
        if name not in required:
            prop = {"anyOf": [prop, {"type": "null"}]}
        properties[name] = prop
    return {**parameters, "properties": properties}


def _call_branch(names: list[str], arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["call_tool"]},
            "tool": {"type": "string", "enum": names},
            "arguments": arguments,
        },
        "required": ["action", "tool", "arguments"],
        "additionalProperties": False,
    }


def _render_ai(message: AIMessage) -> str:
    if message.tool_calls:
        return "\n".join(
            json.dumps(
                {"action": "call_tool", "tool": call["name"], "arguments": call["args"]},
                ensure_ascii=False,
            )
            for call in message.tool_calls
        )
    return json.dumps({"action": "final_answer", "answer": message.text}, ensure_ascii=False)


def _render_tool_result(message: ToolMessage, call: dict[str, Any]) -> str:
    name = message.name or call.get("name") or "tool"
    args = json.dumps(call.get("args", {}), ensure_ascii=False, sort_keys=True)
    if message.status == "error":
        return f"Tool {name} {args} failed:\n{message.text}"
    return f"Result of tool {name} {args}:\n{compact_result(message.text)}"


_NOT_FOR_THE_MODEL = ("ms",)
"""Envelope keys the model has no use for (the tool's own timing)."""


def compact_result(text: str) -> str:
    """A JSON tool result without nulls, empty values and timing, in compact separators:
    small models read prompts slowly, and a table result is most of a question's prompt.
    Text that is not JSON is returned as it is."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text

    def prune(value: Any) -> Any:
        if isinstance(value, dict):
            kept = {k: prune(v) for k, v in value.items() if k not in _NOT_FOR_THE_MODEL}
            return {k: v for k, v in kept.items() if v not in (None, [], {}, "")}
        if isinstance(value, list):
            return [prune(v) for v in value]
        return value

    return json.dumps(prune(data), ensure_ascii=False, separators=(",", ":"))


def _repair_prompt(problem: str) -> str:
    return (
        f"Your previous reply could not be used: {problem}. "
        "Reply again with only one JSON object in the required format."
    )


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _load_json_object(text: str) -> dict[str, Any]:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body.startswith("{") and "{" in body and "}" in body:
        body = body[body.index("{") : body.rindex("}") + 1]
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as err:
        raise _ReplyError(
            f"the reply is not valid JSON ({err.msg} at position {err.pos})"
        ) from None
    if not isinstance(obj, dict):
        raise _ReplyError("the reply must be a JSON object")
    return obj
