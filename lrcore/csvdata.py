"""Bring your own data: a CSV file read into a Dataset (a small one travels in a link:
linkpoints.py).

    >>> from lrcore.csvdata import load_csv
    >>> csv = load_csv(b"hours;score\\n1;52\\n2;61\\n4;70\\n")
    >>> csv.x_col, csv.y_col, csv.columns
    ('hours', 'score', ('hours', 'score'))

The first line is the header (unless it holds only numbers); the separator (comma, semicolon,
tab or bar) is sniffed; UTF-8 (with or without BOM), UTF-16 with BOM and Windows-1252/Latin-1
text are read. Empty cells and NA/NaN/null are missing: rows missing x or y are dropped and
counted. Anything else that cannot be fitted raises CsvError with one sentence naming the
column, the row and the limit. Rows are numbered as a spreadsheet shows the file: the header
is row 1.

This is the one lrcore module that uses pandas, and it imports it only when a file is read, so
`import lrcore` stays NumPy-only.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .data import LIMIT, DataError, Dataset, as_dataset

# A page draws every point in the browser and trains on all of them at each rerun: 100,000
# points is still a quick scatter plot and a few milliseconds per closed-form fit, and is far
# more than a class exercise needs. 10 MB holds 100,000 rows of several columns.
MAX_ROWS = 100_000
MAX_BYTES = 10_000_000
# |v| ≤ 1e100 keeps v², and the sums of 100,000 of them, far below float64's 1.8e308.
MAX_ABS = LIMIT
_MAX_ABS_TEXT = f"{MAX_ABS:.0e}".replace("e+", "e")  # 1e100

_MISSING = frozenset({"", "na", "n/a", "#n/a", "nan", "-nan", "null", "none", "<na>"})
_SEPARATORS = ",;\t|"
_SNIFF_CHARS = 4096


class CsvError(DataError):
    """A file or link that cannot become a Dataset; the message says why in one sentence."""


@dataclass(frozen=True, eq=False)
class CsvData:
    """A CSV file read for fitting: the chosen columns as a Dataset and what the page needs to
    offer other columns and to say what was changed."""

    data: Dataset  # x, y: float64, read-only, rows with missing values dropped
    columns: tuple[str, ...]  # the columns that hold numbers, in file order: the pickers' list
    x_col: str
    y_col: str
    rows_dropped: int  # rows missing x or y (blank lines are not counted)
    notes: tuple[str, ...] = ()  # short sentences for the page: what was read how, what dropped

    def __repr__(self) -> str:
        return (
            f"CsvData({self.y_col!r} vs {self.x_col!r}, n={len(self.data)}, "
            f"dropped={self.rows_dropped})"
        )


class _Column(NamedTuple):
    values: np.ndarray  # float64, NaN where missing or text
    cells: object  # the column's stripped text (a pandas Series), for messages
    text_at: int | None  # position of the first cell that is neither a number nor missing


class _Table(NamedTuple):
    columns: dict[str, _Column]  # every column, by its (deduplicated) name, in file order
    rows: np.ndarray  # each data row's number in the file, counting the header as row 1
    notes: list[str]


def load_csv(
    source,
    x_col: str | None = None,
    y_col: str | None = None,
    *,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_BYTES,
) -> CsvData:
    """Read a CSV file (bytes, a path, or a binary file-like such as Streamlit's UploadedFile)
    and fit-ready x, y from columns x_col and y_col (by default the first two that hold
    numbers). Raise CsvError with one sentence for anything that cannot be fitted."""
    raw, name = _read(source, max_bytes)
    text, notes = _decode(raw)
    table = _parse(text, max_rows)
    x_col, y_col = _pick(table, x_col, y_col)
    x, y = (table.columns[c].values for c in (x_col, y_col))
    for col in (x_col, y_col):
        _check_magnitude(col, table.columns[col], table.rows)
    keep = ~(np.isnan(x) | np.isnan(y))
    dropped = table.rows[~keep]
    _check_rows(int(keep.sum()), len(dropped), x_col, y_col)
    data = _fit_ready(x[keep], y[keep], x_col, name)
    notes += table.notes + ([_dropped_note(dropped)] if len(dropped) else [])
    columns = tuple(
        c
        for c, col in table.columns.items()
        if col.text_at is None and not np.isnan(col.values).all()
    )
    return CsvData(data, columns, x_col, y_col, len(dropped), tuple(notes))


# --- reading and decoding -------------------------------------------------------------------


def _read(source, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes (refusing more than max_bytes) and a short name for it."""
    if isinstance(source, bytes | bytearray | memoryview):
        raw, name = bytes(source), "uploaded data"
    elif isinstance(source, str | os.PathLike):
        raw, name = _read_path(Path(source), max_bytes), Path(source).stem
    elif hasattr(source, "read"):
        getvalue = getattr(source, "getvalue", None)  # BytesIO, UploadedFile: whole, any position
        raw = getvalue() if callable(getvalue) else source.read(max_bytes + 1)
        if not isinstance(raw, bytes | bytearray):
            raise TypeError("load_csv needs a file opened in binary mode ('rb')")
        raw, name = bytes(raw), Path(str(getattr(source, "name", "") or "uploaded data")).stem
    else:
        raise TypeError(f"load_csv reads bytes, a path or a binary file, not {type(source)}")
    if len(raw) > max_bytes:
        raise CsvError(f"the file is larger than the {_size(max_bytes)} limit")
    return raw, name


def _read_path(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise CsvError(f"the file is {_size(size)}, above the {_size(max_bytes)} limit")
        with path.open("rb") as file:
            return file.read(max_bytes + 1)
    except OSError as error:
        raise CsvError(f"cannot read {path.name}: {error.strerror or error}") from None


def _size(count: int) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


def _decode(raw: bytes) -> tuple[str, list[str]]:
    """The file as text: UTF-16 with a BOM, else UTF-8, else Windows-1252, else Latin-1."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), ["read as UTF-16 text"]
        except UnicodeDecodeError:
            raise CsvError("the file starts like UTF-16 text but is not valid UTF-16") from None
    if raw.startswith(b"PK\x03\x04"):
        raise CsvError(
            "this looks like an Excel workbook or a zip archive, not a text CSV "
            "file; save it as CSV first"
        )
    if _looks_binary(raw[:8192]):
        raise CsvError("this does not look like a text CSV file: it holds binary data")
    raw = raw.removeprefix(codecs.BOM_UTF8)
    for encoding, label in (("utf-8", ""), ("cp1252", "Windows-1252"), ("latin-1", "Latin-1")):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, ([f"read as {label} text, since it is not UTF-8"] if label else [])
    raise AssertionError("Latin-1 decodes any bytes")


def _looks_binary(head: bytes) -> bool:
    """A NUL byte, or more than 1% control characters other than tab, newlines and form feed."""
    controls = sum(head.count(bytes([c])) for c in range(32) if chr(c) not in "\t\n\v\f\r")
    return b"\0" in head or controls > 0.01 * len(head)


# --- parsing into columns -------------------------------------------------------------------


def _parse(text: str, max_rows: int) -> _Table:
    """The table's columns by name, with the header found, duplicates renamed, blank lines
    skipped and the row limit enforced."""
    if not text.strip():
        raise CsvError("the file is empty")
    blank = re.match(r"(?:[ \t]*\r?\n)*", text).group()  # pandas cannot start on a blank line
    text, skipped = text[len(blank) :], blank.count("\n")
    sep = _sniff(text)
    cells = _read_cells(text, sep, skipped)
    cells, names, notes = _header(cells)
    if len(cells) > max_rows:
        raise CsvError(f"the file has more than {max_rows:,} rows of data, the limit")
    if sep != ",":
        notes.insert(0, f"read {_SEP_NAMES[sep]} as the column separator")
    columns = {}
    for name, (_, column) in zip(names, cells.items(), strict=True):
        columns[name], decimal_comma = _column(column, sep)
        if decimal_comma:
            notes.append(f"read ',' as the decimal point in column {_quote(name)}")
    return _Table(columns, cells.index.to_numpy() + 1 + skipped, notes)


_SEP_NAMES = {";": "';'", "\t": "tab", "|": "'|'"}


def _sniff(text: str) -> str:
    """The column separator, guessed from the first few lines; a comma when unsure."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SEPARATORS).delimiter
    except csv.Error:
        return ","


def _read_cells(text: str, sep: str, skipped: int):
    """Every cell as stripped text ('' where empty); the index counts the file's lines from 0
    after the `skipped` blank ones (later blank lines are dropped but keep their number)."""
    import pandas as pd

    try:
        cells = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as error:
        raise CsvError(_parser_message(error, skipped)) from None
    cells = cells.fillna("").apply(lambda column: column.str.strip())
    return cells[(cells != "").any(axis=1)]


def _header(cells):
    """The data rows, the column names and notes: the first row is the header unless it holds
    only numbers."""
    header = list(cells.iloc[0])
    if all(_is_number(cell) for cell in header):
        note = (
            "the first row holds only numbers, so it was read as data and the columns are "
            "called column 1, column 2, ..."
        )
        return cells, [f"column {k}" for k in range(1, len(header) + 1)], [note]
    names, notes = _unique_names(header)
    if len(cells) == 1:
        raise CsvError(f"the file has a header ({_names(names)}) but no rows of data")
    return cells.iloc[1:], names, notes


def _parser_message(error: Exception, skipped: int) -> str:
    message = str(error).strip()
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = found.groups()
        return (
            f"row {int(line) + skipped} has {saw} fields but the first row has "
            f"{expected}; check the separator and the quotes"
        )
    message = message.removeprefix("Error tokenizing data. C error: ").splitlines()[0]
    return f"the file could not be read as CSV ({message})"


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell)) and "_" not in cell
    except ValueError:
        return False


