"""Reading spreadsheet exports: encodings, delimiters, line numbers (contract §13, §16.17)."""

from __future__ import annotations

import pytest

from services.importer.kinds import KINDS
from services.importer.run import import_key
from services.importer.table import MAX_BYTES, UnreadableFileError, read_table

COLUMNS = KINDS["cooperatives"].columns


def test_utf8_with_comma_delimiter_is_read_with_cells_by_column() -> None:
    table = read_table(b"name,region\nLa Remise,06\n", COLUMNS)
    assert table.columns == ("name", "region")
    assert [(row.line, row.cells) for row in table.rows] == [
        (2, {"name": "La Remise", "region": "06"})
    ]


def test_utf8_with_bom_and_semicolons_is_read() -> None:
    data = "\ufeffname;region;sector\nL'Établi;03;design\n".encode()
    table = read_table(data, COLUMNS)
    assert table.rows[0].cells == {"name": "L'Établi", "region": "03", "sector": "design"}


def test_windows_1252_file_is_decoded() -> None:
    data = "name;region\nCoop Élan;06\n".encode("cp1252")
    assert read_table(data, COLUMNS).rows[0].cells["name"] == "Coop Élan"


def test_delimiter_is_the_one_that_splits_the_header_into_known_columns() -> None:
    data = b"name;region\nA, B et C;06\n"
    assert read_table(data, COLUMNS).rows[0].cells == {"name": "A, B et C", "region": "06"}


def test_a_file_in_no_known_encoding_is_a_problem_on_line_1() -> None:
    with pytest.raises(UnreadableFileError) as raised:
        read_table(b"name\n\x81\x8d\x8f\x90\x9d\xff\xfe\n", COLUMNS)
    assert (raised.value.problem.line, raised.value.problem.key) == (1, "encoding")


def test_an_empty_file_is_a_problem_on_line_1() -> None:
    with pytest.raises(UnreadableFileError) as raised:
        read_table(b"", COLUMNS)
    assert raised.value.problem.key == "no-header"


def test_a_file_over_the_size_limit_is_refused_before_reading() -> None:
    with pytest.raises(UnreadableFileError) as raised:
        read_table(b"x" * (MAX_BYTES + 1), COLUMNS)
    assert raised.value.problem.key == "too-large"


def test_a_row_is_numbered_by_its_first_physical_line() -> None:
    data = b'name,region\n"Coop\nsur deux lignes",06\nAutre,03\n'
    table = read_table(data, COLUMNS)
    assert [row.line for row in table.rows] == [2, 4]


def test_empty_cells_are_absent_fields_and_blank_lines_are_skipped() -> None:
    table = read_table(b"name,region,neq\nA,06,\n\n,,\nB,03, \n", COLUMNS)
    assert [row.cells for row in table.rows] == [
        {"name": "A", "region": "06"},
        {"name": "B", "region": "03"},
    ]


def test_cells_beyond_the_header_mark_the_row() -> None:
    table = read_table(b"name,region\nA,06,extra\n", COLUMNS)
    assert table.rows[0].overflow


def test_import_key_ignores_surrounding_spaces_and_unicode_composition() -> None:
    composed = read_table("name,region\nÉlan ,06\n".encode(), COLUMNS).rows[0]
    decomposed = read_table("name,region\n E\u0301lan,06\n".encode(), COLUMNS).rows[0]
    kind = KINDS["cooperatives"]
    assert import_key(kind, composed) == import_key(kind, decomposed)
    assert import_key(kind, composed).startswith("import:")
    assert import_key(KINDS["activities"], composed) != import_key(kind, composed)
