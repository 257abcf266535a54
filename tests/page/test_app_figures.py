"""Charts and numbers a newcomer can read (streamlit.testing.v1.AppTest and the text helpers):
a title on each view, the fitted line in the legend, the true and least-squares lines shown,
a file's column names as the data view's axis titles, equations written as people write them
(a true minus sign, never "+ -") and a start that is zero up to rounding written as 0.

References are independent of the page: NumPy's least squares, lrcore.train called directly,
and numbers written out by hand.
"""

from __future__ import annotations

import base64
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrui import figures, results
from lrui.text import MINUS, NOISE, equation, number, scales, zeroed
from support.page import chart_of, figure_of, log_of, number_of, player_of

TIMEOUT = 60
GOOD = b"hours,score,other\n1,52,7\n2,61,3\n4,70,9\n5,75,1\n7,83,2\n"
TITLES = ["Data and fitted line", "Loss by epoch", "Loss landscape over (W, b)"]


def open_page(settings: cfg.Settings | None = None) -> AppTest:
    """The page as a first visit to a link with these settings."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in cfg.to_params(settings or cfg.DEFAULTS).items():
        at.query_params[key] = value
    return at.run()


def trace(spec: dict, name: str) -> dict:
    found = [t for t in spec["data"] if t.get("name") == name]
    assert len(found) == 1, f"{len(found)} traces named {name!r}"
    return found[0]


def summary_text(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Data and line"))


def lstsq(x, y) -> tuple[float, float]:
    a = np.column_stack([x, np.ones_like(x)])
    (w, b), *_ = np.linalg.lstsq(a, y, rcond=None)
    return float(w), float(b)


# --- the text helpers: explicit cases ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "sig", "written"),
    [
        (4000.0, 4, "4,000"),
        (50.0, 4, "50"),
        (0.326, 4, "0.326"),
        (-585.65, 5, "−585.65"),
        (4001.59, 6, "4,001.59"),
        (42845.865, 6, "42,845.9"),
        (22080088.23, 5, "22,080,000"),
        (0.0006008, 4, "0.0006008"),
        (-0.00012345678, 4, "−0.0001235"),
        (1.1369e-13, 5, "1.1369×10⁻¹³"),
        (1.23456e12, 4, "1.235×10¹²"),
        (-2.5e-7, 4, "−2.5×10⁻⁷"),
        (0.0, 4, "0"),
        (-0.0, 4, "0"),
        (math.inf, 4, "∞"),
        (-math.inf, 4, "−∞"),
        (math.nan, 4, "NaN"),
    ],
)
def test_number_writes_a_number_as_people_do(value, sig, written):
    assert number(value, sig) == written


@pytest.mark.parametrize(
    ("w", "b", "written"),
    [
        (0.326, -585.65, "y = 0.326x − 585.65"),
        (50.0, 4000.0, "y = 50x + 4,000"),
        (49.6412381, 4001.592487, "y = 49.64x + 4,001.6"),
        (-2.5, 0.5, "y = −2.5x + 0.5"),
        (0.0, 0.0, "y = 0x + 0"),
        (50.0, -46000.0, "y = 50x − 46,000"),
        (3e-7, -1234567.0, "y = 3×10⁻⁷x − 1,234,600"),
        (1.0, -0.00001, "y = 1x − 0.00001"),
        (1.0, -0.000001, "y = 1x − 1×10⁻⁶"),
    ],
)
def test_equation_writes_a_line_as_people_do(w, b, written):
    assert equation(w, b) == written


@given(
    st.floats(-1e15, 1e15, allow_nan=False, allow_subnormal=False),
    st.floats(-1e15, 1e15, allow_nan=False, allow_subnormal=False),
)
def test_an_equation_has_one_sign_before_b_and_reads_back(w, b):
    # Property 1: between the two terms there is exactly one sign, + or the true minus (never
    # "+ −", "+ -" or a hyphen anywhere), and the numbers read back to their 4 and 5 digits.
    text = equation(w, b)
    assert "-" not in text and "+ −" not in text
    found = re.fullmatch(r"y = (\S+)x ([+−]) (\S+)", text)
    assert found, text
    slope, sign, intercept = found.groups()
    assert number_of(slope) == pytest.approx(w, rel=5e-4, abs=1e-300)
    b_shown = number_of(intercept) * (-1 if sign == MINUS else 1)
    assert b_shown == pytest.approx(b, rel=5e-5, abs=1e-300)


@pytest.mark.parametrize(
    ("value", "scale", "kept"),
    [
        (1.1369e-13, 4000.0, 0.0),  # a start of 0, after float arithmetic, beside thousands
        (-4.547e-13, 9000.0, 0.0),
        (7.1e-15, 50.0, 0.0),
        (0.004, 4000.0, 0.004),  # real small numbers stay
        (3.2e-7, 50.0, 3.2e-7),
        (1e-13, 1e-12, 1e-13),  # small beside small data: real
        (1e-13, 0.0, 1e-13),  # no scale: nothing is noise
        (5.0, math.inf, 5.0),  # a diverged scale says nothing
    ],
)
def test_zeroed_is_relative_to_the_scale(value, scale, kept):
    assert zeroed(value, scale) == kept


def test_scales_follow_the_data_units():
    x, y = np.array([-2.0, 1.0, 10.0]), np.array([300.0, -4000.0, 5.0])
    expected = {"w": 400.0, "b": 4000.0, "loss": NOISE * 16e6, "dw": 40000.0, "db": 4000.0}
    assert scales(x, y) == pytest.approx(expected, rel=1e-15)


# --- the result table -------------------------------------------------------------------------


def test_result_table_has_a_header_for_every_column_and_writes_noise_as_zero():
    fit = lrcore.Fit(w=0.326, b=-585.65, loss=42838.51, r2=0.9, rmse=292.7)
    first = lrcore.State(0, 0.0, 0.0, 2.2e7, -3.6e5, -6483.0, False)
    last = lrcore.State(5000, 0.326 + 2e-5, -585.65 + 1.1369e-13, 42838.51, 1e-17, 3.2e-4, False)
    table = results.result_table(last, fit, first)
    header, rule, run, answer, apart = table.splitlines()
    assert header == "| run | W | b | loss | dW | db |"  # no empty header cell
    assert run == "| this run, epoch 5,000 | 0.32602 | −585.65 | 42,838.5 | 0 | 0.00032 |"
    assert answer == "| least squares | 0.326 | −585.65 | 42,838.5 | 0 | 0 |"
    assert apart == "| run − least squares | 0.00002 | 0 | 0 |  |  |"


def test_the_blogs_log_keeps_every_digit():
    state = lrcore.State(1, 182.55105025789547, 3.241545758486609, 1.1e7, 1.1369e-13, -1.0, False)
    assert "| 1 | 182.55105025789547 | 3.241545758486609 | 11000000.0 | 1.1369e-13 | -1.0 |" in (
        results.log_table([state])
    )
    assert "1,182.55105025789547,3.241545758486609,11000000.0,1.1369e-13,-1.0" in (
        results.log_csv([state])
    )


# --- the figure on the page -------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return open_page()


def test_each_view_has_a_title_above_it_wide_and_on_a_phone(default_page):
    spec = figure_of(default_page)
    layout = spec["layout"]
    titles = layout["annotations"]
    assert [t["text"] for t in titles] == TITLES
    narrow = player_of(default_page)["narrow"]  # what the player relayouts on a phone
    for i, (axis, t) in enumerate(zip(("", "2", "3"), titles, strict=True)):
        assert (t["xref"], t["yref"], t["xanchor"], t["yanchor"]) == (
            "paper",
            "paper",
            "left",
            "bottom",
        )
        assert t["x"] == layout["xaxis" + axis]["domain"][0]  # above its view's top left
        assert t["y"] == layout["yaxis" + axis]["domain"][1]
        assert narrow[f"annotations[{i}].x"] == narrow[f"xaxis{axis}.domain"][0]
        assert narrow[f"annotations[{i}].y"] == narrow[f"yaxis{axis}.domain"][1]
    assert layout["margin"]["t"] >= 20  # room above the top views for their titles


def test_the_views_margins_are_fixed(default_page):
    """No axis pushes the margins: Plotly's automargin pass about doubled the draw of the
    chart sent for new data (the noise slider's latency); test_browser_figures checks that
    real data's longest tick labels fit the fixed margins."""
    layout = figure_of(default_page)["layout"]
    axes = [name for name in layout if name.startswith(("xaxis", "yaxis"))]
    assert len(axes) == 6
    assert [layout[name].get("automargin") for name in axes] == [False] * 6


def test_the_fitted_line_is_named_in_the_legend(default_page):
    spec = figure_of(default_page)
    line = trace(spec, "fitted line")
    assert line.get("showlegend", True) is True and line.get("visible", True) is True
    last = player_of(default_page)["frames"][-1]["data"][0]
    assert spec["frames"][-1]["data"][0] == last  # the legend's trace is the moving line


def test_the_true_and_least_squares_lines_are_shown_with_their_equations(default_page, blog):
    spec = figure_of(default_page)
    ends = np.array([blog.x.min(), blog.x.max()])
    w, b = lstsq(blog.x, blog.y)
    for name, (slope, intercept) in (("true line", (50.0, 4000.0)), ("least squares", (w, b))):
        line = trace(spec, name)
        assert line.get("visible", True) is True, name  # not "legendonly": drawn at once
        assert line.get("showlegend", True) is True, name
        np.testing.assert_allclose(line["y"], slope * ends + intercept, rtol=1e-9)
    assert "true line: y = 50x + 4,000" in trace(spec, "true line")["hovertemplate"]
    assert (
        f"least squares: y = {w:.2f}x + {b:,.1f}" in trace(spec, "least squares")["hovertemplate"]
    )


def test_a_files_column_names_title_the_data_axes():
    at = open_page()
    layout = chart_of(at)["layout"]
    assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == ("x", "y")
    at.file_uploader(key="upload_file").set_value(("scores.csv", GOOD, "text/csv"))
    at.run()
    assert not at.exception and not at.error
    layout = chart_of(at)["layout"]
    assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == (
        "hours",
        "score",
    )
    at.selectbox(key="y_col").set_value("other").run()
    assert chart_of(at)["layout"]["yaxis"]["title"]["text"] == "other"
    at.selectbox(key="dataset").set_value("blog").run()
    layout = chart_of(at)["layout"]
    assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == ("x", "y")


def test_column_names_are_shown_as_plain_text():
    at = open_page()
    raw = b"<b>hours</b>,$score$\n1,2\n2,3\n3,5\n"
    at.file_uploader(key="upload_file").set_value(("tags.csv", raw, "text/csv"))
    at.run()
    layout = chart_of(at)["layout"]
    # no tag, and no $…$ that Plotly would read as maths: entities it shows as the characters
    assert layout["xaxis"]["title"]["text"] == "&lt;b&gt;hours&lt;/b&gt;"
    assert layout["yaxis"]["title"]["text"] == "&#36;score&#36;"
    long = figures.plain_text("a" * 100)
    assert len(long) == figures.TITLE_LENGTH and long.endswith("…")


def test_a_negative_intercept_is_written_with_a_minus_sign():
    s = cfg.DEFAULTS.replace(dataset="far_x", standardize=True, step_size=0.5, iterations=500)
    at = open_page(s)
    assert not at.exception
    text = summary_text(at)
    data = lrcore.load_builtin("far_x")
    w, b = lstsq(data.x, data.y)
    assert b < 0  # the case: y = 50(x − 1000) + 4000 has a negative intercept
    found = re.search(r"least squares y = (\S+)x − (\S+)\.", text)
    assert found, text
    assert number_of(found.group(1)) == pytest.approx(w, rel=5e-4)
    assert number_of(found.group(2)) == pytest.approx(-b, rel=5e-5)
    assert "+ −" not in text and "+ -" not in text
    hover = trace(figure_of(at), "least squares")["hovertemplate"]
    assert f"least squares: {found.group(0).removeprefix('least squares ')[:-1]}" in hover


def test_a_standardized_start_at_zero_is_written_as_0(blog):
    s = cfg.DEFAULTS.replace(
        dataset="heteroscedastic", standardize=True, step_size=0.5, iterations=500
    )
    data = lrcore.load_builtin("heteroscedastic")
    first = next(iter(lrcore.train(data.x, data.y, step_size=0.5, iterations=1, standardize=True)))
    # the case: the way back from standardized x once left b at -4.5e-13; lrcore.train now
    # starts exactly where the settings say (tests/core/test_train.py)
    assert (first.w, first.b) == (0.0, 0.0)
    at = open_page(s)
    assert not at.exception
    readout = player_of(at)["readouts"][0]
    assert readout.startswith("epoch 0 · W = 0 · b = 0 · loss = ")
    assert "(W, b) = (0, 0) to (" in summary_text(at)
    assert log_of(at)[0][:3].tolist() == [0.0, 0.0, 0.0]  # the log, every digit: epoch 0, 0, 0
    # a real small number stays: the blog's first step moves b by 3.24
    blog_readout = player_of(open_page())["readouts"][1]
    assert blog_readout.startswith("epoch 1 · W = 182.551 · b = 3.24155 · ")


def decoded(values) -> np.ndarray:
    """A trace's coordinates as the browser reads them: a typed array's bytes, or a list."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype="<" + values["dtype"])
    return np.array(values, dtype=np.float64)


def test_a_run_next_to_the_answer_draws_its_path_and_contours_to_their_digits():
    """A run that starts 1e-4 from the answer (b ≈ 4,009): its view on the landscape is a
    few thousandths wide, where float32's 7 digits left a handful of steps. The path as
    sent ends, at every frame, where the frame's point is, to a millionth of the view; the
    contours' points are all distinct."""
    s = cfg.DEFAULTS.replace(w0=49.5261, b0=4009.265, iterations=1000)
    at = open_page(s)
    assert not at.exception
    run = player_of(at)
    whole = {axis: decoded(run["path"][axis]) for axis in ("x", "y")}
    for i in range(len(run["frames"])):
        data = figures.frame_data(run, i)
        path, now = data[figures.PATH_AT], data[figures.PATH_AT + 1]  # the point "W, b now"
        for axis in ("x", "y"):
            span = np.ptp(whole[axis])
            assert span > 0
            assert abs(decoded(path[axis])[-1] - now[axis][0]) <= 1e-6 * span, (i, axis)
    contours = trace(figure_of(at), "contours")
    points = np.column_stack([decoded(contours["x"]), decoded(contours["y"])])
    points = points[np.isfinite(points).all(axis=1)]
    assert len(points) > 1000
    assert len(np.unique(points, axis=0)) >= 0.95 * len(points)
