"""Bring your own data, on the page (streamlit.testing.v1.AppTest): the built-in datasets, a CSV
file through the uploader, the points a link carries, and points left out of the fit.

References are independent of the page: lrcore.load_builtin and lrcore.csvdata.load_csv for
the data, lrcore.train called directly for the log, NumPy's least squares for the answer. Every
bad file must give one clear error (load_csv's own sentence) and leave the data as it was.
"""

from __future__ import annotations

import base64
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrcore.csvdata import MAX_BYTES, MAX_ROWS, CsvError, load_csv
from lrcore.linkpoints import MAX_LINK_POINTS
from lrui import figures, sources
from support.page import chart_of, log_of, results_of

TIMEOUT = 60
GOOD = b"hours,score,other\n1,52,7\n2,61,3\n4,70,\n5,,1\n7,83,2\n"  # one row without a score


def open_page(params: dict | None = None) -> AppTest:
    """The page as a first visit to a link with these query parameters."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def upload(at: AppTest, raw: bytes, name: str = "data.csv") -> AppTest:
    at.file_uploader(key="upload_file").set_value((name, raw, "text/csv"))
    return at.run()


def drawn(at: AppTest, trace: int) -> tuple[np.ndarray, np.ndarray]:
    """The x, y a data trace of the chart draws (figures.typed arrays or plain lists)."""
    spec = chart_of(at)
    t = spec["data"][trace]
    return tuple(
        np.frombuffer(base64.b64decode(v["bdata"]), "<" + v["dtype"])
        if isinstance(v, dict)
        else np.array(v, dtype=float)
        for v in (t["x"], t["y"])
    )


def lrcore_log(data, s: cfg.Settings) -> np.ndarray:
    """The log the page should show for settings s on these points, from lrcore directly."""
    states = lrcore.train(
        data.x,
        data.y,
        step_size=s.step_size,
        iterations=s.iterations,
        optimizer=s.optimizer,
        w0=s.w0,
        b0=s.b0,
        momentum=s.momentum,
        standardize=s.standardize,
        every=max(1, s.iterations // 10),
    )
    return np.array([[st.epoch, st.w, st.b, st.loss, st.dw, st.db] for st in states])


def assert_log(at: AppTest, data, s: cfg.Settings) -> None:
    """The page's log is lrcore's for these points: W, b and loss to 1e-9, the gradient to
    1e-9 of its size at the start."""
    shown, expected = log_of(at), lrcore_log(data, s)
    assert shown.shape == expected.shape
    np.testing.assert_array_equal(shown[:, 0], expected[:, 0])
    np.testing.assert_allclose(shown[:, 1:4], expected[:, 1:4], rtol=1e-9)
    scale = np.abs(expected[0, 4:]).max()
    np.testing.assert_allclose(shown[:, 4:], expected[:, 4:], rtol=0, atol=1e-9 * scale)


def unescape(markdown: str) -> str:
    """Markdown as the reader sees it: **bold** marks dropped, backslash escapes undone."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)\*\*", "", markdown))


def stable(data, fraction: float = 0.5) -> float:
    """A step size that converges on this data: a fraction of gd's limit."""
    return fraction * lrcore.stable_step_size(data.x, data.y, "gd")


# --- the built-in datasets --------------------------------------------------------------------


@pytest.mark.parametrize("name", lrcore.BUILTINS)
def test_each_builtin_dataset_loads_and_trains_as_lrcore_does(name):
    data = lrcore.load_builtin(name)
    scaled = name == "far_x"  # raw, its step-size limit is below the smallest step size
    step = 0.5 * lrcore.stable_step_size(data.x, data.y, "gd", standardize=scaled)
    s = cfg.DEFAULTS.replace(dataset=name, step_size=step, iterations=3000, standardize=scaled)
    at = open_page(cfg.to_params(s))
    assert not at.exception and not at.error and not at.warning
    assert query(at) == cfg.to_params(s)
    x, y = drawn(at, figures.DATA_TRACE)
    np.testing.assert_array_equal(x, data.x)
    np.testing.assert_array_equal(y, data.y)
    assert_log(at, data, s)
    assert lrcore.BUILTINS[name].lesson in [c.value for c in at.caption]


