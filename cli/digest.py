"""``portalpulse digest …``: subscriptions, previews and sending the weekly digests.

``send`` is what cron runs (``--due`` hourly honours each subscription's day, hour
and time zone; without it every enabled subscription gets the week at once). It
exits 1 when a digest failed or is in doubt, so cron reports it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console, err_console

digest_app = typer.Typer(
    name="digest", help="Weekly AI digest emails.", no_args_is_help=True, add_completion=False
)


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest")


def _open(db: str | None, workspace: str):  # -> (engine, workspace id)
    from metrics.db import connect, workspace_id

    engine = connect(db)
    with engine.connect() as conn:
        return engine, workspace_id(conn, workspace, create=False)


def _service(db: str | None, workspace: str):  # -> DigestService
    from assistant.digest import DigestService, DigestSettings, DigestSettingsError
    from assistant.settings import Settings, SettingsError

    engine, ws = _open(db, workspace)
    try:
        return DigestService(engine, ws, workspace, DigestSettings.from_env(), Settings.from_env())
    except (DigestSettingsError, SettingsError) as exc:
        raise UserError(str(exc)) from None


def _week(text: str | None):  # -> IsoWeek | None
    from assistant.digest.weeks import WeekError, parse_week

    try:
        return parse_week(text) if text else None
    except WeekError as exc:
        raise UserError(str(exc)) from None


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


MemberOption = Annotated[str, typer.Option("--member", "-m", help="Team member id, email or name.")]


@digest_app.command("subscribe")
def subscribe_command(
    member: MemberOption,
    team: Annotated[
        list[str] | None,
        typer.Option(help="A manager's team: member ids (comma-separated or repeated)."),
    ] = None,
    day: Annotated[str, typer.Option(help="Day of the week (mon … sun).")] = "mon",
    hour: Annotated[int, typer.Option(help="Local hour (0-23).")] = 8,
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone, e.g. Europe/Berlin.")] = "UTC",
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Also post the digest to this Slack / Teams incoming-webhook URL."),
    ] = None,
    webhook_kind: Annotated[
        str | None, typer.Option(help="The webhook's kind: slack or teams (with --webhook-url).")
    ] = None,
    no_webhook: Annotated[
        bool, typer.Option("--no-webhook", help="Remove the subscription's webhook.")
    ] = False,
    email: Annotated[
        bool | None,
        typer.Option(
            "--email/--no-email",
            help="Mail the digest (default: on for new subscriptions, unchanged for others).",
        ),
    ] = None,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Subscribe a team member (their own book, or --team) to the weekly digest, by email,
    to a Slack / Teams webhook, or both; run again to change a subscription."""
    from assistant.digest import store
    from assistant.digest.webhook import WebhookUrlError, check_webhook
    from assistant.digest.weeks import WeekError

    webhook = None
    if webhook_url is not None or webhook_kind is not None:
        if no_webhook:
            raise UserError("--no-webhook removes the webhook: leave out --webhook-url/-kind")
        if webhook_url is None or webhook_kind is None:
            raise UserError("--webhook-url and --webhook-kind (slack or teams) go together")
        try:
            webhook = check_webhook(webhook_kind, webhook_url)
        except WebhookUrlError as exc:
            option = "--webhook-kind" if "kind" in str(exc) else "--webhook-url"
            raise UserError(f"{option}: {exc}") from None
    engine, ws = _open(db, workspace)
    try:
        with engine.begin() as conn:
            sub = store.subscribe(
                conn,
                ws,
                member,
                team=_split(team),
                day=day,
                hour=hour,
                timezone=tz,
                email=email,
                webhook=webhook,
                remove_webhook=no_webhook,
            )
    except (store.SubscriptionError, WeekError) as exc:
        raise UserError(str(exc)) from None
    book = f"team {', '.join(sub.team)}" if sub.team else "own book"
    where = [f"<{sub.member.email}>"] if sub.email_delivery else []
    if sub.webhook_shown:
        where.append(f"webhook {sub.webhook_shown}")
    console.print(
        f"Subscribed {sub.member.name} {' and '.join(where)} ({book}): "
        f"{sub.day} {sub.hour:02d}:00 {sub.timezone}",
        highlight=False,
    )


@digest_app.command("unsubscribe")
def unsubscribe_command(
    member: MemberOption, db: DbOption = None, workspace: WorkspaceOption = DEFAULT_WS
) -> None:
    """Turn a member's digest off."""
    from assistant.digest import store

    engine, ws = _open(db, workspace)
    try:
        with engine.begin() as conn:
            found = store.find_member(conn, ws, member)
            if not store.unsubscribe(conn, ws, found.member_id):
                raise UserError(f"{found.member_id} ({found.name}) has no digest subscription")
    except store.SubscriptionError as exc:
        raise UserError(str(exc)) from None
    console.print(f"Unsubscribed {found.name} ({found.member_id}).")


