"""``GET /api/meta`` (the registry) and ``GET /api/query`` (SPEC §6's general query).

Both read the semantic registry at request time: a measure declared there is
listed and queryable here with no change to this router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from metrics.scope import ScopeError
from metrics.semantic.meta import Meta, meta
from metrics.semantic.params import QueryParams
from metrics.semantic.query import QueryResult, parse_query, run_query
from web.api.errors import scope_unprocessable, unprocessable
from web.deps import RuntimeDep, TenantDep

router = APIRouter(tags=["semantic layer"])


@router.get("/api/meta", summary="The vocabulary: measures, dimensions, filters, signals")
def get_meta() -> Meta:
    """Every measure (with its unit, format, flow/state, source, aggregation and the
    dimensions it supports), dimension (with its attribution rule), filter, named range,
    risk signal and table column the product knows, from the semantic registry."""
    return meta()


@router.get(
    "/api/query",
    summary="Measures by dimensions over a scope",
    responses={422: {"description": "An unknown name or a bad `where`; `detail` says which."}},
)
def get_query(
    rt: RuntimeDep, tn: TenantDep, params: Annotated[QueryParams, Query()]
) -> QueryResult:
    """The same query as `portalpulse query`: rows per group (`DIM`, `DIM_name` for
    entities, each measure) and `totals` over every group in scope before `where` and
    `limit`."""
    with rt.engine.connect() as conn:
        try:
            spec = parse_query(
                params.measures,
                by=params.by,
                where=params.where,
                sort=params.sort,
                descending=params.descending,
                limit=params.limit,
            )
            return run_query(conn, params.resolve(conn, tn.id), spec)
        except ScopeError as exc:
            raise scope_unprocessable(exc) from None
        except (ValueError, OverflowError):  # date arithmetic past year 1 or 9999
            raise unprocessable(
                "as_of, from or to: a date is outside the supported range"
            ) from None