def _unique_names(header: list[str]) -> tuple[list[str], list[str]]:
    """Header names, an empty one called 'column k', a repeated one 'name (2)', 'name (3)'."""
    names, notes, seen = [], [], set()
    for k, name in enumerate(header, start=1):
        unique, copy = name or f"column {k}", 1
        while unique in seen:
            copy += 1
            unique = f"{name} ({copy})"
        if name and unique != name:
            notes.append(
                f"column {k} repeats the name {_quote(name)}, so it is called {_quote(unique)} here"
            )
        seen.add(unique)
        names.append(unique)
    return names, notes


def _column(cells, sep: str) -> tuple[_Column, bool]:
    """One column's numbers (NaN where missing or text); True when ',' was the decimal point
    (only tried when the separator is not a comma)."""
    missing = cells.str.lower().isin(_MISSING).to_numpy()
    column = _numbers(cells, missing)
    if column.text_at is not None and sep != ",":
        commas = _numbers(cells.str.replace(",", ".", regex=False), missing)
        if commas.text_at is None:
            return commas._replace(cells=cells), True
    return column, False


def _numbers(cells, missing: np.ndarray) -> _Column:
    import pandas as pd

    values = pd.to_numeric(cells.mask(missing), errors="coerce").to_numpy(np.float64)
    text = np.flatnonzero(np.isnan(values) & ~missing)
    return _Column(values, cells, int(text[0]) if len(text) else None)