def test_choosing_a_dataset_changes_the_run_and_the_link():
    at = open_page()
    before = log_of(at)
    at.selectbox(key="dataset").set_value("anscombe_2").run()
    assert not at.exception
    assert query(at)["dataset"] == "anscombe_2"
    assert not np.array_equal(log_of(at), before)
    assert_log(at, lrcore.load_builtin("anscombe_2"), cfg.DEFAULTS)


@pytest.mark.parametrize("name", lrcore.BUILTINS)
def test_only_the_controls_a_dataset_listens_to_are_shown(name):
    at = open_page({"dataset": name})
    at.session_state["fold_line"] = True  # (the true line's fold, opened)
    at.run()
    shown = {w.key for kind in ("select_slider", "number_input") for w in getattr(at, kind)}
    generated = set(cfg.DATA_CONTROLS)
    assert shown & generated == set(lrcore.BUILTINS[name].params)
    assert ("new_data" in {b.key for b in at.button}) == ("seed" in shown)


def test_hidden_controls_keep_their_values():
    at = open_page({"noise": "100", "seed": "3"})
    at.selectbox(key="dataset").set_value("anscombe_1").run()
    at.selectbox(key="dataset").set_value("blog").run()
    assert not at.exception
    assert (query(at)["noise"], query(at)["seed"]) == ("100", "3")
    assert_log(at, lrcore.load_builtin("blog", noise=100.0, seed=3), cfg.DEFAULTS)


# --- a CSV file through the uploader ----------------------------------------------------------


def test_an_uploaded_file_is_fitted_and_travels_in_the_link():
    at = upload(open_page(), GOOD, "scores.csv")
    assert not at.exception and not at.error
    expected = load_csv(GOOD).data  # hours and score, the row missing a score dropped
    x, y = drawn(at, figures.DATA_TRACE)
    np.testing.assert_array_equal(x, expected.x)
    np.testing.assert_array_equal(y, expected.y)
    assert_log(at, expected, cfg.DEFAULTS)
    assert query(at)["dataset"] == "upload" and query(at)["points"].startswith("v1.")
    captions = " ".join(c.value for c in at.caption)
    assert "4 points from scores\\.csv; 1 row with missing values left out." in captions
    assert at.selectbox(key="dataset").value == "upload"
    assert at.selectbox(key="dataset").options[-1] == "Your data: scores.csv"


def test_picking_other_columns_refits_and_the_same_column_twice_is_refused():
    at = upload(open_page(), GOOD)
    assert at.selectbox(key="y_col").options == ["hours", "score", "other"]
    at.selectbox(key="y_col").set_value("other").run()
    assert not at.exception and not at.error
    assert_log(at, load_csv(GOOD, "hours", "other").data, cfg.DEFAULTS)
    before = log_of(at)
    at.selectbox(key="x_col").set_value("other").run()  # x and y both "other"
    assert not at.exception and len(at.error) == 1
    assert "both column 'other'" in unescape(at.error[0].value)
    np.testing.assert_array_equal(log_of(at), before)
    assert (at.selectbox(key="x_col").value, at.selectbox(key="y_col").value) == ("hours", "other")


def rows(count: int) -> bytes:
    return b"x,y\n" + b"".join(b"%d,%d\n" % (i, 2 * i + i % 7) for i in range(count))


