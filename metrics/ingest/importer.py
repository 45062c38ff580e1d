"""Import of a SPEC §2 CSV folder (or of records from the API): all or nothing.

Every row is validated — required columns and values, enums, timestamps and
dates, references to other entities — and every error names its file, line and
column. Rows are written in batches inside one transaction while validation goes
on; after the first error nothing more is written, the remaining rows are still
checked (up to ``max_errors``), and the transaction is rolled back, so a rejected
import leaves the database exactly as it was. Files are streamed, so memory
stays bounded whatever the number of events.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, exists, func, select

from metrics.db import refresh_statistics, writing
from metrics.db import workspace_id as resolve_workspace
from metrics.ingest import bulk, columnar
from metrics.ingest.contract import FILES, FILES_BY_NAME, REQUIRED_FILES, FileSpec
from metrics.ingest.csvfile import block_rows, plan_blocks, read_header, read_range, read_rows
from metrics.ingest.fresh import FreshSessions
from metrics.ingest.parallel import PARALLEL_MIN_BYTES, parse_in_worker
from metrics.ingest.parallel import available as parallel_available
from metrics.ingest.sessions import SessionKey, rebuild, rebuild_all
from metrics.ingest.validate import RowValidator
from metrics.models import Event, Session

BATCH = 20_000
COLUMNAR_MIN_BYTES = 0
"""Files at least this large are checked column-wise when they can be: all of them, since
Arrow is faster even on a small file (tests raise it to exercise the row paths)."""
MAX_ERRORS = 100
BYTES_PER_EVENT = 64
"""A typical events.csv row, to guess the size of an import from its file."""
REFERENCED = {column.ref for spec in FILES for column in spec.columns if column.ref}

Progress = Callable[..., None]
"""Called as ``progress(file_name, bytes_read, total=file_size)`` while a file is read."""


@dataclass(frozen=True)
class RowError:
    """One problem in the input, located by file, line (1 = header) and column.

    ``line`` is None for a problem with a whole file (missing, not a folder)."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class ImportRejected(Exception):
    """The input had errors; nothing of it was stored."""

    def __init__(self, errors: list[RowError], total: int) -> None:
        self.errors = errors
        self.total = total
        more = f" (showing the first {len(errors)})" if total > len(errors) else ""
        super().__init__(f"import rejected: {total} error(s){more}")


@dataclass
class ImportReport:
    """What an accepted import stored."""

    rows: Counter[str] = field(default_factory=Counter)
    keys_resessionized: int = 0
    sessions_written: int = 0
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return self.rows["events.csv"]