# --- choosing and checking the columns ------------------------------------------------------


def _pick(table: _Table, x_col: str | None, y_col: str | None) -> tuple[str, str]:
    """The named columns, or the first two that hold numbers; CsvError if they cannot be."""
    for chosen in (x_col, y_col):
        if chosen is not None:
            _check_column(table, chosen)
    offered = [
        name
        for name, col in table.columns.items()
        if col.text_at is None and not np.isnan(col.values).all()
    ]
    if x_col is None:
        x_col = next((c for c in offered if c != y_col), None)
    if y_col is None:
        y_col = next((c for c in offered if c != x_col), None)
    if x_col is None or y_col is None:
        raise CsvError(_too_few_columns(table, offered))
    if x_col == y_col:
        raise CsvError(f"x and y are both column {_quote(x_col)}; choose two different columns")
    return x_col, y_col


def _check_column(table: _Table, name: str) -> None:
    if name not in table.columns:
        raise CsvError(
            f"there is no column {_quote(name)}; the columns are {_names(table.columns)}"
        )
    column = table.columns[name]
    if column.text_at is not None:
        raise CsvError(
            f"column {_quote(name)} holds text, not numbers "
            f"(row {table.rows[column.text_at]}: "
            f"{_quote(column.cells.iloc[column.text_at])})"
        )


