"""``POST /api/import``: upload CSV files (or a zip of a SPEC §2 folder) and import them.

The upload is laid out as a folder in a temporary directory and handed to
:func:`metrics.ingest.import_folder` — the same all-or-nothing import as
``portalpulse import DIR``, into the request's workspace. A zip is read
defensively: only ``*.csv`` members, by base name (no paths from the archive
reach the disk), and at most :data:`MAX_UNPACKED` bytes in all, counted while
unpacking rather than trusted from the archive's directory.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Annotated, Any

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel, Field

from metrics.ingest import ImportRejected, import_folder
from metrics.ingest.contract import FILES_BY_NAME
from web.api.errors import unprocessable
from web.deps import RuntimeDep, TenantDep

router = APIRouter(tags=["ingest"])

MAX_UNPACKED = 2 * 2**30
"""Bytes of CSV an upload may unpack to."""
CHUNK = 2**20


class ImportResult(BaseModel):
    rows: dict[str, int] = Field(description="Rows stored per file.")
    ignored: list[str] = Field(description="Uploaded files that are not part of the contract.")
    sessions_keys: int
    sessions_written: int
    seconds: float


class _Budget:
    """Bytes left to unpack; raises a 422 when an upload would exceed it."""

    def __init__(self) -> None:
        self.left = MAX_UNPACKED

    def copy(self, source: IO[bytes], target: Path) -> None:
        with target.open("wb") as out:
            while chunk := source.read(CHUNK):
                self.left -= len(chunk)
                if self.left < 0:
                    raise unprocessable(
                        f"upload unpacks to more than {MAX_UNPACKED // 2**20:,} MiB; "
                        "import it with `portalpulse import DIR` instead"
                    )
                out.write(chunk)


def _place(
    name: str,
    source: IO[bytes],
    folder: Path,
    budget: _Budget,
    seen: dict[str, str],
    label: str | None = None,
) -> None:
    """Write one CSV as ``folder/<base name, lower case>``; a second one of that name is a 422.

    ``name`` is the file's path (in the upload or the archive); ``label`` how messages
    call it (``export.zip:accounts.csv``), which is never parsed for the base name.
    """
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    name = label or name
    if base in seen:
        raise unprocessable(f"{name}: a file named {base} was already uploaded ({seen[base]})")
    seen[base] = name
    budget.copy(source, folder / base)


def _unzip(upload: UploadFile, folder: Path, budget: _Budget, seen: dict[str, str]) -> None:
    try:
        archive = zipfile.ZipFile(upload.file)
    except zipfile.BadZipFile:
        raise unprocessable(f"{upload.filename}: not a readable zip archive") from None
    with archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or not info.filename.lower().endswith(".csv") or "__MACOSX" in parts:
                continue
            try:
                with archive.open(info) as member:
                    label = f"{upload.filename}:{info.filename}"
                    _place(info.filename, member, folder, budget, seen, label)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise unprocessable(f"{upload.filename}:{info.filename}: {exc}") from None


@router.post(
    "/api/import",
    summary="Import CSV files",
    responses={422: {"description": "Rejected: `errors` lists file, line, column and message."}},
)
def import_upload(
    rt: RuntimeDep,
    tn: TenantDep,
    files: Annotated[
        list[UploadFile],
        File(description="CSV files of SPEC §2 (accounts.csv required), or one zip of them."),
    ],
) -> ImportResult:
    """All or nothing: every row is checked and every problem is reported with its file,
    line and column (up to 100), while nothing is stored. Rows with an existing id are
    updated; events, invites and tasks are never duplicated."""
    with tempfile.TemporaryDirectory(prefix="portalpulse-upload-") as tmp:
        folder = Path(tmp)
        budget, seen = _Budget(), {}
        for upload in files:
            name = upload.filename or "upload"
            if name.lower().endswith(".zip"):
                _unzip(upload, folder, budget, seen)
            elif name.lower().endswith(".csv"):
                _place(name, upload.file, folder, budget, seen)
            else:
                raise unprocessable(f"{name}: expected a .csv file or a .zip of them")
        ignored = sorted(seen[b] for b in seen if b not in FILES_BY_NAME)
        try:
            with rt.writing(tn.id):
                report = import_folder(rt.engine, folder, workspace=tn.name)
        except ImportRejected as exc:
            errors: list[dict[str, Any]] = [
                {"file": e.file, "line": e.line, "column": e.column, "message": e.message}
                for e in exc.errors
            ]
            shown = "; ".join(str(e) for e in exc.errors[:5])
            raise unprocessable(f"{exc}, nothing was imported: {shown}", errors=errors) from None
    if rt.assistant_loaded:
        rt.assistant.refresh_entities(tn.id)
    return ImportResult(
        rows=dict(report.rows),
        ignored=ignored,
        sessions_keys=report.keys_resessionized,
        sessions_written=report.sessions_written,
        seconds=round(report.seconds, 3),
    )
