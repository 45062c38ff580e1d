"""Parse and validate a large CSV file in a forked worker while the main process writes.

The worker reads and validates rows (pure Python, holding its own GIL) and hands
batches of parsed values through a bounded queue; the main process writes them
to the database meanwhile. Order is kept (one worker, one FIFO queue), memory
is bounded (at most ``depth`` batches in flight), and errors travel with the
batches so they are reported exactly as in the single-process path. The worker
never touches the database connection it inherits.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from metrics.ingest.contract import FILES_BY_NAME, FileSpec
from metrics.ingest.csvfile import read_rows
from metrics.ingest.validate import RowValidator

PARALLEL_MIN_BYTES = 16 * 2**20
"""Smaller files are parsed in-process: forking would cost more than it saves."""


@dataclass
class Chunk:
    rows: list[list[object]] = field(default_factory=list)
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)
    position: int = 0
    done: bool = False


def available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def parse_in_worker(
    path: Path,
    spec: FileSpec,
    header: list[str],
    known: dict[str, set[str]],
    unchecked: set[str],
    error_budget: int,
    batch: int,
    depth: int = 4,
) -> Iterator[Chunk]:
    """Validated batches of ``path``, parsed in a child process, in file order."""
    context = multiprocessing.get_context("fork")
    channel = context.Queue(maxsize=depth)
    worker = context.Process(
        target=_work,
        args=(channel, path, spec.name, header, known, unchecked, error_budget, batch),
        name="portalpulse-parse",
        daemon=True,
    )
    worker.start()
    try:
        while True:
            try:
                chunk = channel.get(timeout=1.0)
            except queue_module.Empty:
                if not worker.is_alive():
                    raise RuntimeError(
                        f"the parser of {spec.name} stopped unexpectedly (exit {worker.exitcode})"
                    ) from None
                continue
            yield chunk
            if chunk.done:
                break
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()


def _work(
    channel: multiprocessing.Queue,
    path: Path,
    spec_name: str,
    header: list[str],
    known: dict[str, set[str]],
    unchecked: set[str],
    error_budget: int,
    batch: int,
) -> None:
    chunk = Chunk()
    errors_seen = 0

    def error(line: int, column: str | None, message: str) -> None:
        nonlocal errors_seen
        errors_seen += 1
        chunk.errors.append((line, column, message))

    validate = RowValidator(FILES_BY_NAME[spec_name], header, known.__getitem__, unchecked, error)
    position = 0

    def tick(at: int) -> None:
        nonlocal position
        position = at

    for line, raw in read_rows(path, error, tick, every=batch):
        values = validate(line, raw)
        if values is not None and not errors_seen:
            chunk.rows.append(values)
        if errors_seen >= error_budget:
            break
        if len(chunk.rows) >= batch or len(chunk.errors) >= batch:
            chunk.position = position
            channel.put(chunk)
            chunk = Chunk()
    chunk.position = path.stat().st_size
    chunk.done = True
    channel.put(chunk)
