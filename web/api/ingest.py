"""Records over HTTP: ``POST /api/events`` and ``POST /api/records/{entity}``.

The body is one record or a list of up to :data:`MAX_BATCH`. Records go
through the CSV importer (:class:`metrics.ingest.Importer`), so the rules are
the import's: required fields, enums, ISO 8601 timestamps, references to what
the workspace holds. A request is all or nothing, re-sending a record updates
it by id (a retried batch never duplicates), and the sessions of every
user/portal pair touched are recomputed before the response, so the next
``/api/metrics/kpis`` already counts them.

The request models are built from the contract (:data:`~metrics.ingest.contract.FILES`)
so the OpenAPI schema documents exactly what the importer checks.
"""

# No ``from __future__ import annotations``: the routes' body types are built at run time
# and FastAPI must see them as objects, not as names it cannot resolve.
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.exc import IntegrityError

from metrics.db import writing
from metrics.ingest import Importer, ImportRejected, ImportReport
from metrics.ingest.contract import FILES, TIMESTAMP_PARSERS, FileSpec, parse_date
from web.api.errors import unprocessable
from web.deps import Runtime, RuntimeDep, Tenant, TenantDep

router = APIRouter(tags=["ingest"])

MAX_BATCH = 5_000
"""Records per request; larger loads go in several requests or through ``/api/import``."""
ATTEMPTS = 3
"""Tries of a batch that lost an insert race with another process (the same new id).
A busy database is not retried here: SQLite's busy timeout already waited, and the
client gets a 503 with Retry-After (``web/api/errors.py``)."""
NAMED = {"team_members", "accounts", "projects", "users"}
"""Entities whose names the assistant indexes."""


class IngestReport(BaseModel):
    entity: str
    received: int = Field(description="Records in the request.")
    stored: int = Field(description="Records written: inserted, or updated by id.")
    sessions_keys: int = Field(description="User/portal pairs whose sessions were recomputed.")
    sessions_written: int


def _describe(spec: FileSpec, column: Any) -> str:
    parse = column.parse
    if parse in TIMESTAMP_PARSERS:
        kind = "ISO 8601 instant (no offset = UTC)"
    elif parse is parse_date:
        kind = "date, YYYY-MM-DD"
    elif parse.__name__.startswith("enum("):
        kind = "one of " + parse.__name__.removeprefix("enum(").removesuffix(")")
    else:
        kind = "text"
    ref = f"; refers to {column.ref.removesuffix('.csv')}" if column.ref else ""
    return f"{kind}{ref}" + ("" if column.required else "; optional")


def singular(spec: FileSpec) -> str:
    """``team_members.csv`` → "team member"."""
    return spec.name.removesuffix(".csv").removesuffix("s").replace("_", " ")


def record_model(spec: FileSpec) -> type[BaseModel]:
    """A request model with the contract's columns of ``spec`` (unknown fields ignored)."""
    fields: dict[str, Any] = {}
    for column in spec.columns:
        if column.required:
            fields[column.name] = (str, Field(description=_describe(spec, column)))
        else:
            fields[column.name] = (str | None, Field(None, description=_describe(spec, column)))
    name = "".join(part.title() for part in singular(spec).split()) + "Record"
    config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, title=name)
    return create_model(name, __config__=config, __doc__=f"One row of {spec.name}.", **fields)


def store(
    rt: Runtime, tn: Tenant, spec: FileSpec, records: Sequence[Mapping[str, Any]]
) -> IngestReport:
    """Validate and write ``records`` in one transaction; 422 listing every bad field."""
    entity = spec.name.removesuffix(".csv")
    for attempt in range(ATTEMPTS):
        try:
            with rt.writing(tn.id):
                report = _store_once(rt, tn, spec, records)
            break
        except ImportRejected as exc:
            errors = [{"item": e.line, "field": e.column, "message": e.message} for e in exc.errors]
            shown = "; ".join(
                f"{entity}[{e['item']}]" + (f".{e['field']}" if e["field"] else "")
                + f": {e['message']}" for e in errors[:5]
            )  # fmt: skip
            raise unprocessable(
                f"{exc.total} error(s), nothing was stored: {shown}", errors=errors
            ) from None
        except IntegrityError:  # another process inserted the same id meanwhile
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2**attempt)
    if entity in NAMED and rt.assistant_loaded:
        rt.assistant.refresh_entities(tn.id)
    return IngestReport(
        entity=entity,
        received=len(records),
        stored=report.rows[spec.name],
        sessions_keys=report.keys_resessionized,
        sessions_written=report.sessions_written,
    )


def _store_once(
    rt: Runtime, tn: Tenant, spec: FileSpec, records: Sequence[Mapping[str, Any]]
) -> ImportReport:
    with rt.engine.connect() as conn:
        transaction = writing(conn).begin()
        try:
            importer = Importer(conn, tn.id)
            importer.add_records(spec, records, first=0)
            report = importer.finish()
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()
    return report


def _records(body: BaseModel | list[BaseModel]) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    return [item.model_dump() for item in items]


_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "The request body is too large."},
    422: {"description": "A record is invalid; `errors` lists item, field and message."},
}


def _route(spec: FileSpec, path: str, summary: str) -> Callable[..., IngestReport]:
    model = record_model(spec)
    entity = spec.name.removesuffix(".csv")
    batch = Annotated[list[model], Field(min_length=1, max_length=MAX_BATCH)]  # type: ignore[valid-type]
    described = f"One {singular(spec)} or a list of them."

    def ingest(
        body: Annotated[model | batch, Body(description=described)],  # type: ignore[valid-type]
        rt: RuntimeDep,
        tn: TenantDep,
    ) -> IngestReport:
        return store(rt, tn, spec, _records(body))

    ingest.__name__ = f"ingest_{entity}"
    ingest.__doc__ = (
        f"Insert or update {entity.replace('_', ' ')} — one record or a list of up to "
        f"{MAX_BATCH:,} — with the rules of {spec.name} in the CSV import: all or nothing "
        f"(a 422 lists every bad item and field), updated by `{spec.key}`, never duplicated."
    )
    if entity == "events":
        ingest.__doc__ += (
            " The sessions of every user/portal pair touched are recomputed before the "
            "response, so the next `/api/metrics/kpis` counts them."
        )
    router.post(path, summary=summary, responses=_RESPONSES)(ingest)
    return ingest


for _spec in FILES:
    _entity = _spec.name.removesuffix(".csv")
    if _entity == "events":
        _route(_spec, "/api/events", "Send portal events")
    else:
        _route(_spec, f"/api/records/{_entity}", f"Upsert {_entity.replace('_', ' ')}")
