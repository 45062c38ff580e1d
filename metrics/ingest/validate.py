"""Row validation compiled per file: the hot loop of every import.

A :class:`RowValidator` is built once per file from its header and the
contract's :class:`~metrics.ingest.contract.FileSpec`; it then checks raw value
lists (as the CSV reader yields them) without building a dict per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from metrics.ingest.contract import FileSpec, parse_text

NUL_MESSAGE = "contains a NUL character (\\x00), which cannot be stored"


SURROGATE_MESSAGE = "is not valid Unicode text (it holds a lone surrogate code point)"


def _encodable(value: str) -> bool:
    """False for text with lone surrogates (JSON ``"\\ud800"``): no database can store it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def max_length(spec: FileSpec, column: str) -> int | None:
    """The longest value ``column`` of ``spec`` can store (ids: 255), None if unbounded.

    Checked here, on every backend, so that SQLite (which ignores lengths) and
    PostgreSQL (which refuses longer values) accept and reject the same input.
    """
    stored = spec.model.__table__.c.get(column)
    return getattr(stored.type, "length", None) if stored is not None else None


ErrorSink = Callable[[int, str | None, str], None]
"""Called with (line, column, message) for each problem."""


def entity_label(file_name: str) -> str:
    """``team_members.csv`` → ``team member``."""
    return file_name.removesuffix(".csv").removesuffix("s").replace("_", " ")


class RowValidator:
    """Checks and parses rows of one file, in the contract's column order."""

    def __init__(
        self,
        spec: FileSpec,
        header: Sequence[str],
        known: Callable[[str], set[str]],
        unchecked: set[str],
        error: ErrorSink,
    ) -> None:
        position = {name: i for i, name in enumerate(header)}
        self.width = len(header)
        self.key_index = position[spec.key]
        self.error = error
        self.columns = [
            (
                column.name,
                position.get(column.name, -1),
                None if column.parse is parse_text else column.parse,
                column.required,
                known(column.ref) if column.ref and column.ref not in unchecked else None,
                entity_label(column.ref) if column.ref else "",
                column.empty,
                max_length(spec, column.name) if column.parse is parse_text else None,
            )
            for column in spec.columns
        ]
        order = {name: i for i, name in enumerate(spec.names)}
        self.checks = [
            (tuple(order[c] for c in check.columns), check.blame, check.test)
            for check in spec.checks
        ]

    def __call__(self, line: int, raw: Sequence[str]) -> list[object] | None:
        """Parsed values in the contract's column order, or None after reporting errors."""
        size = len(raw)
        if size > self.width:
            self.error(line, None, f"{size} values for {self.width} columns (unquoted comma?)")
            return None
        values: list[object] = []
        ok = True
        for name, index, parse, required, refs, label, empty, limit in self.columns:
            value = raw[index].strip() if -1 < index < size else ""
            if not value:
                if required:
                    self.error(line, name, "a value is required")
                    ok = False
                values.append(empty)
                continue
            if "\x00" in value:
                self.error(line, name, NUL_MESSAGE)
                ok = False
                values.append(None)
                continue
            if not value.isascii() and not _encodable(value):
                self.error(line, name, SURROGATE_MESSAGE)
                ok = False
                values.append(None)
                continue
            if limit is not None and len(value) > limit:
                self.error(line, name, f"{len(value)} characters; at most {limit} allowed")
                ok = False
                values.append(None)
                continue
            if parse is not None:
                try:
                    values.append(parse(value))
                except ValueError as exc:
                    self.error(line, name, str(exc))
                    ok = False
                    values.append(None)
                    continue
            else:
                values.append(value)
            if refs is not None and value not in refs:
                self.error(line, name, f"unknown {label} {value!r}")
                ok = False
        if not ok:
            return None
        for indexes, blame, test in self.checks:
            message = test(*(values[i] for i in indexes))
            if message:
                self.error(line, blame, message)
                ok = False
        return values if ok else None

    def key(self, raw: Sequence[str]) -> str:
        """The row's id as written (stripped), or ``""``."""
        return raw[self.key_index].strip() if self.key_index < len(raw) else ""
