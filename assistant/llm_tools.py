"""The metric tools as a language model sees them: short descriptions, compact schemas.

The first request of a question (system prompt + tool schemas + question) must
stay within a small budget (``CONTEXT_BUDGET`` tokens, see ``tests/test_context_budget.py``):
a 1.5B model on two CPU cores reads prompts at 13–50 tokens/s, and a hosted model
bills every token of every question. So the model is given

* one short line per tool (:data:`DESCRIPTIONS`, or the first sentence of the tool's
  own description for a tool not listed there);
* an argument schema generated from the tool's pydantic model with only what
  constrains a call: types, enums, ``required`` — no titles, no ``null`` branches, no
  per-field prose (the conventions shared by every tool — dates, names, windows —
  are stated once in ``prompts/system.j2``).

The tools keep their full pydantic models for validation: a call the compact
schema lets through but the model rejects comes back as an ``invalid`` envelope
the model can react to. Definitions are not inlined anywhere; ``define_metric``
looks them up in the glossary when asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from metrics.semantic.vocabulary import PARTNER_TYPES, PROJECT_STATUSES, REGISTRY

__all__ = [
    "CONTEXT_BUDGET",
    "DESCRIPTIONS",
    "CompactTool",
    "compact_schema",
    "compact_tools",
    "request_prompt",
    "shared_enums",
]

CONTEXT_BUDGET = 3000
"""Tokens allowed for the first request of a question, in every tool-calling mode."""

DESCRIPTIONS: dict[str, str] = {
    "query_metrics": "Any measures by any dimensions over a window, with where conditions, "
    "sort and limit; for grouped or filtered figures (logins per owner, accounts with > 5 "
    "overdue tasks).",
    "get_kpis": "Window totals: invites_sent, logins, sessions (visits), tasks_completed, "
    "avg_session_seconds, unique_users, page_views, actions; with the previous period and % "
    "change.",
    "get_trends": "KPI series per day, week or month over a window (is X going up?).",
    "list_projects": "Per project: invited, logged_in, sessions, avg_session_seconds, "
    "last_visit, tasks completed/assigned/unassigned/overdue. Lowest engagement: sort sessions, "
    "descending false.",
    "list_users": "Per invited user: invited_at, first_login, last_visit, logins, sessions, "
    "tasks_completed, open tasks.",
    "get_summary": "Projects in scope: count, invites_sent, logins, unassigned and overdue tasks.",
    "get_leaderboard": "Partners ranked by score (40% sessions, 30% users, 20% page views, "
    "10% duration), with why.",
    "get_top_content": "Most viewed resources and rooms.",
    "get_adoption": "DAU/WAU/MAU, stickiness, feature use per action, mobile share, by role, "
    "activation, self-service rate, tickets after portal, deflection savings, ROI %.",
    "get_risks": "Risk signals with their numbers and next steps; project health and risk level.",
    "find_never_logged_in": "Invited users who never logged in, with counts per project and "
    "account.",
    "find_inactive_users": "Drifting users: visited before, but not in the last N days.",
    "get_profile": "One project, account, partner or user: owner, status, KPIs, invites, "
    "last visit, tasks, risks.",
    "define_metric": "What a metric or term means and how it is computed.",
    "search_entities": "Find projects, accounts, partners, users or owners by part of a name.",
}

_DROP = {"title", "default", "description", "additionalProperties"}
_ONE_OR_MANY = {name for name, f in REGISTRY.filters.items() if f.many}
"""Repeatable filters (accounts, projects, statuses): a single value is accepted too, so the
model is shown a plain string."""


def _first_sentence(text: str) -> str:
    head = re.split(r"(?<=[.:])\s", text.strip(), maxsplit=1)[0]
    return head.rstrip(":")


def _compact_property(prop: dict[str, Any]) -> dict[str, Any]:
    """One property without prose and without the ``null`` branch of an optional field."""
    options = prop.get("anyOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            prop = {**prop, **kept[0]}
            prop.pop("anyOf")
    out = {k: v for k, v in prop.items() if k not in _DROP}
    if "enum" in out:
        out.pop("type", None)  # the values say it
    if "const" in out:
        out = {"enum": [out["const"]]}
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        out.pop(bound, None)  # checked by the tool; a violation comes back as ``invalid``
    out.pop("minItems", None)
    out.pop("maxItems", None)
    if "items" in out and isinstance(out["items"], dict):
        out["items"] = _compact_property(out["items"])
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _compact_property(v) for k, v in out["properties"].items()}
    return out


def compact_schema(
    schema: type[BaseModel] | dict[str, Any], loose: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The JSON schema of a tool's arguments, reduced to what constrains a call.

    Arguments named in ``loose`` become plain strings: their values are listed once in
    the system prompt instead of in every tool (the window names, project statuses).
    """
    full = schema.model_json_schema() if isinstance(schema, type) else dict(schema)
    defs = full.get("$defs", {})

    def deref(prop: dict[str, Any]) -> dict[str, Any]:
        ref = prop.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return {**defs[ref.rsplit("/", 1)[1]], **{k: v for k, v in prop.items() if k != "$ref"}}
        if "anyOf" in prop:
            return {**prop, "anyOf": [deref(o) for o in prop["anyOf"]]}
        if isinstance(prop.get("items"), dict):
            return {**prop, "items": deref(prop["items"])}
        return prop

    properties = {
        name: _loose(_compact_property(deref(prop))) if name in loose
        else _compact_property(deref(prop))
        for name, prop in full.get("properties", {}).items()
    }  # fmt: skip
    for name in _ONE_OR_MANY & set(properties):
        if properties[name].get("type") == "array":  # the model names one; the tool takes a list
            properties[name] = properties[name].get("items") or {"type": "string"}
    _list_enums_once(properties, set())
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if full.get("required"):
        out["required"] = list(full["required"])
    return out


