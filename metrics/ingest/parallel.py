"""Parse and validate a large quoted CSV file in a forked worker while the main process writes.

Quote-free files take the column-wise path (:mod:`metrics.ingest.columnar`). A
file with quotes — where a quoted field may hold a newline, so only a stream
reader can tell records apart — is read here, as a stream, by the row
validator in one worker process (pure Python, holding its own GIL), which hands
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
from multiprocessing.process import BaseProcess
from pathlib import Path

from metrics.ingest.contract import FileSpec
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
    out = _Batches(channel, spec, header, known, unchecked, error_budget, batch)
    worker = context.Process(
        target=_work,
        args=(out, path),  # forked: the child works on its own copy
        name="portalpulse-parse",
        daemon=True,
    )
    worker.start()
    try:
        while True:
            chunk = _receive(channel, worker, spec.name)
            yield chunk
            if chunk.done:
                break
    finally:
        _stop(worker)


def _receive(channel: multiprocessing.Queue, worker: BaseProcess, name: str) -> Chunk:
    while True:
        try:
            return channel.get(timeout=1.0)
        except queue_module.Empty:
            if not worker.is_alive():
                raise RuntimeError(
                    f"the parser of {name} stopped unexpectedly (exit {worker.exitcode})"
                ) from None


def _stop(worker: BaseProcess) -> None:
    if worker.is_alive():
        worker.terminate()
    worker.join()


class _Batches:
    """A worker's validator and the chunk it fills; errors travel with the chunk."""

    def __init__(
        self,
        channel: multiprocessing.Queue,
        spec: FileSpec,
        header: list[str],
        known: dict[str, set[str]],
        unchecked: set[str],
        error_budget: int,
        batch: int,
    ) -> None:
        self.channel = channel
        self.budget = error_budget
        self.batch = batch
        self.chunk = Chunk()
        self.errors_seen = 0
        self.validate = RowValidator(spec, header, known.__getitem__, unchecked, self.error)

    def error(self, line: int, column: str | None, message: str) -> None:
        self.errors_seen += 1
        self.chunk.errors.append((line, column, message))

    @property
    def spent(self) -> bool:
        """The error budget is used up: stop reading."""
        return self.errors_seen >= self.budget

    def add(self, line: int, raw: list[str], position: int) -> None:
        """Validate one row; send the chunk once it holds a batch of rows or errors."""
        values = self.validate(line, raw)
        if values is not None and not self.errors_seen:
            self.chunk.rows.append(values)
        if len(self.chunk.rows) >= self.batch or len(self.chunk.errors) >= self.batch:
            self.send(position)

    def send(self, position: int, *, done: bool = False) -> None:
        chunk, self.chunk = self.chunk, Chunk()
        chunk.position, chunk.done = position, done
        self.channel.put(chunk)


def _work(out: _Batches, path: Path) -> None:
    """Parse the whole file as a stream (any CSV, quoted newlines included)."""
    position = 0

    def tick(at: int) -> None:
        nonlocal position
        position = at

    for line, raw in read_rows(path, out.error, tick, every=out.batch):
        out.add(line, raw, position)
        if out.spent:
            break
    out.send(path.stat().st_size, done=True)
