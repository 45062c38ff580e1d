"""Chat models for each provider, behind one function.

``openai`` covers OpenAI itself and every OpenAI-compatible server (vLLM, Ollama,
llama.cpp's server, ...) through ``OPENAI_BASE_URL``. Transient failures are left
to the openai SDK's own retry: it retries connection errors, timeouts and HTTP
408/409/429/5xx up to ``max_retries`` times with exponential backoff (0.5 s, 1 s,
2 s, ... capped at 8 s, minus up to 25 % jitter) and honours ``Retry-After`` /
``retry-after-ms`` headers up to 60 s. ``offline`` is the deterministic planner
passed in by the caller.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from assistant.json_tools import JsonToolCalling, PlannerFirst
from assistant.settings import Settings


def chat_model(
    settings: Settings,
    offline_model: BaseChatModel | None = None,
    **openai_kwargs: Any,
) -> BaseChatModel:
    """Return the chat model ``settings`` ask for.

    Args:
        settings: provider, model, endpoint, timeout and retry settings.
        offline_model: the offline planner; required when ``settings.provider`` is
            ``"offline"``, ignored otherwise.
        **openai_kwargs: extra ``ChatOpenAI`` arguments (e.g. ``http_client`` in tests).

    With ``settings.tool_calling == "json"`` an ``openai`` model is wrapped in
    :class:`~assistant.json_tools.JsonToolCalling`: the offline planner (when given)
    makes the first step of every question it places, the model chooses a tool (under a
    JSON schema) only for the others and writes every answer, and the planner takes a
    step whose reply stays unusable. With ``"planner"`` the offline planner makes the
    first step of every question (its tool calls, or its templated reply) and the model
    only writes the answer from the results. The offline planner emits native tool calls
    and is never wrapped.
    """
    if settings.provider == "offline":
        if offline_model is None:
            raise ValueError("provider 'offline' needs the offline planner (offline_model)")
        return offline_model
    model = openai_chat_model(settings, **openai_kwargs)
    if settings.tool_calling == "json":
        first: PlannerFirst = "placed" if offline_model is not None else "never"
        return JsonToolCalling(inner=model, fallback=offline_model, planner_first=first)
    if settings.tool_calling == "planner":
        if offline_model is None:
            raise ValueError("tool calling 'planner' needs the offline planner (offline_model)")
        return JsonToolCalling(inner=model, fallback=offline_model, planner_first="always")
    return model


def openai_chat_model(settings: Settings, **kwargs: Any) -> BaseChatModel:
    """A ``ChatOpenAI`` on the Chat Completions API, configured from ``settings``.

    Streams when the caller streams (``.stream()`` or LangGraph's ``messages`` mode),
    and asks for token usage in streams too (``stream_options.include_usage``).
    """
    from langchain_openai import ChatOpenAI

    options: dict[str, Any] = {
        "model": settings.model,
        "base_url": settings.base_url,
        "api_key": settings.api_key,
        "timeout": settings.timeout_s,
        "max_retries": settings.max_retries,
        "stream_usage": True,
        # OpenAI-compatible servers speak Chat Completions, not the Responses API.
        "use_responses_api": False,
    }
    if settings.max_tokens is not None:
        options["max_tokens"] = settings.max_tokens
    options.update(kwargs)
    return ChatOpenAI(**options)