class Importer:
    """Validates and writes rows of the contract's files into one workspace.

    Feed files in :data:`~metrics.ingest.contract.FILES` order (referenced
    entities first), then call :meth:`finish` — it recomputes the sessions of
    every changed key and raises :class:`ImportRejected` if anything was wrong.
    The caller owns the transaction and must roll it back on that exception.
    """

    def __init__(
        self, conn: Connection, workspace_id: int, *, max_errors: int = MAX_ERRORS
    ) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.max_errors = max_errors
        self.errors: list[RowError] = []
        self.error_total = 0
        self.report = ImportReport()
        self.changed: dict[SessionKey, int] = {}
        self._known: dict[str, set[str]] = {}
        self._unchecked: set[str] = set()
        self._had_events = bool(
            conn.scalar(select(exists().where(Event.workspace_id == workspace_id)))
        )
        self._had_sessions = bool(
            conn.scalar(select(exists().where(Session.workspace_id == workspace_id)))
        )
        self._first_load = (
            FreshSessions() if not self._had_events and not self._had_sessions else None
        )
        """Set on a first load (no events or sessions stored yet): sessions are derived
        at the end from the rows written, with nothing tracked per key meanwhile."""
        self._events: bulk.EventWriter | None = None
        self._expected_events = 0
        self._seen: dict[str, dict[str, int]] = {}
        """Ids of records (the HTTP API) met per entity, to refuse one twice in a request."""
        self._files: dict[str, Path] = {}
        self._hashes: dict[str, list[np.ndarray]] = {}
        """Per file, the hashes of the ids written (8 bytes per row, whatever the reading
        path), compared at the end; an id twice sends the importer back to the file for
        the lines."""
        self._started = time.perf_counter()

    # -- errors ----------------------------------------------------------------

    @property
    def failed(self) -> bool:
        return self.error_total > 0

    @property
    def full(self) -> bool:
        """Enough errors collected: stop reading."""
        return self.error_total >= self.max_errors

    def error(self, file: str, line: int, column: str | None, message: str) -> None:
        self.error_total += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(RowError(file, line, column, message))

    # -- references --------------------------------------------------------------

    def known(self, file_name: str) -> set[str]:
        """Ids of ``file_name``'s entity stored in the workspace or seen in this import."""
        if file_name not in self._known:
            spec = FILES_BY_NAME[file_name]
            table = spec.model.__table__
            key = table.c[spec.key]
            query = select(key).where(table.c.workspace_id == self.workspace_id)
            self._known[file_name] = set(self.conn.scalars(query))
        return self._known[file_name]

    # -- rows ------------------------------------------------------------------------

    def add_rows(
        self,
        spec: FileSpec,
        header: Sequence[str],
        rows: Iterable[tuple[int, Sequence[str]]],
        unit: str = "line",
    ) -> None:
        """Validate and (while no error was found) write ``(line, raw values)`` pairs.

        ``header`` names the raw values' columns (lower case); the contract's
        columns may come in any order and unknown ones are ignored.
        """
        validate = RowValidator(
            spec, header, self.known, self._unchecked, partial(self.error, spec.name)
        )
        keys = self.known(spec.name) if spec.name in REFERENCED else None
        seen = None if spec.name in self._files else self._seen.setdefault(spec.name, {})
        batch: list[list[object]] = []
        for line, raw in rows:
            values = validate(line, raw)
            key = validate.key(raw)
            if keys is not None and key:
                keys.add(key)  # known even when the row is bad: no cascade of errors
            if seen is not None and key and seen.setdefault(key, line) != line:
                self.error(spec.name, line, spec.key, _duplicate(spec, key, unit, seen[key]))
                values = None
            if self.full:
                break
            if values is None or self.failed:
                batch.clear()
                continue
            batch.append(values)
            if len(batch) >= BATCH:
                self._write(spec, batch)
                batch = []
        if batch and not self.failed:
            self._write(spec, batch)

    def add_records(
        self, spec: FileSpec, records: Iterable[Mapping[str, object]], *, first: int = 1
    ) -> None:
        """Validate and write mappings (the HTTP API); errors are numbered from ``first``."""
        names = spec.names
        rows = (
            (number, ["" if r.get(n) is None else str(r.get(n)) for n in names])
            for number, r in enumerate(records, start=first)
        )
        self.add_rows(spec, names, rows, unit="item")

    def _write_block(self, spec: FileSpec, block: columnar.Block) -> None:
        """Store a block read column-wise."""
        if spec.name == "events.csv" and self._first_load is not None:
            self._hash_ids(spec, block.values(block.names.index(spec.key)))
            self.report.rows[spec.name] += len(block)
            self._event_writer().write(block.tuples(), find_old=False)
            self._first_load.add_block(block)
        else:
            self._write(spec, block.rows())

    def _event_writer(self) -> bulk.EventWriter:
        if self._events is None:
            big = bulk.bulk_mode(self.conn, self._expected_events)
            self._events = bulk.EventWriter(self.conn, self.workspace_id, bulk=big)
        return self._events

    def _write(self, spec: FileSpec, batch: Sequence[Sequence[object]]) -> None:
        self.report.rows[spec.name] += len(batch)
        key = spec.names.index(spec.key)
        self._hash_ids(spec, [values[key] for values in batch])
        if spec.name != "events.csv":
            names = spec.names
            ws = self.workspace_id
            rows = [{"workspace_id": ws, **dict(zip(names, v, strict=True))} for v in batch]
            bulk.upsert(self.conn, spec.model.__table__, rows)
            return
        events = self._event_writer()
        if self._first_load is not None:
            # Sessions come from the rows themselves at the end: nothing to track per row.
            events.write(batch, find_old=False)
            self._first_load.add_rows(batch)
            return
        changed = self.changed
        for values in batch:  # contract order: event_id, user_id, project_id, occurred_at, …
            key = (values[1], values[2])
            at = values[3]
            if key not in changed or at < changed[key]:
                changed[key] = at
        for key, at in events.write(batch, find_old=self._had_events):
            if key not in changed or at < changed[key]:
                changed[key] = at

    # -- files -----------------------------------------------------------------------

    def add_file(self, path: Path, spec: FileSpec, progress: Progress | None = None) -> None:
        """Read one CSV file of the contract (a large one is parsed in a worker process)."""
        size = path.stat().st_size
        self._files[spec.name] = path
        report = partial(self.error, spec.name)
        header = read_header(path, spec, report)
        if header is None:
            self._unchecked.add(spec.name)
            return
        if spec.name == "events.csv":
            self._expected_events += size // BYTES_PER_EVENT
        tick = None if progress is None else partial(progress, spec.name, total=size)
        blocks = None
        if spec.name not in REFERENCED and size >= COLUMNAR_MIN_BYTES and columnar.supports(spec):
            blocks = plan_blocks(path, columnar.BLOCK_BYTES)
        if blocks:
            self._add_columnar(path, spec, header, blocks, tick)
        elif spec.name not in REFERENCED and size >= PARALLEL_MIN_BYTES and parallel_available():
            self._add_parsed_elsewhere(path, spec, header, tick)
        else:
            self.add_rows(spec, header, read_rows(path, self._stopped(spec), tick, every=BATCH))
        if tick is not None:
            tick(size)

    def _stopped(self, spec: FileSpec) -> Callable[[int, str | None, str], None]:
        """The error sink of a file reader: a read error ends the file early, so the ids
        after it are unknown — references to this file are no longer checked (they
        would all fail) and only the read error is reported."""

        def report(line: int, column: str | None, message: str) -> None:
            self._unchecked.add(spec.name)
            self.error(spec.name, line, column, message)

        return report

    def _add_columnar(
        self,
        path: Path,
        spec: FileSpec,
        header: list[str],
        blocks: list[tuple[int, int]],
        tick: Callable[[int], object] | None,
    ) -> None:
        """Blocks checked column-wise (:mod:`~metrics.ingest.columnar`), the next one parsed
        in a thread (Arrow works outside the GIL) while this one is written. A block
        that is not plainly valid goes through the row validator, which names its errors.
        """
        parser = columnar.ColumnarParser(spec, header, self.known, self._unchecked)
        report = partial(self.error, spec.name)
        with (
            path.open("rb") as binary,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="portalpulse-parse") as pool,
        ):
            line = read_range(binary, 0, blocks[0][0]).count(b"\n") + 1  # the first data line

            def parse(number: int) -> tuple[bytes, columnar.Block | None]:
                """Runs in the one parse thread: the only reader of ``binary`` meanwhile."""
                raw = read_range(binary, *blocks[number])
                return raw, parser.parse(raw)

            upcoming = pool.submit(parse, 0)
            for number, (_start, end) in enumerate(blocks):
                raw, block = upcoming.result()
                if number + 1 < len(blocks):
                    upcoming = pool.submit(parse, number + 1)
                if block is None:
                    self.add_rows(spec, header, block_rows(raw, line, report))
                elif not self.failed:
                    self._write_block(spec, block)
                line += raw.count(b"\n")
                if tick is not None:
                    tick(end)
                if self.full:
                    upcoming.cancel()
                    break

    def _add_parsed_elsewhere(
        self, path: Path, spec: FileSpec, header: list[str], tick: Callable[[int], object] | None
    ) -> None:
        """Like :meth:`add_rows`, with parsing and validation in a forked worker."""
        refs = {c.ref for c in spec.columns if c.ref and c.ref not in self._unchecked}
        known = {ref: self.known(ref) for ref in refs}
        budget = self.max_errors - self.error_total
        pending: list[list[object]] = []  # a block may end in a small chunk: write full batches
        for chunk in parse_in_worker(path, spec, header, known, self._unchecked, budget, BATCH):
            for line, column, message in chunk.errors:
                self.error(spec.name, line, column, message)
            if self.failed:
                pending = []
            elif not pending and len(chunk.rows) >= BATCH:
                self._write(spec, chunk.rows)
            else:
                pending.extend(chunk.rows)
                if len(pending) >= BATCH:
                    self._write(spec, pending)
                    pending = []
            if tick is not None:
                tick(chunk.position)
        if pending and not self.failed:
            self._write(spec, pending)

    def finish(self) -> ImportReport:
        """Recompute changed sessions, or raise :class:`ImportRejected` if anything failed."""
        if not self.failed:
            for name in self._hashes:
                self._check_ids(FILES_BY_NAME[name])
        if self.failed:
            raise ImportRejected(self.errors, self.error_total)
        if self._first_load is not None and self._events is not None:
            self._derive_first_load(self._first_load, self._events)
        elif self._events is not None:
            self._events.close()
        if self.changed:  # events arrived in a workspace that had some
            self.report.keys_resessionized = len(self.changed)
            self.report.sessions_written = rebuild(
                self.conn, self.workspace_id, self.changed, fresh=not self._had_sessions
            )
        self.report.seconds = time.perf_counter() - self._started
        return self.report

    def _hash_ids(self, spec: FileSpec, ids: Sequence[object]) -> None:
        if spec.name in self._files:
            hashes = np.fromiter(map(hash, ids), np.int64, len(ids))
            self._hashes.setdefault(spec.name, []).append(hashes)

    def _check_ids(self, spec: FileSpec) -> None:
        """Report every id that the file holds twice, with the line of its first row."""
        hashes = np.concatenate(self._hashes[spec.name])
        hashes.sort()
        twice = set(hashes[1:][hashes[1:] == hashes[:-1]].tolist())
        if not twice:
            return
        path = self._files[spec.name]
        header = read_header(path, spec, lambda *_: None) or []
        index = header.index(spec.key)
        first: dict[str, int] = {}
        for line, raw in read_rows(path, lambda *_: None):
            key = raw[index].strip() if index < len(raw) else ""
            if hash(key) in twice and first.setdefault(key, line) != line:
                self.error(spec.name, line, spec.key, _duplicate(spec, key, "line", first[key]))

    def _derive_first_load(self, first: FreshSessions, events: bulk.EventWriter) -> None:
        """Sessions of a first load from the collected columns (before the event indexes
        are built, so their memory is free for the index sorts), else from a scan."""
        stored = self.conn.scalar(
            select(func.count()).select_from(Event).where(Event.workspace_id == self.workspace_id)
        )
        if stored == first.rows:
            self.report.sessions_written = first.write(self.conn, self.workspace_id)
            self.report.keys_resessionized = len(first.keys)
            events.close()
            first.settle_ties(self.conn, self.workspace_id)
        else:  # an event id came twice and its later row replaced the earlier one
            events.close()
            keys, self.report.sessions_written = rebuild_all(self.conn, self.workspace_id)
            self.report.keys_resessionized = keys


