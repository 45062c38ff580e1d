"""Reading contract CSV files: header checks and numbered rows, UTF-8 line by line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from metrics.ingest.contract import FileSpec

ErrorSink = Callable[[int, str | None, str], None]
"""Called with (line, column, message)."""


class NotUtf8(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def utf8_lines(binary: IO[bytes]) -> Iterator[str]:
    """Decode line by line, so a bad byte is reported on its own line."""
    for number, raw in enumerate(binary, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotUtf8(
                number, f"byte 0x{raw[exc.start]:02x} at position {exc.start + 1}"
            ) from None
        yield line.removeprefix("\ufeff") if number == 1 else line


def blank(values: list[str]) -> bool:
    """A row with no values, or a single blank one (a blank line): skipped, not an error."""
    return not values or (len(values) == 1 and not values[0].strip())


def read_header(path: Path, spec: FileSpec, error: ErrorSink) -> list[str] | None:
    """The lower-cased header, or None after reporting why the file cannot be read."""
    with path.open("rb") as binary:
        try:
            header = next(csv.reader(utf8_lines(binary)), None)
        except NotUtf8 as exc:
            error(exc.line, None, f"not UTF-8 text: {exc.reason}")
            return None
        except csv.Error as exc:
            error(1, None, f"malformed CSV: {exc}")
            return None
    if header is None:
        error(1, None, "the file is empty (a header row is required)")
        return None
    names = [h.strip().lower() for h in header]
    missing = [c for c in spec.required if c not in names]
    for column in missing:
        error(1, column, "required column is missing from the header")
    repeated = False
    for column in spec.names:  # which of two would count? refused rather than guessed
        places = [str(i) for i, name in enumerate(names, start=1) if name == column]
        if len(places) > 1:
            error(1, column, f"column appears {len(places)} times in the header "
                             f"(positions {', '.join(places)}); keep one")  # fmt: skip
            repeated = True
    return None if missing or repeated else names


def read_rows(
    path: Path,
    error: ErrorSink,
    tick: Callable[[int], object] | None = None,
    every: int = 20_000,
) -> Iterator[tuple[int, list[str]]]:
    """Non-blank data rows with the line they start on; a decoding or CSV error ends the file.

    A record may span lines (a quoted field with line breaks): it is numbered by its
    first line, so a quote that is never closed — which swallows the rest of the file
    into one field — is reported where it was opened, not where the file ends.

    ``tick`` is called with the byte position every ``every`` rows. The file is
    decoded in blocks (several times faster than line by line); only when a
    block is not UTF-8 is the file re-read line by line to name the bad line.
    """
    with path.open("rb") as binary:
        reader = csv.reader(io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""))
        start = 2
        try:
            next(reader, None)
            start = reader.line_num + 1
            pending: tuple[int, list[str]] | None = None
            for done, values in enumerate(reader, start=1):
                if pending is not None:
                    yield pending
                    pending = None
                if not blank(values):
                    if reader.line_num > start:  # spans lines: held until it is not the last
                        pending = (start, values)
                    else:
                        yield start, values
                start = reader.line_num + 1
                if tick is not None and done % every == 0:
                    tick(binary.tell())
            if pending is not None:
                if _unterminated(pending[1], path):
                    error(pending[0], None, UNTERMINATED)
                else:
                    yield pending
        except UnicodeDecodeError:
            with path.open("rb") as again:
                bad = first_bad_line(again)
            error(bad.line, None, f"not UTF-8 text: {bad.reason}")
        except csv.Error as exc:
            error(start, None, f"malformed CSV in the record that starts here: {exc}")


UNTERMINATED = "malformed CSV: a quote opened in this record is never closed"


def _unterminated(values: list[str], path: Path) -> bool:
    """The file ended inside a quoted field: the field kept the file's last line break,
    and no closing quote ends the file."""
    if not values or not values[-1].endswith(("\n", "\r")):
        return False
    with path.open("rb") as binary:
        binary.seek(max(0, path.stat().st_size - 8))
        return not binary.read().rstrip(b"\r\n").endswith(b'"')


def block_rows(block: bytes, first_line: int, error: ErrorSink) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows of a block of whole lines that starts on line ``first_line``.

    A block that is not UTF-8 reports the bad byte on its own line and yields nothing.
    """
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        bad = first_bad_line(io.BytesIO(block))
        error(first_line - 1 + bad.line, None, f"not UTF-8 text: {bad.reason}")
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for values in reader:
            if not blank(values):
                yield first_line - 1 + reader.line_num, values
    except csv.Error as exc:
        error(first_line - 1 + reader.line_num, None, f"malformed CSV: {exc}")


def plan_blocks(path: Path, size: int, chunk: int = 1 << 20) -> list[tuple[int, int]] | None:
    """``(start, end)`` byte ranges of whole lines after the header, or None if quoted.

    Each block ends at the first newline at least ``size`` bytes after its start.
    None when the file holds a ``"`` anywhere: then a newline may sit inside a
    quoted field and only a stream reader can tell records apart. The file is
    read once, ``chunk`` bytes at a time.
    """
    blocks: list[tuple[int, int]] = []
    start: int | None = None  # where the current block starts (None: still in the header)
    offset = 0  # of the chunk in the file
    with path.open("rb") as binary:
        while data := binary.read(chunk):
            if b'"' in data:
                return None
            at = 0
            while True:
                if start is None:
                    newline = data.find(b"\n", at)
                    if newline < 0:
                        break
                    start, at = offset + newline + 1, newline + 1
                    continue
                newline = data.find(b"\n", max(start + size - offset, at))
                if newline < 0:
                    break
                blocks.append((start, offset + newline + 1))
                start, at = offset + newline + 1, newline + 1
            offset += len(data)
    if offset == 0:
        return None
    if start is not None and start < offset:
        blocks.append((start, offset))
    return blocks


def read_range(binary: IO[bytes], start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` of an open file."""
    binary.seek(start)
    return binary.read(end - start)


def first_bad_line(binary: IO[bytes]) -> NotUtf8:
    """Where text that failed to decode first goes wrong (line counted from 1)."""
    try:
        for _line in utf8_lines(binary):
            pass
    except NotUtf8 as exc:
        return exc
    return NotUtf8(1, "undecodable text")  # pragma: no cover - only called after a failure
