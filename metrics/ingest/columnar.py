"""Column-wise validation of large CSV files with Arrow: the import's fast path.

A large file is cut into blocks of whole lines (see
:func:`metrics.ingest.csvfile.plan_blocks`). A block written in the plain form
that nearly every export uses — printable ASCII, no quotes, every row as wide
as the header, timestamps such as ``2026-11-22T09:30:00Z`` or
``2026-11-22 09:30:00.250+01:00`` — is parsed by Arrow's CSV reader and
checked column by column in C++: required values, enums, references, dates and
timestamps. Anything else in a block (a bad value, an unusual but valid
timestamp form, a short row, a quote, a non-ASCII byte) sends that whole block
to the row validator instead, which accepts and parses exactly what the
contract accepts and names every error by file, line and column. So the fast
path never decides what is wrong; it only recognises what is plainly right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

from metrics.ingest.contract import (
    END_MS,
    FIRST_MS,
    TIMESTAMP_PARSERS,
    Column,
    FileSpec,
    parse_date,
    parse_text,
)
from metrics.ingest.validate import max_length

BLOCK_BYTES = 4 * 2**20
"""Size of the blocks a file is cut into (whole lines): one is written while the next is parsed."""
TIMESTAMP = (
    r"^[1-9]\d{3}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
    r"(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$"
)
"""Timestamp forms that Arrow and ``datetime.fromisoformat`` read alike."""
OFFSET = r"(Z|[+-]\d\d:?\d\d)$"
DATE = r"^[1-9]\d{3}-\d{2}-\d{2}$"
_PLAIN = bytes(range(0x20, 0x7F)).replace(b'"', b"") + b"\t\n\r"
"""Bytes a fast block may hold (a carriage return only before a newline)."""


def supports(spec: FileSpec) -> bool:
    """Whether every column of ``spec`` has a column-wise check."""
    return all(_kind(column) != "" for column in spec.columns)


def _kind(column: Column) -> str:
    if column.parse is parse_text:
        return "text"
    if column.parse in TIMESTAMP_PARSERS:
        return "timestamp"
    if column.parse is parse_date:
        return "date"
    if getattr(column.parse, "allowed", None):
        return "enum"
    return ""


def plain(block: bytes) -> bool:
    """Printable ASCII without quotes, lines ending in ``\\n`` or ``\\r\\n``."""
    if block.translate(None, _PLAIN):
        return False
    return b"\r" not in block or block.count(b"\r") == block.count(b"\r\n")


class Block:
    """The parsed values of one block, as Arrow arrays in the contract's column order.

    Empty cells are null, except where the contract stores another value for
    them (the partner portal's ``""``); timestamps are epoch milliseconds.
    """

    def __init__(self, spec: FileSpec, arrays: Sequence[pa.Array]) -> None:
        self.names = spec.names
        self.arrays = tuple(arrays)
        self._unique = self.names.index(spec.key)
        self._python: dict[int, list[object]] = {}

    def __len__(self) -> int:
        return len(self.arrays[0]) if self.arrays else 0

    def column(self, name: str) -> pa.Array:
        return self.arrays[self.names.index(name)]

    def values(self, index: int) -> list[object]:
        """Python values of one column (converted once)."""
        if index not in self._python:
            array = self.arrays[index]
            self._python[index] = _plain_list(array) if index == self._unique else _python(array)
        return self._python[index]

    def tuples(self) -> Iterator[tuple[object, ...]]:
        """Python value tuples, as the row validator would have produced them, made lazily
        (a consumer that drops each tuple lets ``zip`` reuse it)."""
        return zip(*(self.values(i) for i in range(len(self.arrays))), strict=True)

    def rows(self) -> list[tuple[object, ...]]:
        return list(self.tuples())


def _python(array: pa.Array) -> list[object]:
    """Python values of an array; repeated strings share one object (ids, enums)."""
    if pa.types.is_string(array.type) and len(array):
        encoded = pc.dictionary_encode(array)
        words = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
        indices = encoded.indices.fill_null(len(encoded.dictionary))
        return words[indices.to_numpy(zero_copy_only=False)].tolist()
    if pa.types.is_timestamp(array.type):
        micros = array.cast(pa.int64())
        if micros.null_count:
            return [None if v is None else v // 1000 for v in micros.to_pylist()]
        return np.floor_divide(micros.to_numpy(), 1000).tolist()
    return _plain_list(array)


def _plain_list(array: pa.Array) -> list[object]:
    """Python values through one C++ conversion (``to_pylist`` builds a scalar per cell)."""
    return array.to_numpy(zero_copy_only=False).tolist()


class ColumnarParser:
    """Validates plain blocks of one file column-wise; None means "use the row validator"."""

    def __init__(
        self,
        spec: FileSpec,
        header: Sequence[str],
        known: Callable[[str], set[str]],
        unchecked: set[str],
    ) -> None:
        position = {name: i for i, name in enumerate(header)}
        self.spec = spec
        self.width = len(header)
        self.field_names = [f"c{i}" for i in range(self.width)]
        self.columns = [
            (
                column,
                position.get(column.name, -1),
                _kind(column),
                pa.array(sorted(known(column.ref)), pa.string())
                if column.ref and column.ref not in unchecked
                else None,
            )
            for column in spec.columns
        ]
        order = {name: i for i, name in enumerate(spec.names)}
        self.checks = [
            (tuple(order[c] for c in check.columns), check.test) for check in spec.checks
        ]
        used = sorted({index for _c, index, _k, _r in self.columns if index >= 0})
        self._read = arrow_csv.ReadOptions(column_names=self.field_names, use_threads=True)
        self._parse = arrow_csv.ParseOptions(quote_char=False, newlines_in_values=False)
        self._convert = arrow_csv.ConvertOptions(
            column_types={name: pa.string() for name in self.field_names},
            strings_can_be_null=False,
            include_columns=[self.field_names[i] for i in used],
        )

    def parse(self, block: bytes) -> Block | None:
        """The block's values if every row is plainly valid, else None."""
        if not block or block.isspace() or not plain(block):
            return None
        try:
            table = arrow_csv.read_csv(
                pa.py_buffer(block),
                read_options=self._read,
                parse_options=self._parse,
                convert_options=self._convert,
            )
        except pa.ArrowInvalid:  # a row of another width, mostly
            return None
        rows = table.num_rows
        arrays: list[pa.Array] = []
        for column, index, kind, refs in self.columns:
            if index < 0:
                if column.required:
                    return None
                arrays.append(
                    pa.nulls(rows, pa.string())
                    if column.empty is None
                    else pa.array([column.empty] * rows, pa.string())
                )
                continue
            raw = table.column(self.field_names[index]).combine_chunks()
            value = self._check(column, kind, refs, pc.ascii_trim(raw, " \t"))
            if value is None:
                return None
            arrays.append(value)
        parsed = Block(self.spec, arrays)
        return parsed if self._rows_pass(parsed) else None

    def _check(
        self, column: Column, kind: str, refs: pa.Array | None, value: pa.Array
    ) -> pa.Array | None:
        """The column's parsed values (null where empty), or None if any cell is off."""
        lengths = pc.binary_length(value)  # ASCII only here: bytes are characters
        limit = max_length(self.spec, column.name) if kind == "text" else None
        if limit is not None and (pc.max(lengths).as_py() or 0) > limit:
            return None  # the row validator names the cell
        empty = pc.equal(lengths, 0)
        has_empty = pc.any(empty).as_py()
        if column.required and has_empty:
            return None
        filled = pc.invert(empty)
        if kind == "enum":
            value = pc.ascii_lower(value)
            allowed = pa.array(column.parse.allowed, pa.string())  # type: ignore[attr-defined]
            if not _all_where(pc.is_in(value, value_set=allowed), filled):
                return None
        elif kind in ("timestamp", "date"):
            pattern = TIMESTAMP if kind == "timestamp" else DATE
            if not _all_where(pc.match_substring_regex(value, pattern), filled):
                return None
            value = _parse_times(value, kind)
            if value is None:
                return None
            if kind == "timestamp" and not _in_supported_range(value):
                return None  # the row validator names the cell
        if refs is not None and not _all_where(pc.is_in(value, value_set=refs), filled):
            return None
        if not has_empty:
            return value
        if column.empty is None:
            return pc.if_else(empty, pa.scalar(None, value.type), value)
        return pc.if_else(empty, pa.scalar(column.empty, value.type), value)

    def _rows_pass(self, block: Block) -> bool:
        """The contract's rules across columns hold on every row.

        A rule is the contract's own Python function, called once per distinct
        combination of its columns' values (a handful: these are enums) rather
        than once per row.
        """
        for indexes, test in self.checks:
            combinations = _distinct_rows([block.arrays[i] for i in indexes])
            if combinations is None:  # too many to enumerate: every row
                combinations = zip(*(block.values(i) for i in indexes), strict=True)
            if any(test(*values) for values in combinations):
                return False
        return True


def _distinct_rows(arrays: Sequence[pa.Array]) -> list[tuple[object, ...]] | None:
    """The distinct rows of some columns as Python values, or None if there could be too many."""
    codes = np.zeros(len(arrays[0]), dtype=np.int64)
    choices: list[list[object]] = []
    width = 1
    for array in arrays:
        encoded = pc.dictionary_encode(array)
        words = [*_python(encoded.dictionary), None]  # the last one stands for null
        width *= len(words)
        if width > 2**40:
            return None
        indices = encoded.indices.fill_null(len(words) - 1).to_numpy().astype(np.int64)
        codes = codes * len(words) + indices
        choices.append(words)
    rows = []
    for code in np.unique(codes).tolist():
        values = []
        for words in reversed(choices):
            code, index = divmod(code, len(words))
            values.append(words[index])
        rows.append(tuple(reversed(values)))
    return rows


def _all_where(ok: pa.Array, where: pa.Array) -> bool:
    """Every cell where ``where`` holds is ``ok``."""
    return bool(pc.all(pc.or_(ok, pc.invert(where))).as_py())


_FIRST = pa.scalar(FIRST_MS * 1000, pa.timestamp("us", tz="UTC"))
_END = pa.scalar(END_MS * 1000, pa.timestamp("us", tz="UTC"))


def _in_supported_range(times: pa.Array) -> bool:
    """Every instant lies in the contract's supported range (nulls aside)."""
    ok = pc.and_(pc.greater_equal(times, _FIRST), pc.less(times, _END))
    return bool(pc.all(pc.fill_null(ok, True)).as_py())


def _parse_times(value: pa.Array, kind: str) -> pa.Array | None:
    """Timestamps (no offset means UTC) or dates; empty cells come back null; None if invalid."""
    filled = pc.if_else(pc.equal(pc.binary_length(value), 0), pa.scalar(None, pa.string()), value)
    try:
        if kind == "date":
            return pc.cast(filled, pa.date32())
        zoned = pc.match_substring_regex(filled, OFFSET)
        text = pc.if_else(zoned, filled, pc.binary_join_element_wise(filled, "Z", ""))
        return pc.cast(text, pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        return None
