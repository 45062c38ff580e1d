"""The paragraph on top of a digest: written by the model when one is configured, checked
like a chat answer, and templated otherwise.

The model gets the digest's figures as JSON (:meth:`DigestContent.facts`) and is
asked for a short paragraph; :func:`assistant.grounding.check` then requires every
number it states to be one of those figures (or a rounding, percentage or unit
conversion of one). As in chat, a failed check gets one retry with the list of
ungrounded numbers; a second failure, an error or no model at all gives the
templated summary (``prompts/digest/summary.txt.j2``), which is grounded by
construction because it only formats the same figures.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from assistant.answers import render
from assistant.digest.model import DigestContent
from assistant.grounding import check
from assistant.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Summary:
    text: str
    source: str
    """``llm`` or ``template``."""
    grounded: bool
    note: str | None = None
    """Why the template was used when a model was configured."""


def templated(content: DigestContent) -> str:
    """The summary from the template alone: one paragraph."""
    return " ".join(render("digest/summary.txt.j2", c=content).split())


def summarize(
    content: DigestContent,
    settings: Settings | None = None,
    *,
    model: Any = None,
) -> Summary:
    """The summary paragraph; ``model`` (a LangChain chat model) overrides ``settings``."""
    fallback = templated(content)
    if model is None and (settings is None or settings.provider == "offline"):
        return Summary(fallback, "template", True)
    facts = content.facts()
    try:
        if model is None:
            from assistant.providers import openai_chat_model

            model = openai_chat_model(settings)  # type: ignore[arg-type]
        messages: list[tuple[str, str]] = [
            ("system", render("digest/summary_system.j2")),
            ("user", json.dumps(facts, default=str)),
        ]
        for attempt in (1, 2):
            text = _text(model.invoke(messages))
            report = check(text, [facts])
            if report.grounded and text:
                return Summary(text, "llm", True)
            log.info("digest summary attempt %d not grounded: %s", attempt, report.ungrounded)
            messages += [("assistant", text), ("user", report.feedback())]
        note = f"model summary not grounded ({', '.join(report.ungrounded)})"
    except Exception as exc:  # any model failure: the digest still goes out
        note = f"model failed: {type(exc).__name__}: {exc}"[:300]
        log.warning("digest summary: %s", note)
    return Summary(fallback, "template", True, note)


def _text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, list):
        content = " ".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return " ".join(str(content).split())
