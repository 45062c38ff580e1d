"""Assistant settings, read from the environment.

Every knob of the agent loop lives here, typed and validated once at start-up.
A bad value raises :class:`SettingsError` whose message names the environment
variable to fix, e.g. ``PORTALPULSE_TIMEOUT_S must be a positive number, got 'abc'``.

Environment variables:

==============================  ===============================================
``PORTALPULSE_PROVIDER``        ``offline`` or ``openai``; default ``openai`` when
                                ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set,
                                else ``offline``
``PORTALPULSE_MODEL``           model name, default ``gpt-4o-mini``
``OPENAI_BASE_URL``             any OpenAI-compatible server (vLLM, Ollama,
                                llama.cpp, ...); default: OpenAI itself
``OPENAI_API_KEY``              API key; ``not-needed`` is used for a
                                ``OPENAI_BASE_URL`` without a key
``PORTALPULSE_TOOL_CALLING``    ``native`` (default), ``json`` (for small models:
                                the offline planner's tools for every question it
                                places, a schema-constrained JSON tool choice for the
                                others, the model's answers) or ``planner`` (the
                                planner's tools for every question, the model's
                                answers): a small model never picks worse
``PORTALPULSE_TIMEOUT_S``       seconds per model request, default 30
``PORTALPULSE_MAX_RETRIES``     retries per model request (429/5xx/timeouts), default 3
``PORTALPULSE_MAX_TOOL_CALLS``  tool calls per question, default 6
``PORTALPULSE_DEADLINE_S``      seconds for a whole question, default 60
``PORTALPULSE_MAX_TOKENS``      most tokens a model may write in one reply; default:
                                the server's own limit
==============================  ===============================================
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Provider = Literal["offline", "openai"]
ToolCalling = Literal["native", "json", "planner"]

PROVIDERS: tuple[str, ...] = ("offline", "openai")
TOOL_CALLING_MODES: tuple[str, ...] = ("native", "json", "planner")
DUMMY_API_KEY = "not-needed"


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    """Typed, validated assistant settings (immutable; use :func:`dataclasses.replace`)."""

    provider: Provider = "offline"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    tool_calling: ToolCalling = "native"
    timeout_s: float = 30.0
    max_retries: int = 3
    max_tool_calls: int = 6
    deadline_s: float = 60.0
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        """Validate every field; messages name the matching environment variable."""
        if self.provider not in PROVIDERS:
            _fail("PORTALPULSE_PROVIDER", f"must be one of {', '.join(PROVIDERS)}", self.provider)
        if self.tool_calling not in TOOL_CALLING_MODES:
            _fail(
                "PORTALPULSE_TOOL_CALLING",
                f"must be one of {', '.join(TOOL_CALLING_MODES)}",
                self.tool_calling,
            )
        if not self.model or not self.model.strip():
            _fail("PORTALPULSE_MODEL", "must not be empty", self.model)
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            _fail("OPENAI_BASE_URL", "must be an http:// or https:// URL", self.base_url)
        if not self.timeout_s > 0:
            _fail("PORTALPULSE_TIMEOUT_S", "must be a positive number", self.timeout_s)
        if self.max_retries < 0:
            _fail("PORTALPULSE_MAX_RETRIES", "must be a whole number >= 0", self.max_retries)
        if self.max_tool_calls < 1:
            _fail("PORTALPULSE_MAX_TOOL_CALLS", "must be a whole number >= 1", self.max_tool_calls)
        if not self.deadline_s > 0:
            _fail("PORTALPULSE_DEADLINE_S", "must be a positive number", self.deadline_s)
        if self.max_tokens is not None and self.max_tokens < 1:
            _fail("PORTALPULSE_MAX_TOKENS", "must be a whole number >= 1", self.max_tokens)
        if self.provider == "openai" and not self.api_key and not self.base_url:
            raise SettingsError(
                "OPENAI_API_KEY is required when PORTALPULSE_PROVIDER=openai "
                "(or set OPENAI_BASE_URL to a local OpenAI-compatible server)"
            )
        if self.provider == "openai" and not self.api_key:
            # OpenAI-compatible local servers ignore the key, but the SDK insists on one.
            object.__setattr__(self, "api_key", DUMMY_API_KEY)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``environ`` (default: ``os.environ``), then apply ``overrides``.

        Raises:
            SettingsError: a variable has an invalid value (the message names it).
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        api_key = get("OPENAI_API_KEY")
        base_url = get("OPENAI_BASE_URL")
        default_provider = "openai" if (api_key or base_url) else "offline"
        values: dict[str, Any] = {
            "provider": (get("PORTALPULSE_PROVIDER") or default_provider).lower(),
            "model": get("PORTALPULSE_MODEL") or cls.model,
            "base_url": base_url,
            "api_key": api_key,
            "tool_calling": (get("PORTALPULSE_TOOL_CALLING") or cls.tool_calling).lower(),
            "timeout_s": env_number(get, "PORTALPULSE_TIMEOUT_S", cls.timeout_s, float),
            "max_retries": env_number(get, "PORTALPULSE_MAX_RETRIES", cls.max_retries, int),
            "max_tool_calls": env_number(
                get, "PORTALPULSE_MAX_TOOL_CALLS", cls.max_tool_calls, int
            ),
            "deadline_s": env_number(get, "PORTALPULSE_DEADLINE_S", cls.deadline_s, float),
            "max_tokens": env_number(get, "PORTALPULSE_MAX_TOKENS", None, int),
        }
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def env_number(
    get: Any, name: str, default: Any, kind: type, error: type[ValueError] = SettingsError
) -> Any:
    """The environment variable ``name`` as ``kind``, ``default`` when unset; ``error`` if not."""
    raw = get(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise error(f"{name} must be {what}, got {raw!r}") from None


def _fail(variable: str, rule: str, value: object) -> None:
    raise SettingsError(f"{variable} {rule}, got {value!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Shorthand for :meth:`Settings.from_env`."""
    return Settings.from_env(environ)