def _too_few_columns(table: _Table, offered: list[str]) -> str:
    found = f"only {_quote(offered[0])} does" if offered else "none does"
    text = next((name for name, col in table.columns.items() if col.text_at is not None), None)
    if text is None and len(table.columns) == 1:
        return (
            f"the file has one column ({_names(table.columns)}); it needs two columns of "
            "numbers, separated by commas, semicolons or tabs"
        )
    why = ""
    if text is not None:
        col = table.columns[text]
        why = (
            f"; column {_quote(text)} holds text (row {table.rows[col.text_at]}: "
            f"{_quote(col.cells.iloc[col.text_at])})"
        )
    return f"a line needs two columns of numbers, and {found}{why}"


def _check_magnitude(name: str, column: _Column, rows: np.ndarray) -> None:
    """CsvError at the first infinite value or value beyond ±MAX_ABS."""
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.abs(column.values) > MAX_ABS)
    if not len(bad):
        return
    cell, row = column.cells.iloc[bad[0]], rows[bad[0]]
    if "inf" in cell.lower():
        raise CsvError(
            f"column {_quote(name)} is infinite at row {row} ({_quote(cell)}); "
            "only finite numbers can be fitted"
        )
    raise CsvError(
        f"column {_quote(name)} has {_quote(cell)} at row {row}; values must stay "
        f"within ±{_MAX_ABS_TEXT} so that their squares stay finite"
    )


def _check_rows(kept: int, dropped: int, x_col: str, y_col: str) -> None:
    if kept == 0:
        raise CsvError(
            f"no row has numbers in both column {_quote(x_col)} and column {_quote(y_col)}"
        )
    if kept == 1:
        after = f" (after dropping {dropped} with missing values)" if dropped else ""
        raise CsvError(f"a line needs at least 2 rows of data, and this file has 1{after}")


def _fit_ready(x, y, x_col: str, name: str) -> Dataset:
    """x, y as a Dataset; CsvError unless x has a spread whose square is a normal number.
    (With every |value| ≤ MAX_ABS, that is enough for a finite least-squares line.)"""
    if len(np.unique(x)) < 2:
        raise CsvError(
            f"column {_quote(x_col)} has the same value ({x[0]:g}) in every row; "
            "a line needs at least 2 different x values"
        )
    if not _spread_ok(x):
        raise CsvError(
            f"column {_quote(x_col)} varies too little (by {np.ptp(x):.3g}) for a line to be fitted"
        )
    return as_dataset(x, y, name)


def _spread_ok(x: np.ndarray) -> bool:
    """x's variance, computed as lrcore.model.moments does, is above zero (not underflowed)."""
    xc = x - float(x.sum()) / len(x)
    return float(xc @ xc) / len(x) > 0


def _dropped_note(rows: np.ndarray) -> str:
    shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
    plural = "s" if len(rows) > 1 else ""
    return f"dropped {len(rows)} row{plural} with missing values (row{plural} {shown})"


def _quote(text: str, limit: int = 40) -> str:
    """Text quoted for a message, cut to `limit` characters."""
    text = str(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _names(columns) -> str:
    names = [_quote(name) for name in columns]
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
