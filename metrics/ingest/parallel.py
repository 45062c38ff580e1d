"""Parse and validate a large CSV file in a forked worker while the main process writes.

The worker reads and validates rows (pure Python, holding its own GIL) and hands
batches of parsed values through a bounded queue; the main process writes them
to the database meanwhile. Order is kept (one worker, one FIFO queue), memory
is bounded (at most ``depth`` batches in flight), and errors travel with the
batches so they are reported exactly as in the single-process path. The worker
never touches the database connection it inherits.

Parsing costs more than writing, so on a machine with three or more cores a
file that holds no quote character — where every newline ends a record — is
cut into blocks at newlines and parsed by two workers taking turns (block 0,
2, 4 … and 1, 3, 5 …); the main process reads their queues in block order, so
rows still arrive in file order. A file with quotes (a quoted field may hold a
newline) is read by one worker, as a stream.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path

from metrics.ingest.contract import FILES_BY_NAME, FileSpec
from metrics.ingest.csvfile import block_rows, plan_blocks, read_range, read_rows
from metrics.ingest.validate import RowValidator

PARALLEL_MIN_BYTES = 16 * 2**20
"""Smaller files are parsed in-process: forking would cost more than it saves."""
BLOCK_BYTES = 4 * 2**20
"""Size of the blocks that block-parsing workers take turns on."""
WORKERS = 2 if (os.cpu_count() or 1) >= 3 else 1
"""Block-parsing workers: two only when the main process and both have a core each.
On two cores the import is CPU-bound already and a second parser measured no gain."""


@dataclass
class Chunk:
    rows: list[list[object]] = field(default_factory=list)
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)
    position: int = 0
    done: bool = False
    block_end: bool = False


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
    """Validated batches of ``path``, parsed in child processes, in file order."""
    blocks = plan_blocks(path, BLOCK_BYTES)
    if blocks is not None and len(blocks) > 1 and WORKERS > 1:
        yield from _parse_blocks(
            path, spec, header, known, unchecked, error_budget, batch, depth, blocks
        )
        return
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
            chunk = _receive(channel, worker, spec.name)
            yield chunk
            if chunk.done:
                break
    finally:
        _stop(worker)


def _parse_blocks(
    path: Path,
    spec: FileSpec,
    header: list[str],
    known: dict[str, set[str]],
    unchecked: set[str],
    error_budget: int,
    batch: int,
    depth: int,
    blocks: list[tuple[int, int]],
) -> Iterator[Chunk]:
    context = multiprocessing.get_context("fork")
    channels = [context.Queue(maxsize=depth) for _ in range(WORKERS)]
    workers = [
        context.Process(
            target=_work_blocks,
            args=(
                channels[n],
                path,
                spec.name,
                header,
                known,
                unchecked,
                error_budget,
                batch,
                blocks,
                n,
            ),
            name=f"portalpulse-parse-{n}",
            daemon=True,
        )
        for n in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        for number in range(len(blocks)):
            channel, worker = channels[number % WORKERS], workers[number % WORKERS]
            while True:
                chunk = _receive(channel, worker, spec.name)
                last = number == len(blocks) - 1
                if chunk.block_end:
                    chunk.done = last
                    yield chunk
                    break
                yield chunk
    finally:
        for worker in workers:
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
        spec_name: str,
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
        spec = FILES_BY_NAME[spec_name]
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

    def send(self, position: int, *, done: bool = False, block_end: bool = False) -> None:
        chunk, self.chunk = self.chunk, Chunk()
        chunk.position, chunk.done, chunk.block_end = position, done, block_end
        self.channel.put(chunk)


def _work_blocks(
    channel: multiprocessing.Queue,
    path: Path,
    spec_name: str,
    header: list[str],
    known: dict[str, set[str]],
    unchecked: set[str],
    error_budget: int,
    batch: int,
    blocks: list[tuple[int, int]],
    turn: int,
) -> None:
    """Parse every ``WORKERS``-th block, numbering lines from the newlines before it."""
    out = _Batches(channel, spec_name, header, known, unchecked, error_budget, batch)
    with path.open("rb") as binary:
        line_base = 1  # the header's line
        counted_to = blocks[0][0]
        for number in range(turn, len(blocks), WORKERS):
            start, end = blocks[number]
            line_base += read_range(binary, counted_to, start).count(b"\n")
            counted_to = end
            raw = read_range(binary, start, end)
            if not out.spent:
                for line, values in block_rows(raw, line_base + 1, out.error):
                    out.add(line, values, start)
                    if out.spent:
                        break
            line_base += raw.count(b"\n")
            out.send(end, block_end=True)


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
    """Parse the whole file as a stream (any CSV, quoted newlines included)."""
    out = _Batches(channel, spec_name, header, known, unchecked, error_budget, batch)
    position = 0

    def tick(at: int) -> None:
        nonlocal position
        position = at

    for line, raw in read_rows(path, out.error, tick, every=batch):
        out.add(line, raw, position)
        if out.spent:
            break
    out.send(path.stat().st_size, done=True)