def _enum_of(prop: dict[str, Any]) -> list[Any] | None:
    """The values of an enum argument, or of a list of them (``status`` repeats)."""
    if "enum" in prop:
        return list(prop["enum"])
    items = prop.get("items")
    return list(items["enum"]) if isinstance(items, dict) and "enum" in items else None


def _loose(prop: dict[str, Any]) -> dict[str, Any]:
    """A plain string (or a list of them) in place of an enum listed in the system prompt."""
    return {"type": "array", "items": {"type": "string"}} if "items" in prop else {"type": "string"}


def _list_enums_once(node: Any, seen: set[tuple[str, ...]]) -> None:
    """An enum met again later in the same schema becomes a plain string (the model has
    read its values once; the tool still validates them): ``query_metrics`` names the
    measures for ``measures``, ``sort`` and each ``where`` condition."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if isinstance(value, dict) and "enum" in value:
                values = tuple(str(v) for v in value["enum"])
                if len(values) > 4 and values in seen:
                    node[key] = {"type": "string"}
                    continue
                seen.add(values)
            _list_enums_once(value, seen)
    elif isinstance(node, list):
        for item in node:
            _list_enums_once(item, seen)


class CompactTool(StructuredTool):
    """A tool whose model-facing schema is :func:`compact_schema` of its pydantic model;
    calls are still validated against the full model."""

    loose: frozenset[str] = frozenset()
    """Arguments sent as plain strings (see :func:`compact_schema`)."""

    @property
    def tool_call_schema(self) -> dict[str, Any]:  # type: ignore[override]
        """The compact argument schema (what ``bind_tools`` sends to the model)."""
        assert self.args_schema is not None
        return compact_schema(self.args_schema, self.loose)  # type: ignore[arg-type]


def prompt_vocabulary() -> dict[str, tuple[str, ...]]:
    """The values that compact schemas send as plain strings, for ``prompts/system.j2``
    to list once: named ranges, project statuses, partner types (from the registry)."""
    return {
        "ranges": tuple(REGISTRY.ranges),
        "statuses": PROJECT_STATUSES,
        "partner_types": PARTNER_TYPES,
    }


def compact_tools(tools: Sequence[BaseTool]) -> list[BaseTool]:
    """``tools`` with short descriptions and compact schemas (others are left as they are).

    An enum argument that more than half of the tools share (``range``, ``status``) is
    sent as a plain string; ``prompts/system.j2`` lists its values once.
    """
    loose = shared_enums(tools)
    out: list[BaseTool] = []
    for tool in tools:
        if not isinstance(tool, StructuredTool) or tool.args_schema is None:
            out.append(tool)
            continue
        out.append(
            CompactTool(
                name=tool.name,
                description=DESCRIPTIONS.get(tool.name) or _first_sentence(tool.description),
                args_schema=tool.args_schema,
                loose=loose,
                func=tool.func,
                coroutine=tool.coroutine,
                response_format=tool.response_format,
                handle_tool_error=tool.handle_tool_error,
                handle_validation_error=tool.handle_validation_error,
            )
        )
    return out


def shared_enums(tools: Sequence[BaseTool]) -> frozenset[str]:
    """Enum arguments that more than half of ``tools`` take with the same values."""
    seen: dict[str, list[Any]] = {}
    for tool in tools:
        schema = tool.args_schema
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            continue
        for name, prop in compact_schema(schema)["properties"].items():
            values = _enum_of(prop)
            if values is not None:
                seen.setdefault(name, []).append(values)
    return frozenset(
        name
        for name, enums in seen.items()
        if len(enums) * 2 > len(tools) and all(e == enums[0] for e in enums)
    )


def request_prompt(body: dict[str, Any]) -> str:
    """The text a ChatML chat template (Qwen, llama.cpp's ``--jinja``) makes of an OpenAI
    Chat Completions request body: the tool schemas (as JSON lines in the system turn),
    then every message. Count its tokens to know what a request costs; a
    ``response_format`` schema is left out (servers turn it into a grammar, not prompt)."""
    parts = []
    tools = body.get("tools") or []
    messages = list(body.get("messages") or [])
    system = ""
    if messages and messages[0].get("role") == "system":
        system = _text(messages.pop(0).get("content"))
    if tools:
        listed = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
        system = f"{system}\n\n# Tools\n<tools>\n{listed}\n</tools>"
    if system:
        parts.append(f"<|im_start|>system\n{system}<|im_end|>\n")
    for message in messages:
        parts.append(f"<|im_start|>{message.get('role')}\n{_text(message.get('content'))}")
        for call in message.get("tool_calls") or []:
            parts.append(f"\n<tool_call>\n{json.dumps(call.get('function', call))}\n</tool_call>")
        parts.append("<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)
