"""The scope options every metrics command takes, from the semantic registry (one set of
names and help texts), and their validation through the one scope model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import UserError
from metrics.semantic.vocabulary import REGISTRY, WINDOW_HELP

if TYPE_CHECKING:  # loaded when a command runs, not for --help
    from metrics.semantic.params import ScopeParams


def _help(name: str) -> str:
    if name in WINDOW_HELP:
        return WINDOW_HELP[name].format(ranges=", ".join(REGISTRY.ranges))
    item = REGISTRY.filters[name]
    return item.description + (f" One of: {', '.join(item.values)}." if item.values else "")


RangeOption = Annotated[str | None, typer.Option("--range", "-r", help=_help("range"))]
FromOption = Annotated[str | None, typer.Option("--from", help=_help("from"))]
ToOption = Annotated[str | None, typer.Option("--to", help=_help("to"))]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help=_help("as_of"))]
OwnerOption = Annotated[str | None, typer.Option(help=_help("owner"))]
AccountOption = Annotated[list[str] | None, typer.Option(help=_help("account"))]
PlaybookOption = Annotated[str | None, typer.Option(help=_help("playbook"))]
PartnerTypeOption = Annotated[str | None, typer.Option(help=_help("partner_type"))]
StatusOption = Annotated[list[str] | None, typer.Option(help=_help("status"))]
ProjectOption = Annotated[list[str] | None, typer.Option(help=_help("project"))]


def scope_params(**given: object) -> ScopeParams:
    """The options as :class:`ScopeParams` (``from``, ``to``, … by their registry names);
    a bad value is a :class:`UserError` naming the option."""
    from pydantic import ValidationError

    from metrics.semantic.params import ScopeParams

    try:
        return ScopeParams.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise UserError(problems) from None
