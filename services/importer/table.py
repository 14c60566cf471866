"""Reading a spreadsheet's CSV export: encoding, delimiter, and rows with their line numbers."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from services.importer.messages import Problem

DELIMITERS = (",", ";")
MAX_BYTES = 20 * 1024 * 1024
"""Files above this size are refused before anything is read (a year's records fit in far less)."""


@dataclass(frozen=True)
class Row:
    """One record of the file: its first physical line and its non-empty cells by column."""

    line: int
    cells: dict[str, str]
    overflow: bool = False
    """True when the row has more cells than the header has columns."""


@dataclass(frozen=True)
class Table:
    """A decoded file: its columns (header order) and its rows."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]


class UnreadableFileError(Exception):
    """The file cannot be read as a table; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.key)
        self.problem = problem


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM) strictly, else Windows-1252 strictly."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError(Problem(1, "", "encoding"))


def _clean(cell: str) -> str:
    return unicodedata.normalize("NFC", cell.strip())


def read_table(data: bytes, known_columns: Iterable[str]) -> Table:
    """Decode a CSV file whose delimiter is the one that splits the header into known columns."""
    if len(data) > MAX_BYTES:
        raise UnreadableFileError(Problem(1, "", "too-large", {"limit": MAX_BYTES // 2**20}))
    text = decode(data)
    known = set(known_columns)
    first_line = text.splitlines()[0] if text.strip() else ""
    if not first_line.strip():
        raise UnreadableFileError(Problem(1, "", "no-header"))
    delimiter = max(
        DELIMITERS,
        key=lambda d: (sum(_clean(c) in known for c in first_line.split(d)), d == ","),
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = tuple(_clean(name) for name in next(reader))
    rows: list[Row] = []
    line = reader.line_num + 1
    for record in reader:
        cells = {
            column: _clean(value)
            for column, value in zip(header, record, strict=False)
            if column and _clean(value)
        }
        overflow = any(_clean(value) for value in record[len(header) :])
        if cells or overflow:
            rows.append(Row(line, cells, overflow))
        line = reader.line_num + 1
    return Table(header, tuple(rows))