@digest_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Subscriptions: who, on or off, when, whose book, and the webhook (redacted)."""
    from assistant.digest import store
    from assistant.digest.webhook import redact

    engine, ws = _open(db, workspace)
    with engine.connect() as conn:
        subs = store.subscriptions(conn, ws)
    rows: list[dict[str, Any]] = [
        {
            "member_id": s.member.member_id,
            "name": s.member.name,
            "email": s.member.email,
            "enabled": s.enabled,
            "day": s.day,
            "hour": s.hour,
            "timezone": s.timezone,
            "team": list(s.team),
            "email_delivery": s.email_delivery,
            "webhook": (
                {"kind": s.webhook_kind, "url": redact(s.webhook_url)}
                if s.webhook_kind and s.webhook_url
                else None
            ),
        }
        for s in subs
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("member", "name", "email", "on", "when", "book", "webhook")
    for r in rows:
        hook = r["webhook"]
        table.add_row(
            r["member_id"],
            r["name"],
            (r["email"] or "") if r["email_delivery"] else "(no email)",
            "yes" if r["enabled"] else "no",
            f"{r['day']} {r['hour']:02d}:00 {r['timezone']}",
            ", ".join(r["team"]) or "own",
            f"{hook['kind']} {hook['url']}" if hook else "",
        )
    console.print(table if rows else "No subscriptions yet (portalpulse digest subscribe).")


@digest_app.command("send")
def send_command(
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: last week).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Only this member (email, id or name).")] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Only subscriptions whose local day and hour have come.")
    ] = False,
    release_in_doubt: Annotated[
        bool,
        typer.Option(
            "--release-in-doubt",
            help="First mark the week's in-doubt digests failed so this run sends them.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Send the week's digests (each recipient at most once per week)."""
    from datetime import UTC, datetime

    from assistant.digest import store
    from assistant.digest.weeks import last_complete_week

    if due and week:
        raise UserError("--due picks each subscription's week itself: leave out --week")
    service = _service(db, workspace)
    chosen = _week(week)
    if release_in_doubt:
        with service.engine.begin() as conn:
            label = (chosen or last_complete_week()).label
            released = store.release_in_doubt(conn, service.workspace_id, label)
        # --json keeps stdout pure JSON: the note goes to stderr then.
        (err_console if as_json else console).print(
            f"Released {released} in-doubt digest(s) of {label}."
        )
    try:
        report = service.send(to=to, week=chosen, due_at=datetime.now(UTC) if due else None)
    except store.SubscriptionError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print(json.dumps([o.__dict__ for o in report.outcomes], indent=2))
    else:
        table = Table("member", "to", "week", "status", "attempts", "detail")
        for o in report.outcomes:
            table.add_row(
                o.member_id, o.email, o.week, o.status, str(o.attempts), o.error or o.message_id
            )
        if report.outcomes:
            console.print(table)
        console.print(report.line())
    if not report.ok:
        bad = report.count("failed") + report.count("in_doubt")
        raise UserError(f"{bad} digest(s) failed or in doubt; see `portalpulse digest log`")


@digest_app.command("preview")
def preview_command(
    to: Annotated[str, typer.Option(help="Team member (email, id or name).")],
    week: Annotated[str | None, typer.Option(help="ISO week (default: last week).")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML here.")] = None,
    text: Annotated[Path | None, typer.Option(help="Write the plain text here.")] = None,
    chat: Annotated[
        str | None,
        typer.Option(help="Print the body a slack or teams webhook would get (JSON) instead."),
    ] = None,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Render a member's digest without sending it (text to stdout unless --html/--text)."""
    from assistant.digest import store
    from assistant.digest.chat import payload
    from assistant.digest.webhook import WEBHOOK_KINDS

    if chat is not None and chat.lower() not in WEBHOOK_KINDS:
        raise UserError(f"--chat must be one of {', '.join(WEBHOOK_KINDS)}, got {chat!r}")
    service = _service(db, workspace)
    try:
        page, plain, prepared = service.preview(to, _week(week))
    except store.SubscriptionError as exc:
        raise UserError(str(exc)) from None
    if chat is not None:
        body = payload(chat.lower(), prepared.content, prepared.summary)
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return
    if html:
        html.write_text(page, encoding="utf-8")
        console.print(f"HTML written to {html}")
    if text:
        text.write_text(plain, encoding="utf-8")
        console.print(f"Text written to {text}")
    if not html and not text:
        print(plain)
    console.print(f"[dim]summary: {prepared.summary.source}[/]")


@digest_app.command("log")
def log_command(
    week: Annotated[str | None, typer.Option(help="ISO week (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """The stored digests: week, recipient, status, attempts, last error, Message-ID."""
    from assistant.digest import store

    chosen = _week(week)
    engine, ws = _open(db, workspace)
    with engine.connect() as conn:
        rows = store.ledger(conn, ws, chosen.label if chosen else None)
    data = [
        {
            "week": r.week,
            "member_id": r.member_id,
            "channel": r.channel,
            "email": r.email,
            "status": r.status,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "message_id": r.message_id,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None,
        }
        for r in rows
    ]
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table("week", "member", "to", "status", "attempts", "last error / message-id")
    for d in data:
        table.add_row(
            d["week"],
            d["member_id"],
            d["email"],
            d["status"],
            str(d["attempts"]),
            d["last_error"] or d["message_id"],
        )
    console.print(table if data else "No digests stored yet.")
