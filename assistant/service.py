"""One question, end to end — the function behind ``portalpulse ask`` and ``POST /api/ask``.

    question → conversation memory → tools bound to the caller's workspace
             → agent loop (offline planner or an OpenAI-compatible model)
             → grounding check (retry once with feedback, else the templated answer)
             → completeness check (a model's answer keeps the templated answer's
               headline figures and names, else the templated answer)
             → coverage check (every mention of the question used, else say which not)
             → stored turn → AskResult

Nothing here raises for a model failure: the question is stored with a
fallback answer built from whatever the tools returned, and ``error`` says
what went wrong. A repeated ``request_id`` returns the stored turn.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import ValidationError
from sqlalchemy import Engine, select

from assistant.agent import Agent, AgentError, AgentRun
from assistant.answers import compose, render
from assistant.completeness import missing_from
from assistant.coverage import check_coverage
from assistant.grounding import check
from assistant.llm_tools import prompt_vocabulary
from assistant.memory import ConversationStore, DuplicateRequest
from assistant.planner.entities import EntityIndexCache, entity_names
from assistant.planner.model import OfflinePlanner
from assistant.planner.parse import parse
from assistant.planner.plan import Planner, seed_examples
from assistant.planner.route import KPI_MEASURES
from assistant.providers import chat_model
from assistant.settings import Settings, load_settings
from assistant.vectorstore import Example, GlossaryEntry, VectorStore
from metrics.app_models import Feedback
from metrics.scope import ScopeError, parse_as_of
from metrics.semantic.params import FilterParams
from tools import ToolContext, build_tools
from tools.glossary import entries as glossary_entries

MAX_QUESTION = 2000
AGENT_CACHE = 32


class QuestionError(ValueError):
    """The question itself is unusable (empty, too long)."""


@dataclass
class AskResult:
    answer: str
    grounded: bool
    conversation_id: str
    tool_calls: list[dict[str, Any]]
    data: list[dict[str, Any]]
    message_seq: int = 0
    provider: str = "offline"
    round_trips: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    latency_ms: float = 0.0
    grounding: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    replayed: bool = False
    checks: dict[str, Any] = field(default_factory=dict)
    """``grounded`` (numbers from the tools), ``covered`` (every mention of the question
    used by a tool call) and ``unused`` (the mentions that were not)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def store_path_for(engine: Engine) -> Path:
    """The vector store folder: beside a SQLite file, else ``.portalpulse-chroma``."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        return Path(f"{database}.chroma")
    return Path(".portalpulse-chroma")


class Assistant:
    """Shared per process: the vector store, entity names and memory."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings | None = None,
        store: VectorStore | None = None,
        store_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or load_settings()
        self.store = store or VectorStore(store_dir or store_path_for(engine))
        self.store.ensure(
            [GlossaryEntry(id=f"g{i}", term=e["term"], text=e["text"]) for i, e in
             enumerate(glossary_entries())],
            [Example(question=e.question, tool=e.tool, args=e.args) for e in seed_examples()],
        )  # fmt: skip
        self.entities = EntityIndexCache(engine)
        self.memory = ConversationStore(engine)
        self._lock = threading.Lock()
        self._synced: set[int] = set()
        self._agents: dict[tuple[Any, ...], Agent] = {}
        self._restore_feedback()

    def _restore_feedback(self) -> None:
        """Re-add answers people marked right: the store folder is only a cache."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Feedback.workspace_id, Feedback.question, Feedback.tool_calls).where(
                    Feedback.verdict == "right"
                )
            ).all()
        for workspace_id, question, calls in rows:
            for call in json.loads(calls)[:1]:
                self.store.add_example(question, call["name"], call["args"], str(workspace_id))

    def _sync_entities(self, workspace_id: int) -> None:
        """Project, account, partner and member names into the store, once per process."""
        with self._lock:
            if workspace_id in self._synced:
                return
            self._synced.add(workspace_id)
        with self.engine.connect() as conn:
            names = entity_names(conn, workspace_id)
        self.store.sync_entities(str(workspace_id), names)

    def refresh_entities(self, workspace_id: int) -> None:
        """Names of ``workspace_id`` changed (an upsert over the API): re-read them when
        next asked, instead of waiting for the cache to expire or the process to restart."""
        with self._lock:
            self._synced.discard(workspace_id)
        self.entities.forget(workspace_id)

    def feedback(
        self, workspace_id: int, conversation_id: str, message_seq: int, verdict: str
    ) -> None:
        """Record a verdict; a right answer's question joins the example index."""
        question, calls = self.memory.record_feedback(
            workspace_id, conversation_id, message_seq, verdict
        )
        if verdict == "right" and calls and question:
            self.store.add_example(question, calls[0]["name"], calls[0]["args"], str(workspace_id))

    # -- the model ---------------------------------------------------------------------

    def _model(
        self, settings: Settings, workspace_id: int, today: date, window: dict[str, str]
    ) -> Any:
        planner = OfflinePlanner(
            planner=Planner(self.store, self.entities, workspace_id, today, window)
        )
        return chat_model(settings, offline_model=planner)

    def _agent(
        self,
        settings: Settings,
        workspace_id: int,
        as_of: str | date | datetime | None,
        fixed: dict[str, Any],
        window: dict[str, str] | None = None,
    ) -> Agent:
        """The agent for this provider, workspace, day and scope: built once, then reused
        (compiling the graph costs more than answering a question offline)."""
        instant, today = parse_as_of(as_of)
        key = (
            settings, workspace_id, today, None if as_of is None else str(as_of),
            json.dumps(fixed, sort_keys=True, default=str), json.dumps(window, sort_keys=True),
        )  # fmt: skip
        with self._lock:
            cached = self._agents.pop(key, None)
            if cached is not None:
                self._agents[key] = cached  # most recently used last
                return cached
        ctx = ToolContext(
            self.engine, workspace_id, as_of=as_of, fixed_filters=fixed, store=self.store
        )
        agent = Agent(
            self._model(settings, workspace_id, today, window or {}),
            build_tools(ctx),
            self._system_prompt(instant, fixed, window or {}),
            settings,
        )
        with self._lock:
            self._agents[key] = agent
            while len(self._agents) > AGENT_CACHE:
                self._agents.pop(next(iter(self._agents)))
        return agent

    def _system_prompt(
        self, as_of: datetime, fixed: dict[str, Any], window: dict[str, str] | None = None
    ) -> str:
        return render(
            "system.j2",
            as_of=as_of.isoformat().replace("+00:00", "Z"),
            fixed_filters=fixed,
            default_window=window or {"range": "last_30_days"},
            glossary=glossary_entries(),
            **prompt_vocabulary(),
        )

    def fixed_filters(self, workspace_id: int, filters: dict[str, Any] | None) -> dict[str, Any]:
        """The caller's filters (names or ids, SPEC §3's names) as ids, resolved once and
        strictly here at the boundary; tools only ever compare ids. Raises
        :class:`QuestionError` naming every unknown or ambiguous filter value at once."""
        if not filters:
            return {}
        try:
            params = FilterParams.model_validate(filters)
            with self.engine.connect() as conn:
                return params.resolve_filters(conn, workspace_id)
        except ValidationError as exc:  # every bad value, not the first only
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'filters'}: {e['msg']}"
                for e in exc.errors()
            )
            raise QuestionError(f"filters: {problems}") from None
        except ScopeError as exc:
            raise QuestionError(f"filters: {exc}") from None

    # -- one question ------------------------------------------------------------------

    def ask(
        self,
        workspace_id: int,
        workspace: str,
        question: str,
        *,
        conversation_id: str | None = None,
        as_of: str | date | datetime | None = None,
        filters: dict[str, Any] | None = None,
        request_id: str | None = None,
        provider: str | None = None,
        window: dict[str, str] | None = None,
    ) -> AskResult:
        """Answer ``question``; never raises for a model failure (see module doc).
        ``window``: the page's period (``range`` or ``from``/``to``), used when the
        question names none."""
        events = self.stream(
            workspace_id,
            workspace,
            question,
            conversation_id=conversation_id,
            as_of=as_of,
            filters=filters,
            window=window,
            request_id=request_id,
            provider=provider,
            tokens=False,
        )
        final: AskResult | None = None
        for event in events:
            if event["type"] == "final":
                final = event["result"]
        assert final is not None
        return final

    def stream(
        self,
        workspace_id: int,
        workspace: str,
        question: str,
        *,
        conversation_id: str | None = None,
        as_of: str | date | datetime | None = None,
        filters: dict[str, Any] | None = None,
        request_id: str | None = None,
        provider: str | None = None,
        tokens: bool = True,
        window: dict[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Events: ``tool_call``, ``tool_result``, ``token`` (LLM only), then ``final``."""
        started = time.perf_counter()
        text = " ".join((question or "").split())
        if not text:
            raise QuestionError("the question is empty")
        if len(text) > MAX_QUESTION:
            raise QuestionError(f"the question is longer than {MAX_QUESTION} characters")
        if "\x00" in text:  # PostgreSQL cannot store it; SQLite would: refuse on both
            raise QuestionError("the question contains a NUL character (\\x00)")
        fixed = self.fixed_filters(workspace_id, filters)  # before anything is stored
        if not conversation_id:
            conversation_id = self.memory.start(workspace_id, text, request_id)
        history = self.memory.history(workspace_id, conversation_id)
        if request_id:
            stored = self.memory.find_turn(workspace_id, conversation_id, request_id)
            if stored is not None:
                result = _from_messages(stored.messages, conversation_id, stored.answer_seq)
                result.replayed = True
                yield {"type": "final", "result": result}
                return
        _, today = parse_as_of(as_of)  # a bad as_of fails here, before anything is stored
        settings = self.settings if provider is None else self.settings.replace(provider=provider)
        self._sync_entities(workspace_id)
        agent = self._agent(settings, workspace_id, as_of, fixed, window or {})
        run: AgentRun | None = None
        error: str | None = None
        try:
            for event in agent.stream(text, history):
                if event["type"] == "final":
                    run = event["run"]
                elif event["type"] != "token" or tokens:
                    yield event
        except AgentError as exc:
            error = exc.reason
            run = AgentRun(
                answer="", tool_calls=exc.tool_calls, round_trips=exc.round_trips,
                tokens={}, limited=False, messages=[HumanMessage(text)],
            )  # fmt: skip
        assert run is not None
        result = self._finish(
            agent, run, text, history, conversation_id, settings, error, request_id, workspace_id,
            today,
        )  # fmt: skip
        result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        yield {"type": "final", "result": result}

    def _finish(
        self,
        agent: Agent,
        run: AgentRun,
        question: str,
        history: list[BaseMessage],
        conversation_id: str,
        settings: Settings,
        error: str | None,
        request_id: str | None,
        workspace_id: int,
        today: date,
    ) -> AskResult:
        envelopes = _envelopes(run)
        answer = run.answer
        grounding: dict[str, Any] = {"checked": True}
        report = check(answer, envelopes, question)
        offline = settings.provider == "offline"
        planned = not offline and _planned(run)  # the offline planner chose the calls
        focus = None if offline else _focus(run, question)  # what a model's answer must lead with
        if error is not None or not answer.strip():
            answer = _fallback(question, envelopes, error)
            report = check(answer, envelopes, question)
            grounding["fallback"] = True
        elif not report.grounded and not offline and (planned or settings.tool_calling != "native"):
            # The planner chose the calls, or a small model did behind it: the templated
            # answer at once (a retry would cost a small model another minute, and the
            # planner would read the feedback as a new question).
            grounding["first_attempt"] = report.ungrounded
            answer = _fallback(question, envelopes, None, focus)
            report = check(answer, envelopes, question)
            grounding["replaced"] = True
        elif not report.grounded and not offline:
            grounding["first_attempt"] = report.ungrounded
            feedback = render("grounding_feedback.j2", ungrounded=report.ungrounded)
            try:
                retry = agent.run(feedback, [*history, *run.messages])
                envelopes_retry = envelopes + _envelopes(retry)
                retry_report = check(retry.answer, envelopes_retry, question)
                run.round_trips += retry.round_trips
                if retry_report.grounded and retry.answer.strip():
                    answer, report, envelopes = retry.answer, retry_report, envelopes_retry
                    grounding["retried"] = True
            except AgentError:
                pass
            if not report.grounded:
                answer = _fallback(question, envelopes, None)
                report = check(answer, envelopes, question)
                grounding["replaced"] = True
        if planned and error is None and envelopes and not _good(envelopes):
            # "no account called 'Acme'; did you mean …": the planner's own reply says it
            # best (a model's rewording lost the suggestion or the refusal)
            answer = "\n\n".join(compose(e, question) for e in envelopes)
            report = check(answer, envelopes, question)
            grounding["replaced"] = True
        elif (
            error is None
            and envelopes
            and not _good(envelopes)
            and (unplaced := _planner_reply(run))
        ):
            # The model chose calls for a question the planner could not place, and every
            # one failed ("no team member named 'default'"): what the planner can answer
            # instead says more than the model's account of its own failed calls.
            answer = unplaced
            report = check(answer, envelopes, question)
            grounding["replaced"] = True
        if not offline and error is None and not grounding.get("replaced"):
            reference = _fallback(question, envelopes, None, focus) if _good(envelopes) else ""
            missing = missing_from(answer, reference, question)
            if missing:  # a model may reword the answer, never make it say less
                answer, report = reference, check(reference, envelopes, question)
                grounding.update(replaced=True, incomplete=missing)
        coverage = check_coverage(question, envelopes, self.entities.get(workspace_id), today)
        if coverage.blocking and error is None:
            # Figures that ignore part of the question answer a different one: say what
            # could not be used instead (the figures stay in ``data``).
            answer = render("answers/uncovered.j2", unused=coverage.blocking)
            report = check(answer, envelopes, question)
        messages = _turn_messages(run, question, answer)
        try:
            seq = self.memory.append(workspace_id, conversation_id, messages, request_id)
        except DuplicateRequest as first:  # a concurrent try of this request stored its turn
            result = _from_messages(first.turn.messages, conversation_id, first.turn.answer_seq)
            result.replayed = True
            return result
        return AskResult(
            answer=answer,
            grounded=report.grounded,
            conversation_id=conversation_id,
            tool_calls=[
                {"name": c.name, "args": c.args, "ok": not c.error, "ms": c.duration_ms}
                for c in run.tool_calls
            ],
            data=envelopes,
            message_seq=seq,
            provider=settings.provider,
            round_trips=run.round_trips,
            tokens=run.tokens,
            grounding=grounding,
            error=error,
            checks={"grounded": report.grounded, **coverage.as_dict()},
        )


def _envelopes(run: AgentRun) -> list[dict[str, Any]]:
    """The JSON tool results of a run (errors included: they carry no numbers)."""
    out = []
    for call in run.tool_calls:
        if isinstance(call.result, dict):
            out.append(call.result)
    return out


def _good(envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool results that are figures (not errors)."""
    return [e for e in envelopes if "error" not in e]


def _turn_calls(run: AgentRun) -> list[AIMessage]:
    """The steps of this turn (since its question) that called tools, in order."""
    turn: list[AIMessage] = []
    for message in reversed(run.messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, AIMessage) and message.tool_calls:
            turn.append(message)
    return turn[::-1]


def _planner_calls(run: AgentRun) -> list[AIMessage]:
    """The steps of this turn whose tool calls the offline planner made
    (``PORTALPULSE_TOOL_CALLING=planner`` or ``json``, or its step after an unusable reply)."""
    return [m for m in _turn_calls(run) if m.response_metadata.get("plan") == "offline planner"]


def _planner_reply(run: AgentRun) -> str:
    """The offline planner's reply to this turn's question when it could not place it and
    the model chose the calls instead (``PORTALPULSE_TOOL_CALLING=json``); else ""."""
    calls = _turn_calls(run)
    return str(calls[-1].response_metadata.get("planner_reply") or "") if calls else ""


def _planned(run: AgentRun) -> bool:
    """Whether the offline planner chose this turn's tool calls."""
    return bool(_planner_calls(run))


def _focus(run: AgentRun, question: str) -> str | None:
    """The figure the question asks for: the offline planner's, when it planned the calls,
    else the first KPI measure the question names."""
    for message in _planner_calls(run):
        focus = (message.response_metadata.get("planner") or {}).get("focus")
        if focus:
            return str(focus)
    return next((m for m in parse(question).measures if m in KPI_MEASURES), None)


def _fallback(
    question: str, envelopes: list[dict[str, Any]], error: str | None, focus: str | None = None
) -> str:
    """The templated answer from this turn's tool results, or a plain apology."""
    good = _good(envelopes)
    body = "\n\n".join(compose(e, question, focus) for e in good)
    if error:
        # The reason goes in the response's ``error``: prose states no number a tool didn't.
        head = "The language model is unavailable right now; your question is saved."
        return f"{head}\n\n{body}" if body else f"{head} Please ask again in a moment."
    return body or "I couldn't find figures for that question; please rephrase it."


def _turn_messages(run: AgentRun, question: str, answer: str) -> list[BaseMessage]:
    """The turn as stored: the question, tool calls and results, then the final answer."""
    turn: list[BaseMessage] = []
    started = False
    for message in run.messages:
        if isinstance(message, HumanMessage) and message.content == question:
            started = True
            turn = [message]
            continue
        if started and (isinstance(message, ToolMessage) or (
            isinstance(message, AIMessage) and message.tool_calls
        )):  # fmt: skip
            turn.append(message)
    if not turn:
        turn = [HumanMessage(question)]
    turn.append(AIMessage(answer))
    return turn


def _from_messages(messages: list[BaseMessage], conversation_id: str, seq: int) -> AskResult:
    """An AskResult rebuilt from a stored turn (for a repeated request id)."""
    calls, data = [], []
    for message in messages:
        if isinstance(message, AIMessage):
            calls += [
                {"name": c["name"], "args": c["args"], "ok": True} for c in message.tool_calls
            ]
        if isinstance(message, ToolMessage):
            with contextlib.suppress(TypeError, ValueError):
                data.append(json.loads(message.content))  # type: ignore[arg-type]
    answer = str(messages[-1].content) if messages else ""
    return AskResult(
        answer=answer,
        grounded=check(answer, data, str(messages[0].content) if messages else "").grounded,
        conversation_id=conversation_id,
        tool_calls=calls,
        data=data,
        message_seq=seq,
    )
