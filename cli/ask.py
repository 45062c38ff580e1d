"""``portalpulse ask "QUESTION"``: the assistant from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console


def register(app: typer.Typer) -> None:
    app.command("ask")(ask_command)


def ask_command(
    question: Annotated[str, typer.Argument(help="A question about portal engagement.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date or instant that plays 'now'.")
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(help="offline or openai (default: openai when a key or URL is set)."),
    ] = None,
    conversation: Annotated[
        str | None, typer.Option(help="Continue this conversation id (follow-ups).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The full response as JSON.")] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Ask the assistant; every number in the answer comes from a metrics tool."""
    from assistant.memory import ConversationNotFound
    from assistant.service import Assistant, QuestionError
    from assistant.settings import SettingsError
    from metrics.db import connect, workspace_id
    from metrics.scope import ScopeError, parse_as_of

    if provider not in (None, "offline", "openai"):
        raise UserError(f"--provider must be offline or openai, not {provider!r}")
    engine = connect(db)
    with engine.connect() as conn:
        ws = workspace_id(conn, workspace, create=False)
    try:
        parse_as_of(as_of)
        assistant = Assistant(engine)
        result = assistant.ask(
            ws, workspace, question, conversation_id=conversation, as_of=as_of, provider=provider
        )
    except (QuestionError, ScopeError, SettingsError, ConversationNotFound) as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
        return
    from rich.markdown import Markdown  # markdown-it is slow to import: only when answering

    console.print(Markdown(result.answer))
    calls = ", ".join(f"{c['name']}({json.dumps(c['args'])})" for c in result.tool_calls)
    console.print(
        f"[dim]{'grounded' if result.grounded else 'NOT grounded'} · {calls or 'no tool'} · "
        f"{result.latency_ms:.0f} ms · conversation {result.conversation_id}[/]",
        highlight=False,
    )
