"""``portalpulse metrics SECTION``: any section of SPEC §4, as a table or as JSON."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.common import DEFAULT_WS, DbOption, UserError, WorkspaceOption, console
from cli.scope import (
    AccountOption,
    AsOfOption,
    FromOption,
    OwnerOption,
    PartnerTypeOption,
    PlaybookOption,
    ProjectOption,
    RangeOption,
    StatusOption,
    ToOption,
    scope_params,
)

SECTIONS = (
    "kpis", "trends", "projects", "users", "summary", "leaderboard", "content", "adoption", "risks",
)  # fmt: skip
"""``metrics.sections.SECTIONS`` (a test checks they agree; importing it here would be slow)."""


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics_command)


def metrics_command(
    name: Annotated[str, typer.Argument(metavar="SECTION", help=f"One of: {', '.join(SECTIONS)}.")],
    range_: RangeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    account: AccountOption = None,
    playbook: PlaybookOption = None,
    partner_type: PartnerTypeOption = None,
    status: StatusOption = None,
    project: ProjectOption = None,
    sort: Annotated[str | None, typer.Option(help="Column to sort tables by.")] = None,
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    page: Annotated[int | None, typer.Option(help="Page of a paged table.")] = None,
    limit: Annotated[int | None, typer.Option(help="Rows in top lists.")] = None,
    bucket: Annotated[str | None, typer.Option(help="Trend bucket: day, week or month.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    db: DbOption = None,
    workspace: WorkspaceOption = DEFAULT_WS,
) -> None:
    """Compute one metrics section over a window, as-of instant and filters."""
    from metrics.db import connect, workspace_id
    from metrics.scope import ScopeError
    from metrics.sections import section, split_options

    if name not in SECTIONS:
        raise UserError(f"unknown section {name!r}; one of: {', '.join(SECTIONS)}")
    compute = section(name)
    requested = {
        "sort": sort,
        "descending": desc or None,
        "page": page,
        "limit": limit,
        "bucket": bucket,
    }
    options, refused = split_options(name, requested)
    if refused:
        flags = ", ".join(f"--{k}" for k in refused)
        raise UserError(f"section {name!r} does not take {flags}")
    engine = connect(db)
    with engine.connect() as conn:
        try:
            params = scope_params(
                range=range_, **{"from": start, "to": end}, as_of=as_of, owner=owner,
                account=account, playbook=playbook, partner_type=partner_type, status=status,
                project=project,
            )  # fmt: skip
            scope = params.resolve(conn, workspace_id(conn, workspace, create=False))
            result = compute(conn, scope, **options)
        except (ScopeError, ValueError) as exc:
            raise UserError(str(exc)) from None
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    from cli.render import render

    render(result, console)
