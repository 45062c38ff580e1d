"""``GET /api/metrics/{section}``: any section of SPEC §4 with the scope as query parameters.

The route only parses and validates: the numbers come from
:mod:`metrics.sections`, the same functions the CLI, the tools and the digests
call. Every parameter problem is a 422 that names the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import Field

from metrics.scope import ScopeError
from metrics.sections import SECTIONS, section, split_options
from metrics.semantic.params import ScopeParams
from web.api.errors import scope_unprocessable, unprocessable
from web.deps import RuntimeDep, TenantDep

router = APIRouter(tags=["metrics"])


class SectionParams(ScopeParams):
    """The scope (SPEC §3, the one scope model) and a section's table options."""

    sort: str | None = Field(None, description="Sort column (projects, users, leaderboard).")
    descending: bool | None = Field(None, description="Sort direction.")
    page: int | None = Field(None, ge=1, le=100_000, description="Page, from 1.")
    limit: int | None = Field(None, ge=1, le=500, description="Rows per page.")
    bucket: Literal["day", "week", "month"] | None = Field(None, description="Trend bucket size.")


_OUT_OF_RANGE = (
    "as_of, from or to: a date is outside the supported range (the section also reads "
    "the period before the window): use dates from 1900 to 9998"
)


@router.get(
    "/api/metrics/{name}",
    summary="A metrics section",
    responses={
        404: {"description": "No such section."},
        422: {"description": "A parameter is invalid; `detail` names it."},
    },
)
def metrics_section(
    name: Annotated[
        str,  # checked below for a 404 that lists the sections; the schema lists them too
        Path(description="The section (SPEC §4).", json_schema_extra={"enum": list(SECTIONS)}),
    ],
    rt: RuntimeDep,
    tn: TenantDep,
    params: Annotated[SectionParams, Query()],
) -> dict[str, Any]:
    """One section of SPEC §4 over the scope (window, as-of, filters) in the workspace of
    the request's API key. Keys of the result are those of SPEC §4."""
    if name not in SECTIONS:
        raise HTTPException(404, f"unknown section {name!r}; one of: {', '.join(SECTIONS)}")
    options = params.model_dump(include={"sort", "descending", "page", "limit", "bucket"})
    given, refused = split_options(name, options)
    if refused:
        raise unprocessable(f"section {name!r} does not take {', '.join(refused)}")
    compute = section(name)
    with rt.engine.connect() as conn:
        try:
            resolved = params.resolve(conn, tn.id)
        except ScopeError as exc:
            raise scope_unprocessable(exc) from None
        except (ValueError, OverflowError):  # date arithmetic past year 1 or 9999
            raise unprocessable(_OUT_OF_RANGE) from None
        try:
            return compute(conn, resolved, **given).model_dump(mode="json")
        except OverflowError:  # a window at the calendar's edge: no previous period before it
            raise unprocessable(_OUT_OF_RANGE) from None
        except ValueError as exc:  # an option the section refuses, e.g. an unknown sort column
            raise unprocessable(str(exc)) from None