def _duplicate(spec: FileSpec, key: str, unit: str, first: int) -> str:
    return (
        f"duplicate {spec.key} {key!r}: already on {unit} {first} "
        "(an id may appear once per file; a later import updates it)"
    )


def contract_files(folder: Path) -> list[tuple[Path, FileSpec]]:
    """The contract's files present in ``folder``, in dependency order."""
    if not folder.is_dir():
        raise ImportRejected([RowError(str(folder), None, None, "not a folder")], 1)
    present = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    missing = [name for name in REQUIRED_FILES if name not in present]
    if missing:
        errors = [RowError(name, None, None, "required file is missing") for name in missing]
        raise ImportRejected(errors, len(errors))
    return [(present[spec.name], spec) for spec in FILES if spec.name in present]


def import_folder(
    engine: Engine,
    folder: Path,
    *,
    workspace: str = "default",
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import a CSV folder into ``workspace`` in one transaction; all or nothing."""
    files = contract_files(folder)
    with engine.connect() as conn:
        transaction = writing(conn).begin()
        try:
            importer = Importer(conn, resolve_workspace(conn, workspace), max_errors=max_errors)
            for path, spec in files:
                if importer.full:
                    break
                importer.add_file(path, spec, progress)
            report = importer.finish()
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()
    if report.events:
        refresh_statistics(engine)
    return report
