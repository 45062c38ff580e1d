"""``GET /api/metrics/{section}``: any section of SPEC §4 with the scope as query parameters.

The route only parses and validates: the numbers come from
:mod:`metrics.sections`, the same functions the CLI, the tools and the digests
call. Every parameter problem is a 422 that names the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from metrics.ingest.contract import PROJECT_STATUSES
from metrics.scope import RANGES, ScopeError, resolve_scope
from metrics.sections import SECTIONS, section, split_options
from web.api.errors import unprocessable
from web.deps import RuntimeDep, TenantDep

router = APIRouter(tags=["metrics"])

Range = Literal[RANGES]  # type: ignore[valid-type]
Status = Literal[PROJECT_STATUSES]  # type: ignore[valid-type]


def scope_query(
    range: Annotated[
        Range | None, Query(description="Named range relative to as_of (default last_30_days).")
    ] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="First day, YYYY-MM-DD (with `to`).")
    ] = None,
    to: Annotated[str | None, Query(description="Last day, YYYY-MM-DD, inclusive.")] = None,
    as_of: Annotated[
        str | None,
        Query(description="Date (end of that day) or ISO 8601 instant that plays 'now'."),
    ] = None,
    owner: Annotated[str | None, Query(description="Team member: id, name or email.")] = None,
    account: Annotated[
        list[str] | None, Query(description="Account id or name; repeat for several.")
    ] = None,
    playbook: Annotated[str | None, Query(description="Project playbook.")] = None,
    partner_type: Annotated[
        Literal["referral", "reseller"] | None, Query(description="Partner type.")
    ] = None,
    status: Annotated[
        list[Status] | None, Query(description="Project status; repeat for several.")
    ] = None,
    project: Annotated[
        list[str] | None, Query(description="Project id or name; repeat for several.")
    ] = None,
) -> dict[str, Any]:
    """The scope parameters as keyword arguments of :func:`metrics.scope.resolve_scope`."""
    return {
        "range": range,
        "start": from_,
        "end": to,
        "as_of": as_of,
        "owner": owner,
        "accounts": account or [],
        "playbook": playbook,
        "partner_type": partner_type,
        "status": status or [],
        "projects": project or [],
    }


_OUT_OF_RANGE = (
    "as_of, from or to: a date is outside the supported range (the section also reads "
    "the period before the window): use dates from 1900 to 9998"
)
ScopeDep = Annotated[dict[str, Any], Depends(scope_query)]


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
    scope: ScopeDep,
    sort: Annotated[str | None, Query(description="Sort column (projects, leaderboard).")] = None,
    descending: Annotated[bool | None, Query(description="Sort direction.")] = None,
    page: Annotated[int | None, Query(ge=1, le=100_000, description="Page, from 1.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=500, description="Rows per page.")] = None,
    bucket: Annotated[
        Literal["day", "week", "month"] | None, Query(description="Trend bucket size.")
    ] = None,
) -> dict[str, Any]:
    """One section of SPEC §4 over the scope (window, as-of, filters) in the workspace of
    the request's API key. Keys of the result are those of SPEC §4."""
    if name not in SECTIONS:
        raise HTTPException(404, f"unknown section {name!r}; one of: {', '.join(SECTIONS)}")
    options = {
        "sort": sort, "descending": descending, "page": page, "limit": limit, "bucket": bucket,
    }  # fmt: skip
    given, refused = split_options(name, options)
    if refused:
        raise unprocessable(f"section {name!r} does not take {', '.join(refused)}")
    compute = section(name)
    with rt.engine.connect() as conn:
        try:
            resolved = resolve_scope(conn, tn.id, **scope)
        except ScopeError as exc:
            raise unprocessable(str(exc)) from None
        except (ValueError, OverflowError):  # date arithmetic past year 1 or 9999
            raise unprocessable(_OUT_OF_RANGE) from None
        try:
            return compute(conn, resolved, **given).model_dump(mode="json")
        except OverflowError:  # a window at the calendar's edge: no previous period before it
            raise unprocessable(_OUT_OF_RANGE) from None
        except ValueError as exc:  # an option the section refuses, e.g. an unknown sort column
            raise unprocessable(str(exc)) from None