# Files that cannot be fitted: each must give load_csv's sentence and keep the data.
BAD = {
    "empty file": b"",
    "only blank lines": b"\n\n  \n",
    "header with no rows": b"x,y\n",
    "one row": b"x,y\n1,2\n",
    "one distinct x": b"x,y\n3,1\n3,2\n3,5\n",
    "a column of text": b"x,y\n1,a\n2,b\n3,c\n",
    "infinity": b"x,y\n1,2\n2,inf\n3,4\n",
    "1e200": b"x,y\n1,2\n2,1e200\n3,4\n",
    "binary named .csv": bytes(range(256)) * 4,
    "a zip (xlsx) named .csv": b"PK\x03\x04" + b"\x00" * 64,
    "one column": b"x\n1\n2\n3\n",
    "more rows than the limit": rows(MAX_ROWS + 1),
    "above the size cap": b"x,y\n" + b"1,2\n" * (MAX_BYTES // 4),
}


@pytest.mark.parametrize("raw", BAD.values(), ids=BAD.keys())
def test_a_bad_file_gets_a_clear_error_and_keeps_the_dataset(raw):
    with pytest.raises(CsvError) as caught:
        load_csv(raw)
    at = open_page({"dataset": "anscombe_2"})
    before = log_of(at)
    upload(at, raw, "bad.csv")
    assert not at.exception
    assert len(at.error) == 1
    message = unescape(at.error[0].value)
    assert message.startswith("bad.csv cannot be used: ") and str(caught.value) in message
    assert message.endswith("The page keeps the data it had.")
    assert query(at)["dataset"] == "anscombe_2" and "points" not in query(at)
    np.testing.assert_array_equal(log_of(at), before)
    at.run()  # the message is said once
    assert not at.error


def test_a_bad_file_after_a_good_one_keeps_the_good_one():
    at = upload(open_page(), GOOD, "good.csv")
    link = query(at)
    for raw in (BAD["one row"], BAD["binary named .csv"], BAD["infinity"]):
        upload(at, raw, "bad.csv")
        assert not at.exception and len(at.error) == 1
        assert query(at) == link
        assert_log(at, load_csv(GOOD).data, cfg.DEFAULTS)


# Files that look odd but can be fitted: (file, the x column, notes the page must show).
ODD = {
    "semicolons, decimal commas": (
        b"a;b\n1;2\n2;4,5\n3;5\n",
        "a",
        ["read ';' as the column separator", "read ',' as the decimal point in column 'b'"],
    ),
    "tabs": (b"a\tb\n1\t2\n2\t4.5\n3\t5\n", "a", ["read tab as the column separator"]),
    "UTF-8 BOM": (b"\xef\xbb\xbfa,b\n1,2\n2,4.5\n3,5\n", "a", []),
    "Latin-1": (
        "température,durée\n1,2\n2,4.5\n3,5\n".encode("latin-1"),
        "température",
        ["read as Windows-1252 text, since it is not UTF-8"],
    ),
    "NaN is missing": (
        b"a,b\n1,2\nNaN,3\n2,4.5\n3,5\n",
        "a",
        ["dropped 1 row with missing values (row 3)"],
    ),
    "duplicate names": (
        b"a,a,b\n1,2,0\n2,4.5,0\n3,5,1\n",
        "a",
        ["column 2 repeats the name 'a', so it is called 'a (2)' here"],
    ),
}


@pytest.mark.parametrize("case", ODD.values(), ids=ODD.keys())
def test_odd_but_valid_files_load_with_notes(case):
    raw, x_col, notes = case
    at = upload(open_page(), raw, "odd.csv")
    assert not at.exception and not at.error
    expected = load_csv(raw)
    assert expected.x_col == x_col and list(expected.notes) == notes
    assert [t.value for t in at.text] == notes  # as plain text
    assert at.selectbox(key="x_col").value == x_col
    assert_log(at, expected.data, cfg.DEFAULTS)


def test_column_and_file_names_are_shown_as_text_never_as_markup():
    names = ("<b>x</b>", "**y** :red[z] $w$ [a](javascript:alert(1))")
    raw = (",".join(f'"{n}"' for n in names) + "\n1,2\n2,3\n3,5\n").encode()
    at = upload(open_page(), raw, "<img src=x onerror=alert(1)>.csv")
    assert not at.exception and not at.error
    assert at.selectbox(key="x_col").options[:2] == list(names)  # options are plain text
    caption = next(c.value for c in at.caption if "points from" in c.value)
    assert "3 points from <img src=x onerror=alert(1)>.csv." in unescape(caption)
    assert not re.search(r"(?<!\\)[<>\[\]*`$:]", caption.split("points from", 1)[1])
    upload(at, b"x,y\n1,2\n", "**bold** <script>alert(1)</script>.csv")
    error = at.error[0].value
    assert unescape(error).startswith("**bold** <script>alert(1)</script>.csv cannot be used")
    assert not re.search(r"(?<!\\)[<>`$]", error)


def test_the_servers_upload_cap_is_the_readers_size_limit():
    # Streamlit refuses bigger files before the page sees them: its cap must be MAX_BYTES.
    config = tomllib.loads((Path(__file__).parents[2] / ".streamlit/config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1_000_000 == MAX_BYTES
    assert at_upload_cap() == MAX_BYTES // 1_000_000


def at_upload_cap() -> int:
    """The uploader's own cap in MB, as the page draws it."""
    return open_page().file_uploader(key="upload_file").proto.max_upload_size_mb


def test_a_file_too_big_for_a_link_says_so_and_the_link_carries_no_points():
    n = MAX_LINK_POINTS + 1
    s = cfg.DEFAULTS.replace(step_size=1e-5, iterations=1000)  # x up to 500: a small step
    at = upload(open_page(cfg.to_params(s)), rows(n), "big.csv")
    assert not at.exception and not at.error
    assert query(at)["dataset"] == "upload" and "points" not in query(at)
    captions = " ".join(c.value for c in at.caption)
    assert f"{n:,} points from big\\.csv" in captions
    assert "a link carries at most 500" in captions
    at.session_state["share"] = True  # open "Downloads and the share link"
    at.run()
    assert "the link cannot carry your file's 501 points" in " ".join(c.value for c in at.caption)
    assert_log(at, load_csv(rows(n)).data, s)
    # whoever opens that link sees the blog post's data and is told why
    other = open_page(query(at))
    assert not other.exception
    assert "upload the same file below" in other.info[0].value
    assert_log(other, lrcore.load_builtin("blog"), s)


# --- the points a link carries ----------------------------------------------------------------


def test_a_link_with_points_reproduces_the_uploaded_run_exactly():
    raw = b"x,y\n" + b"".join(
        b"%.17g,%.17g\n" % (0.1 * i, np.sin(i) * 1e3 + i) for i in range(MAX_LINK_POINTS)
    )
    first = upload(open_page({"step_size": "0.0003", "iterations": "2000"}), raw)
    link = query(first)
    assert len(link["points"]) < 12_000
    again = open_page(link)
    assert not again.exception and not again.warning
    assert query(again) == link
    for trace in (figures.DATA_TRACE,):
        for a, b in zip(drawn(again, trace), drawn(first, trace), strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(drawn(again, figures.DATA_TRACE)[1], load_csv(raw).data.y)
    np.testing.assert_array_equal(log_of(again), log_of(first))


BAD_LINKS = {
    "damaged points": {"dataset": "upload", "points": "v1.AAAA"},
    "points that are not base64": {"dataset": "upload", "points": "v1.<script>"},
    "points without a version": {"dataset": "upload", "points": "eNpjYA"},
    "points that are garbage": {"points": "garbage", "dataset": "upload"},
    "exclude not numbers": {"exclude": "3,x,<b>"},
    "exclude backwards range": {"exclude": "9-3"},
    "exclude too large a number": {"exclude": "100000"},
}


@pytest.mark.parametrize("params", BAD_LINKS.values(), ids=BAD_LINKS.keys())
def test_a_link_with_bad_points_or_exclude_loads_with_one_warning(params):
    """One warning, and nothing that disagrees with it: no note in the sidebar that the link
    stood for a file too big for it."""
    at = open_page(params)
    assert not at.exception
    assert len(at.warning) == 1 and not at.info and not at.error
    _, notes = cfg.from_params(params)
    assert any(key in at.warning[0].value for key in params if key != "dataset")
    assert "points" not in query(at) and "exclude" not in query(at)
    assert_log(at, lrcore.load_builtin("blog"), cfg.DEFAULTS)  # the blog data, all of it
    assert notes


# --- points left out of the fit ---------------------------------------------------------------


def lstsq(x, y) -> tuple[float, float]:
    (w, b), *_ = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)
    return w, b


@pytest.mark.parametrize(
    ("name", "exclude", "rows"),
    [
        ("anscombe_3", "2", [2]),  # the outlier: the rest lie on one line
        ("blog", "0-99,500,990-999", [*range(100), 500, *range(990, 1000)]),
    ],
)
def test_leaving_points_out_fits_the_kept_points(name, exclude, rows):
    data = lrcore.load_builtin(name)
    s = cfg.DEFAULTS.replace(dataset=name, exclude=exclude, step_size=stable(data, 0.9))
    at = open_page(cfg.to_params(s))
    assert not at.exception and not at.warning
    keep = np.ones(len(data), bool)
    keep[rows] = False
    w, b = lstsq(data.x[keep], data.y[keep])
    shown = results_of(at)["least squares"]
    assert shown["W"] == pytest.approx(w, rel=1e-5)
    assert shown["b"] == pytest.approx(b, rel=1e-5, abs=1e-9)
    assert_log(at, lrcore.as_dataset(data.x[keep], data.y[keep]), s)
    out_x, out_y = drawn(at, figures.LEFT_OUT_TRACE)
    np.testing.assert_array_equal(out_x, data.x[rows])
    np.testing.assert_array_equal(out_y, data.y[rows])
    np.testing.assert_array_equal(drawn(at, figures.DATA_TRACE)[0], data.x[keep])
    assert f"{len(rows):,} of {len(data):,} points are left out" in " ".join(
        c.value for c in at.caption
    )


def test_bring_all_back_and_a_new_dataset_clear_what_was_left_out():
    at = open_page({"dataset": "anscombe_3", "exclude": "2"})
    at.button(key="bring_back").click().run()
    assert "exclude" not in query(at)
    assert_log(at, lrcore.load_builtin("anscombe_3"), cfg.DEFAULTS)
    at = open_page({"dataset": "anscombe_3", "exclude": "2"})
    at.select_slider(key="step_size").set_value(0.001).run()  # the run changes, not the data
    assert query(at)["exclude"] == "2"
    at.selectbox(key="dataset").set_value("anscombe_1").run()
    assert not at.exception and "exclude" not in query(at)
    assert any("every point is back in the fit" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("params", "left_out", "says"),
    [
        ({"dataset": "anscombe_1", "exclude": "5-20"}, [5, 6, 7, 8, 9, 10], "past 10 are ignored"),
        ({"dataset": "anscombe_4", "exclude": "7"}, [], "every point is used"),  # x = 19: all 8s
    ],
)
def test_left_out_points_that_do_not_fit_the_data_are_ignored_with_a_warning(
    params, left_out, says
):
    at = open_page(params)
    assert not at.exception and len(at.warning) == 1 and says in at.warning[0].value
    data = lrcore.load_builtin(params["dataset"])
    keep = np.ones(len(data), bool)
    keep[left_out] = False
    assert_log(at, lrcore.as_dataset(data.x[keep], data.y[keep]), cfg.DEFAULTS)


def shown_points(name: str, left_out=()) -> sources.Shown:
    return sources.Shown(lrcore.load_builtin(name).x, np.array(left_out, dtype=np.int64))


def point(trace: int, index: int) -> dict:
    return {"curve_number": trace, "point_index": index, "x": 0, "y": 0}


def test_a_selection_leaves_points_out_and_selecting_them_again_brings_them_back():
    d, out = figures.DATA_TRACE, figures.LEFT_OUT_TRACE
    shown = shown_points("anscombe_3")
    assert sources.toggled([point(d, 2), point(d, 5)], shown) == ("2,5", None)
    shown = shown_points("anscombe_3", [2, 5])  # drawn: data 0,1,3,4,6..10; left out 2, 5
    assert sources.toggled([point(d, 2)], shown) == ("2-3,5", None)  # kept index 2 is row 3
    assert sources.toggled([point(out, 1)], shown) == ("2", None)  # left-out index 1 is row 5
    assert sources.toggled([point(out, 0), point(d, 0)], shown) == ("0,5", None)
    # points on the other views (the loss curve, the path) and indices past the end: nothing
    assert sources.toggled([point(5, 0), point(11, 3), point(d, 99)], shown) == (None, None)


def test_a_selection_that_leaves_too_little_to_fit_is_refused():
    shown = shown_points("anscombe_4")  # ten points at x = 8, one at x = 19 (row 7)
    exclude, why = sources.toggled([point(figures.DATA_TRACE, 7)], shown)
    assert exclude is None and "at least 2 points with different x" in why
    scattered = sources.Shown(np.arange(100_000.0), np.zeros(0, np.int64))
    picks = [point(figures.DATA_TRACE, i) for i in range(0, 100_000, 3)]
    exclude, why = sources.toggled(picks, scattered)
    assert exclude is None and "could not hold" in why
