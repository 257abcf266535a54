"""Bring your own data: every kind of bad CSV gets one clear sentence, every valid variant
loads with the right numbers, and share-link points round-trip exactly or fail cleanly."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrcore
from lrcore.csvdata import MAX_BYTES, MAX_ROWS, CsvData, CsvError, load_csv
from lrcore.datasets import load_builtin
from lrcore.linkpoints import MAX_LINK_POINTS, decode_points, encode_points

SIMPLE = b"x,y\n1,2\n2,4.5\n3,5\n"


def fails(source, *args, **kwargs) -> str:
    """The message load_csv raises for source; it must be one sentence on one line."""
    with pytest.raises(CsvError) as caught:
        load_csv(source, *args, **kwargs)
    message = str(caught.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


# --- valid files ----------------------------------------------------------------------------


def test_simple_file_gives_the_first_two_numeric_columns():
    csv = load_csv(SIMPLE)
    assert isinstance(csv, CsvData) and isinstance(csv.data, lrcore.Dataset)
    assert (csv.x_col, csv.y_col, csv.columns) == ("x", "y", ("x", "y"))
    assert csv.data.x.tolist() == [1.0, 2.0, 3.0] and csv.data.y.tolist() == [2.0, 4.5, 5.0]
    assert csv.data.x.dtype == np.float64 and not csv.data.y.flags.writeable
    assert csv.rows_dropped == 0 and csv.notes == ()


@pytest.mark.parametrize(
    "raw",
    [
        b"x;y\n1;2\n2;4.5\n3;5\n",
        b"x\ty\n1\t2\n2\t4.5\n3\t5\n",
        b"x|y\n1|2\n2|4.5\n3|5\n",
        b"x, y\r\n1, 2\r\n2, 4.5\r\n3, 5\r\n",
    ],
)
def test_semicolons_tabs_bars_crlf_and_spaces_load_like_commas(raw):
    csv = load_csv(raw)
    assert (csv.x_col, csv.y_col) == ("x", "y")
    assert csv.data.y.tolist() == [2.0, 4.5, 5.0]


def test_decimal_commas_with_semicolons_load_and_say_so():
    csv = load_csv("Größe;Gewicht\n1,5;2,25\n2,5;-3,75\n".encode())
    assert csv.data.x.tolist() == [1.5, 2.5] and csv.data.y.tolist() == [2.25, -3.75]
    assert any("decimal point" in note for note in csv.notes)


def test_utf8_bom_is_not_part_of_the_column_name():
    csv = load_csv(b"\xef\xbb\xbf" + SIMPLE)
    assert csv.columns == ("x", "y") and csv.data.y.tolist() == [2.0, 4.5, 5.0]
    # a BOM before text that is not UTF-8 after all (an editor's mix-up) is dropped too
    assert load_csv(b"\xef\xbb\xbfx,\xe9\n1,2\n3,4\n").columns == ("x", "é")


def test_latin1_text_falls_back_and_says_so():
    raw = "Température,Höhe\n1,2\n3,4\n".encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    csv = load_csv(raw)
    assert csv.columns == ("Température", "Höhe")
    assert any("not UTF-8" in note for note in csv.notes)
    # 0x81 is undefined in Windows-1252, so only Latin-1 reads this one
    assert load_csv(b"a\x81,b\n1,2\n3,4\n").columns == ("a\x81", "b")


def test_utf16_with_bom_loads():
    assert load_csv("x\ty\n1\t2\n3\t4\n".encode("utf-16")).data.y.tolist() == [2.0, 4.0]


def test_missing_values_drop_rows_and_are_counted_with_their_row_numbers():
    raw = b"x,y,note\n1,2,a\n,3,b\n4,NA,c\n5,6,\n7,nan,d\n8,9,e\n"
    csv = load_csv(raw)
    assert csv.data.x.tolist() == [1.0, 5.0, 8.0] and csv.data.y.tolist() == [2.0, 6.0, 9.0]
    assert csv.rows_dropped == 3
    assert "dropped 3 rows with missing values (rows 3, 4, 6)" in csv.notes


def test_blank_lines_are_skipped_and_rows_keep_their_file_numbers():
    csv = load_csv(b"\nx,y\n\n1,2\n\n3,\n4,5\n\n")
    assert csv.data.x.tolist() == [1.0, 4.0] and csv.rows_dropped == 1
    assert "dropped 1 row with missing values (row 6)" in csv.notes
    assert "row 4" in fails(b"x,y\n\n1,2\n3,inf\n")


def test_many_dropped_rows_are_listed_briefly():
    rows = "".join(f"{i},{'' if i % 2 else i}\n" for i in range(40))
    csv = load_csv(("x,y\n" + rows).encode())
    assert csv.rows_dropped == 20 and len(csv.data) == 20
    assert csv.notes[-1] == "dropped 20 rows with missing values (rows 3, 5, 7, 9, 11, ...)"


def test_text_columns_are_not_offered_and_default_skips_them():
    csv = load_csv(b"name,age,score,city\nAl,10,50,Rome\nBo,12,61,Oslo\n")
    assert csv.columns == ("age", "score")
    assert (csv.x_col, csv.y_col) == ("age", "score")


def test_chosen_columns_and_one_choice_fills_the_other():
    raw = b"a,b,c\n1,10,100\n2,20,210\n3,30,290\n"
    csv = load_csv(raw, "c", "a")
    assert (csv.x_col, csv.y_col) == ("c", "a") and csv.data.x.tolist() == [100, 210, 290]
    assert (load_csv(raw, x_col="b").y_col, load_csv(raw, y_col="a").x_col) == ("a", "b")


def test_duplicate_names_are_kept_apart_and_the_note_says_which_is_which():
    raw = b"a,a,b,a\n1,10,5,7\n2,20,6,9\n"
    csv = load_csv(raw, "a", "a (2)")
    assert csv.columns == ("a", "a (2)", "b", "a (3)")
    assert csv.data.x.tolist() == [1.0, 2.0] and csv.data.y.tolist() == [10.0, 20.0]
    assert "column 2 repeats the name 'a', so it is called 'a (2)' here" in csv.notes
    assert load_csv(raw, "a (3)", "b").data.x.tolist() == [7.0, 9.0]


def test_html_and_markdown_in_names_are_kept_verbatim():
    names = ["<script>alert('x')</script>", "**bold** [link](http://e.com), _i_"]
    raw = (f'{names[0]},"{names[1]}"\n1,2\n3,4\n').encode()
    csv = load_csv(raw)
    assert csv.columns == tuple(names) and (csv.x_col, csv.y_col) == tuple(names)


def test_header_of_numbers_is_read_as_data():
    csv = load_csv(b"1,2\n3,4\n5,7\n")
    assert csv.columns == ("column 1", "column 2") and csv.data.y.tolist() == [2.0, 4.0, 7.0]
    assert any("read as data" in note for note in csv.notes)


def test_blank_header_cells_get_a_name():
    assert load_csv(b",y\n1,2\n3,4\n").columns == ("column 1", "y")


def test_large_but_valid_numbers_fit_the_known_line():
    # x = 1e6 + k/4 and y = 997,500,000 + 2.5x + e_k, where e = (+1, -1, -1, +1) repeated sums
    # to zero and is uncorrelated with k over each block of 4: the least-squares line is
    # exactly y = 2.5x + 997,500,000 and every residual is ±1 (loss 0.5).
    k = np.arange(400)
    x = 1e6 + k / 4
    y = 997_500_000 + 2.5 * x + np.tile([1.0, -1.0, -1.0, 1.0], 100)
    rows = zip(x.tolist(), y.tolist(), strict=True)
    raw = ("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in rows)).encode()
    csv = load_csv(raw)
    assert np.array_equal(csv.data.x, x) and np.array_equal(csv.data.y, y)
    fit = lrcore.closed_form(csv.data.x, csv.data.y)
    assert fit.w == pytest.approx(2.5, rel=1e-9)
    assert fit.b == pytest.approx(997_500_000, abs=1e-2)
    assert fit.loss == pytest.approx(0.5, rel=1e-6)


def test_values_at_the_limit_load():
    csv = load_csv(b"x,y\n-1e100,1e100\n1e100,-1e100\n")
    assert csv.data.x.tolist() == [-1e100, 1e100]


# --- sources --------------------------------------------------------------------------------


def test_path_and_file_like_sources(tmp_path):
    path = tmp_path / "heights.csv"
    path.write_bytes(SIMPLE)
    for source in (path, str(path)):
        csv = load_csv(source)
        assert csv.data.y.tolist() == [2.0, 4.5, 5.0] and csv.data.name == "heights"
    with path.open("rb") as file:
        assert load_csv(file).data.y.tolist() == [2.0, 4.5, 5.0]


def test_a_bytesio_already_read_to_the_end_still_loads():
    upload = io.BytesIO(SIMPLE)  # Streamlit's UploadedFile is a BytesIO; reruns read it again
    upload.read()
    assert load_csv(upload).data.x.tolist() == load_csv(upload).data.x.tolist() == [1, 2, 3]


def test_missing_path_and_text_mode_file(tmp_path):
    assert "cannot read nothing.csv" in fails(tmp_path / "nothing.csv")
    (tmp_path / "t.csv").write_bytes(SIMPLE)
    with (tmp_path / "t.csv").open() as file, pytest.raises(TypeError, match="binary"):
        load_csv(file)


# --- bad files: one sentence each -----------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"\n\n  \n"])
def test_empty_file(raw):
    assert fails(raw) == "the file is empty"


def test_header_without_rows():
    assert fails(b"x,y\n") == "the file has a header ('x', 'y') but no rows of data"


def test_one_row():
    assert fails(b"x,y\n1,2\n") == "a line needs at least 2 rows of data, and this file has 1"
    assert fails(b"x,y\n1,2\n3,\n5,\n").endswith("has 1 (after dropping 2 with missing values)")


def test_only_one_distinct_x():
    message = fails(b"t,y\n3,1\n3,2\n3,5\n")
    assert "column 't'" in message and "same value (3)" in message and "2 different" in message


def test_no_row_has_both_values():
    assert "no row has numbers in both column 'x' and column 'y'" in fails(b"x,y,z\n1,,0\n,2,0\n")


def test_text_column_chosen_as_x_or_y_names_the_column_and_row():
    raw = b"name,age,score\nAl,10,50\nBo,12,61\n"
    assert fails(raw, "name", "score") == "column 'name' holds text, not numbers (row 2: 'Al')"
    assert "column 'name'" in fails(raw, "age", "name")
    stray = fails(b"x,y\n1,2\n2,3\n3,4a\n", "x", "y")
    assert stray == "column 'y' holds text, not numbers (row 4: '4a')"


def test_too_few_numeric_columns_says_which_column_is_text():
    message = fails(b"name,score\nAl,50\nBo,61\n")
    assert message == (
        "a line needs two columns of numbers, and only 'score' does; column "
        "'name' holds text (row 2: 'Al')"
    )
    assert "one column ('x')" in fails(b"x\n1\n2\n3\n")


def test_unknown_or_repeated_column_choice():
    assert fails(SIMPLE, "z") == "there is no column 'z'; the columns are 'x', 'y'"
    assert "both column 'x'" in fails(SIMPLE, "x", "x")


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity"])
def test_infinite_value_names_column_and_row(cell):
    message = fails(f"x,y\n1,2\n2,3\n3,{cell}\n".encode())
    assert message == (
        f"column 'y' is infinite at row 4 ('{cell}'); only finite numbers can be fitted"
    )


@pytest.mark.parametrize("cell", ["1e200", "-2.5e101", "1e400"])
def test_values_whose_squares_overflow_name_column_row_and_limit(cell):
    message = fails(f"x,y\n1,2\n{cell},3\n4,5\n".encode())
    assert message == (
        f"column 'x' has '{cell}' at row 3; values must stay within ±1e100 so "
        "that their squares stay finite"
    )


def test_x_that_varies_too_little_for_its_square_is_refused():
    assert "column 'x' varies too little" in fails(b"x,y\n1e-200,1\n2e-200,2\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(64),
        np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        bytes(range(1, 32)) * 20 + b"x,y\n1,2\n3,4\n",
    ],
)
def test_binary_file_named_csv(raw):
    assert fails(raw) == "this does not look like a text CSV file: it holds binary data"


def test_excel_workbook_gets_a_hint():
    assert "save it as CSV" in fails(b"PK\x03\x04" + bytes(100))


def test_ragged_rows_and_broken_quotes():
    assert fails(b"x,y\n1,2\n3,4,5\n") == (
        "row 3 has 3 fields but the first row has 2; check the separator and the quotes"
    )
    assert fails(b"\n\nx,y\n1,2\n3,4,5\n").startswith("row 5 has 3 fields")
    assert fails(b'x,y\n"1,2\n').startswith("the file could not be read as CSV (")


def test_more_rows_than_the_limit_names_the_limit():
    rows = b"".join(b"%d,%d\n" % (i, 2 * i) for i in range(MAX_ROWS + 1))
    assert fails(b"x,y\n" + rows) == "the file has more than 100,000 rows of data, the limit"
    assert len(load_csv(b"x,y\n" + rows[: rows.rindex(b"\n", 0, -1) + 1]).data) == MAX_ROWS
    assert fails(b"x,y\n" + rows[:60], max_rows=5) == (
        "the file has more than 5 rows of data, the limit"
    )
    spaced = b"x,y\n" + b"\n".join(rows.splitlines(keepends=True)[:6])  # blank lines between
    assert fails(spaced, max_rows=5) == "the file has more than 5 rows of data, the limit"
    assert len(load_csv(spaced, max_rows=6).data) == 6


def test_file_above_the_byte_cap_names_the_cap(tmp_path):
    big = b"x,y\n" + b"1,2\n" * (MAX_BYTES // 4)
    assert len(big) > MAX_BYTES
    assert fails(big) == "the file is larger than the 10 MB limit"
    assert fails(io.BytesIO(big)) == "the file is larger than the 10 MB limit"
    path = tmp_path / "big.csv"
    path.write_bytes(big)
    assert fails(path) == "the file is 10 MB, above the 10 MB limit"
    assert fails(SIMPLE, max_bytes=10) == "the file is larger than the 10 bytes limit"


def test_importing_lrcore_and_csvdata_does_not_import_pandas():
    code = "import sys, lrcore, lrcore.csvdata, lrcore.datasets; sys.exit('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- share links ----------------------------------------------------------------------------


def test_link_round_trip_is_exact():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1e6, MAX_LINK_POINTS - 4), [-0.0, 5e-324, 1e100, -1e100]])
    y = rng.normal(0, 1, MAX_LINK_POINTS) * 10.0 ** rng.integers(-300, 100, MAX_LINK_POINTS)
    text = encode_points(x, y)
    back_x, back_y = decode_points(text)
    assert back_x.tobytes() == x.tobytes() and back_y.tobytes() == y.tobytes()
    assert text.startswith("v1.") and len(text) < 11_000
    assert set(text[3:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_link_round_trip_of_anscombe_is_short():
    data = load_builtin("anscombe_1")
    text = encode_points(data.x, data.y)
    assert len(text) < 300
    x, y = decode_points(text)
    assert np.array_equal(x, data.x) and np.array_equal(y, data.y)


def test_link_refuses_too_many_or_unfittable_points():
    assert "at most 500 points" in _encode_fails(np.arange(501.0), np.arange(501.0))
    assert "cannot be fitted" in _encode_fails([1.0, 1.0], [2.0, 3.0])
    assert "cannot be fitted" in _encode_fails([1.0, np.nan], [2.0, 3.0])
    assert "within ±1e100" in _encode_fails([1.0, 2.0], [2.0, 1e101])
    assert "x varies too little" in _encode_fails([1e-200, 2e-200], [2.0, 3.0])
    assert "must be numbers" in _encode_fails(["a", "b"], [1.0, 2.0])


def _encode_fails(x, y) -> str:
    with pytest.raises(CsvError) as caught:
        encode_points(x, y)
    return str(caught.value)


def _link(payload: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v1.",
        "v2.AAAA",
        "hello",
        "v1.@@@@",
        "v1.A",
        "v1.AAAA",
        "v1.eJw",
        _link(b""),
        _link(bytes(24)),
        _link(np.array([1.0, 2.0, np.nan, 4.0]).tobytes()),
        _link(np.array([1.0, 1.0, 3.0, 4.0]).tobytes()),
        _link(np.array([1e-200, 2e-200, 3.0, 4.0]).tobytes()),
        _link(np.arange(2.0 * (MAX_LINK_POINTS + 1)).tobytes()),
        _link(bytes(10_000_000)),  # a zip bomb: 10 MB of zeros in about 10 kB
        "v1." + "A" * 20_000,
        _link(np.array([1.0, 2.0, 3.0, 4.0]).tobytes()) + "AAAA",
        None,
        12,
        b"v1.AAAA",
    ],
)
def test_link_garbage_is_refused_with_csverror(text):
    with pytest.raises(CsvError):
        decode_points(text)


VALID_LINK = encode_points([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])


# Property 1: any text at all either decodes to fittable points or raises CsvError.
@given(st.one_of(st.text(), st.text(alphabet="AZaz09-_=.v1", max_size=200).map("v1.".__add__)))
def test_any_text_decodes_or_raises_csverror(text):
    _decode_or_csverror(text)


# Property 2: a valid link with one character changed, cut or inserted decodes cleanly (only
# the last character's unused bits may change without harm) or raises CsvError.
@given(
    st.integers(0, len(VALID_LINK)),
    st.sampled_from(["", "A", "_", "-", "z", "%", "."]),
    st.booleans(),
)
def test_edited_link_decodes_or_raises_csverror(at, char, replace):
    edited = VALID_LINK[:at] + char + VALID_LINK[at + replace :]
    result = _decode_or_csverror(edited)
    if result is not None:
        assert result[0].tolist() == [1.0, 2.0, 3.0] and result[1].tolist() == [2.0, 4.0, 7.0]


def _decode_or_csverror(text):
    try:
        x, y = decode_points(text)
    except CsvError:
        return None
    assert len(x) == len(y) <= MAX_LINK_POINTS and np.isfinite(x).all()
    assert len(np.unique(x)) >= 2
    return x, y
