"""The page without a browser (streamlit.testing.v1.AppTest), and the figure it draws.

References are independent of the page: the blog's naive loop (tests/reference.py), NumPy's
least squares, the loss computed from the data, and lrcore.train called directly with the
settings a link holds.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import orjson
import plotly.graph_objects as go
import plotly.io
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrui import figures, results, runs, sidebar, text
from support.page import chart_of, figure_of, log_of, player_of, results_of

TIMEOUT = 60
WIDGETS = [name for name in cfg.FIELDS if name not in cfg.LINK_ONLY]  # the link-only have none


def open_page(params: dict | None = None) -> AppTest:
    """The page as a first visit to a link with these query parameters."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def widget(at: AppTest, name: str):
    """The widget whose key is the setting's name, whatever its kind (a fold's, once a user has
    opened the fold)."""
    fold = next((key for key, (_, names) in sidebar.FOLDS.items() if name in names), None)
    if fold and not at.session_state[fold]:
        at.session_state[fold] = True
        at.run()
    for kind in (
        "select_slider",
        "number_input",
        "selectbox",
        "slider",
        "toggle",
        "segmented_control",
    ):
        found = [w for w in getattr(at, kind) if w.key == name]
        if found:
            return found[0]
    raise AssertionError(f"no widget with key {name!r}")


def lrcore_log(s: cfg.Settings) -> np.ndarray:
    """The log the page should show for settings s, from lrcore directly."""
    data = lrcore.make_data(
        n=s.n,
        slope=s.slope,
        intercept=s.intercept,
        noise=s.noise,
        x_min=s.x_min,
        x_max=s.x_max,
        seed=s.seed,
    )
    every = max(1, s.iterations // 10)
    states = lrcore.train(
        data.x,
        data.y,
        step_size=s.step_size,
        iterations=s.iterations,
        optimizer=s.optimizer,
        w0=s.w0,
        b0=s.b0,
        batch_size=s.batch_size,
        momentum=s.momentum,
        standardize=s.standardize,
        seed=s.seed,
        every=every,
    )
    return np.array([[st.epoch, st.w, st.b, st.loss, st.dw, st.db] for st in states])


def assert_same_log(shown: np.ndarray, expected: np.ndarray, rtol: float = 1e-9) -> None:
    """Same epochs; W, b and loss to rtol; the gradient to rtol of its size at the start (it
    falls towards 0, where relative error means nothing)."""
    assert shown.shape == expected.shape
    np.testing.assert_array_equal(shown[:, 0], expected[:, 0])
    np.testing.assert_allclose(shown[:, 1:4], expected[:, 1:4], rtol=rtol)
    scale = np.abs(expected[0, 4:]).max()
    np.testing.assert_allclose(shown[:, 4:], expected[:, 4:], rtol=0, atol=rtol * scale)


@pytest.fixture(scope="module")
def default_page() -> AppTest:
    return open_page()


# --- the default page -------------------------------------------------------------------------


def test_default_page_runs_the_blog_post(default_page, blog_reference):
    at = default_page
    assert not at.exception
    assert not at.error and not at.warning
    log = log_of(at)
    assert log[:, 0].tolist() == list(range(0, 50_001, 5000))  # the blog's every-5000 log
    expected = np.array([[e, *blog_reference[int(e)]] for e in log[:, 0]])
    assert_same_log(log, expected)


def test_default_page_writes_every_setting_to_the_url(default_page):
    assert query(default_page) == cfg.to_params(cfg.DEFAULTS)


def test_default_page_shows_the_least_squares_answer(default_page, blog):
    a = np.column_stack([blog.x, np.ones_like(blog.x)])
    (w, b), *_ = np.linalg.lstsq(a, blog.y, rcond=None)
    resid = blog.y - (w * blog.x + b)
    r2 = 1 - np.sum(resid**2) / np.sum((blog.y - blog.y.mean()) ** 2)
    shown = results_of(default_page)
    assert shown["least squares"]["W"] == pytest.approx(w, rel=1e-5)
    assert shown["least squares"]["b"] == pytest.approx(b, rel=1e-5)
    assert shown["least squares"]["loss"] == pytest.approx(0.5 * np.mean(resid**2), rel=1e-5)
    assert shown["fit"]["R²"] == pytest.approx(r2, abs=1e-4)
    assert shown["fit"]["RMSE"] == pytest.approx(math.sqrt(np.mean(resid**2)), rel=1e-5)
    run, diff = shown["this run"], shown["run − least squares"]  # 6 significant digits each
    for name in ("W", "b"):
        digit = 10.0 ** (math.floor(math.log10(abs(run[name]))) - 5)
        assert diff[name] == pytest.approx(run[name] - {"W": w, "b": b}[name], abs=digit)


def test_default_chart_is_a_valid_figure_with_one_frame_per_epoch(default_page):
    spec = figure_of(default_page)
    go.Figure(spec)  # Plotly's own validation of every attribute (raises if one is wrong)
    epochs = [int(f["name"]) for f in spec["frames"]]
    assert epochs == list(figures.frame_epochs(50_000))
    assert 100 <= len(epochs) <= figures.FRAMES and epochs[0] == 0 and epochs[-1] == 50_000
    player = player_of(default_page)  # the player puts the run into the chart and plays it
    assert player["id"] == spec["layout"]["meta"]
    assert player["names"] == [f["name"] for f in spec["frames"]]
    assert player["readouts"][-1].startswith("epoch 50,000 · W = 49.6412 · b = 4,001.59 · ")
    sent = [
        len(default_page.get("plotly_chart")[0].proto.spec),
        len(default_page.get("bidi_component")[0].proto.bytes),
    ]
    assert sum(sent) < 200_000  # the chart once per data, the run once per run


def test_a_new_run_keeps_the_chart_and_sends_only_the_run():
    """A new step size: the chart's figure is the same (so the browser keeps it as drawn); the
    player gets the new run."""
    at = open_page()
    chart, player = chart_of(at), player_of(at)
    widget(at, "step_size").set_value(0.0003)
    at.run()
    assert chart_of(at) == chart and player_of(at)["id"] != player["id"]
    assert player_of(at)["readouts"][-1] != player["readouts"][-1]
    widget(at, "step_size").set_value(0.0005)
    at.run()
    assert chart_of(at) == chart and player_of(at) == player


# --- the folds: rarely changed controls, drawn only while open -----------------------------------


def numbers(at: AppTest) -> set[str]:
    return {w.key for w in at.number_input}


def test_the_folds_start_closed_and_cost_no_widgets():
    at = open_page()
    assert not at.exception
    assert not numbers(at) & {"slope", "intercept", "x_min", "x_max", "w0", "b0"}
    assert {e.label for e in at.expander} >= {title for title, _ in sidebar.FOLDS.values()}


def test_a_link_that_sets_a_folded_control_opens_its_fold():
    at = open_page({"w0": "10", "slope": "20"})
    assert not at.exception
    shown = {w.key: w.value for w in at.number_input}  # (widget() would open the folds)
    assert shown["w0"] == 10.0 and shown["slope"] == 20.0


def test_a_folded_control_keeps_its_value_and_its_run_when_the_fold_closes():
    at = open_page()
    widget(at, "b0").set_value(1000.0)
    at.run()
    run = log_of(at)
    at.session_state["fold_start"] = False  # the user closes the fold
    at.run()
    assert not at.exception and "b0" not in numbers(at)
    assert query(at)["b0"] == "1000" and np.array_equal(log_of(at), run)
    for _ in range(
        2
    ):  # and it stays closed (the value did not come from elsewhere), the value kept
        at.run()
        assert not at.session_state["fold_start"] and "b0" not in numbers(at)
        assert query(at)["b0"] == "1000" and np.array_equal(log_of(at), run)


def test_a_lesson_that_hides_a_folds_controls_hides_the_fold():
    at = open_page({"lesson": "blog", "b0": "1000"})  # hides W0 and b0
    assert not at.exception
    assert sidebar.FOLDS["fold_start"][0] not in {e.label for e in at.expander}
    for _ in range(2):  # and the link's start holds, drawn or not
        at.run()
        assert query(at)["b0"] == "1000"


# --- every control changes the run ------------------------------------------------------------

# setting -> (settings it needs first, its new value)
CHANGES = {
    "n": ({}, 500),
    "noise": ({}, 100.0),
    "slope": ({}, 20.0),
    "intercept": ({}, 1000.0),
    "x_min": ({}, 10.0),
    "x_max": ({}, 50.0),
    "seed": ({}, 7),
    "optimizer": ({}, "momentum"),
    "step_size": ({}, 0.0003),
    "iterations": ({}, 20_000),
    "batch_size": ({"optimizer": "sgd", "iterations": 200}, 64),
    "momentum": ({"optimizer": "momentum"}, 0.5),
    "w0": ({}, 10.0),
    "b0": ({}, 1000.0),
    "standardize": ({}, True),
}


@pytest.mark.parametrize("name", CHANGES)
def test_every_control_changes_the_run(name):
    # Property: setting a control by its key changes the trained log to exactly lrcore's run
    # for the new settings, and the URL to those settings.
    setup, value = CHANGES[name]
    at = open_page(cfg.to_params(cfg.DEFAULTS.replace(**setup)))
    before = log_of(at)
    widget(at, name).set_value(value)
    at.run()
    assert not at.exception
    after = cfg.DEFAULTS.replace(**setup, **{name: value})
    assert query(at) == cfg.to_params(after)
    assert log_of(at).shape != before.shape or not np.array_equal(log_of(at), before)
    assert_same_log(log_of(at), lrcore_log(after))


def test_loss_scale_changes_the_view_not_the_run(default_page):
    at = open_page()
    before = log_of(at)
    widget(at, "loss_scale").set_value("linear")
    at.run()
    assert figure_of(at)["layout"]["yaxis2"]["type"] == "linear"
    assert query(at)["loss_scale"] == "linear"
    np.testing.assert_array_equal(log_of(at), before)


def test_new_data_draws_the_next_seed():
    at = open_page()
    before = log_of(at)
    at.button(key="new_data").click()
    at.run()
    assert query(at)["seed"] == "1"
    assert widget(at, "seed").value == 1
    assert not np.array_equal(log_of(at), before)


def test_all_widgets_have_the_settings_names_as_keys():
    at = open_page()
    for fold in sidebar.FOLDS:  # as a user who opened them
        at.session_state[fold] = True
    at.run()
    keys = {
        w.key
        for kind in (
            "select_slider",
            "number_input",
            "selectbox",
            "slider",
            "toggle",
            "segmented_control",
        )
        for w in getattr(at, kind)
    }
    assert set(WIDGETS) <= keys


# --- the share link ---------------------------------------------------------------------------

LINKS = [
    cfg.DEFAULTS,
    cfg.DEFAULTS.replace(step_size=0.00037, iterations=1234, noise=123.456, n=777, seed=42),
    cfg.DEFAULTS.replace(
        optimizer="nesterov",
        momentum=0.95,
        w0=-3.25,
        b0=17.5,
        standardize=True,
        loss_scale="linear",
        x_min=-5.5,
        x_max=5.5,
    ),
    cfg.DEFAULTS.replace(optimizer="sgd", batch_size=10, iterations=50, slope=-2.0, intercept=0.1),
]


@pytest.mark.parametrize("link", LINKS, ids=range(len(LINKS)))
def test_url_round_trip(link):
    # Property: settings -> URL -> page -> URL is the identity, the widgets hold the link's
    # values exactly (values off the sliders' grids included), and the run is lrcore's for them.
    at = open_page(cfg.to_params(link))
    assert not at.exception and not at.warning
    assert query(at) == cfg.to_params(link)
    assert {name: widget(at, name).value for name in WIDGETS} == dataclass_values(link)
    assert_same_log(log_of(at), lrcore_log(link))


def dataclass_values(s: cfg.Settings) -> dict:
    return {name: getattr(s, name) for name in WIDGETS}


BAD_LINKS = {
    "wrong type": {"n": "many"},
    "not a number": {"noise": "NaN"},
    "infinite": {"step_size": "inf"},
    "negative": {"noise": "-5", "iterations": "-1"},
    "huge": {"n": "1e12", "intercept": "1e300"},
    "fraction for a whole number": {"iterations": "2.5"},
    "unknown optimizer": {"optimizer": "rmsprop"},
    "unknown key": {"learning_rate": "0.1"},
    "bad boolean": {"standardize": "maybe"},
    "momentum of one": {"optimizer": "momentum", "momentum": "1"},
    "x range backwards": {"x_min": "50", "x_max": "10"},
    "script tags": {"seed": "<script>alert(1)</script>", "<img src=x onerror=alert(1)>": "1"},
    "markdown": {"optimizer": "**bold** [link](javascript:alert(1)) :red[x] $x^2$ `code`"},
    "backticks": {"optimizer": "```\n# heading\n```"},
}


@pytest.mark.parametrize("params", BAD_LINKS.values(), ids=BAD_LINKS.keys())
def test_hand_edited_url_loads_nearest_settings_with_one_warning(params):
    at = open_page(params)
    assert not at.exception
    assert len(at.warning) == 1
    expected, notes = cfg.from_params(params)
    assert notes
    assert query(at) == cfg.to_params(expected)  # the URL is rewritten to what is loaded
    assert dataclass_values(expected) == {n: widget(at, n).value for n in WIDGETS}
    body = at.warning[0].value
    fence, _, rest = body.partition("\n\n")[2].partition("text\n")
    assert set(fence) == {"`"} and len(fence) >= 3  # the notes are one fenced code block...
    listed, _, after = rest.rpartition("\n" + fence)
    assert after == ""  # ...that holds everything the link said, as plain text
    assert fence not in listed
    assert listed == "\n".join(notes)


def test_warning_goes_once_the_settings_change():
    at = open_page({"n": "many"})
    assert len(at.warning) == 1
    widget(at, "noise").set_value(100.0)
    at.run()
    assert not at.warning


def test_a_long_value_is_cut_in_the_warning():
    at = open_page({"optimizer": "x" * 5000})
    assert not at.exception and len(at.warning) == 1
    assert len(at.warning[0].value) < 600


LATE_LINK = {"optimizer": "nesterov", "step_size": "0.0003", "iterations": "20000"}


@pytest.mark.parametrize("late", ["the link opened", "the address the last run wrote"])
def test_a_late_address_never_undoes_a_widget_change(late):
    # The browser sends its address with every rerun it asks for. A key press that lands while
    # a run is in flight asks for the next run before the browser has the address that run
    # writes, so the next run gets an older address: the link opened, or the page's own
    # address from before. It is not an address edited by hand: the widget keeps its newer
    # value, the run is the widget's, and the address is rewritten to it.
    at = open_page(LATE_LINK)
    old = dict(LATE_LINK) if late == "the link opened" else query(at)
    widget(at, "step_size").set_value(0.0004)
    at.run()
    assert query(at)["step_size"] == "0.0004"
    at.query_params.clear()
    at.query_params.update(old)  # the browser is an address behind
    widget(at, "step_size").set_value(0.0005)
    at.run()
    assert not at.exception and not at.warning
    now = cfg.from_params({**LATE_LINK, "step_size": "0.0005"})[0]
    assert widget(at, "step_size").value == 0.0005
    assert query(at) == cfg.to_params(now)
    assert_same_log(log_of(at), lrcore_log(now))


def test_an_address_the_page_never_wrote_still_loads_in_the_same_session():
    at = open_page(LATE_LINK)
    widget(at, "step_size").set_value(0.0004)
    at.run()
    at.query_params.clear()
    at.query_params.update({**LATE_LINK, "step_size": "0.001", "momentum": "0.5"})
    at.run()
    assert not at.exception and not at.warning
    now = cfg.from_params({**LATE_LINK, "step_size": "0.001", "momentum": "0.5"})[0]
    assert {n: widget(at, n).value for n in WIDGETS} == dataclass_values(now)
    assert query(at) == cfg.to_params(now)


# --- divergence and long runs -----------------------------------------------------------------


def test_divergent_step_size_is_flagged():
    at = open_page(cfg.to_params(cfg.DEFAULTS.replace(step_size=0.001)))
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "diverged at epoch" in message and "0.001" in message and "0.0006008" in message
    log = log_of(at)
    assert log[-1, 0] < 50_000  # the run stopped where it diverged
    assert any("diverged" in h.value for h in at.header)
    spec = figure_of(at)
    assert int(spec["frames"][-1]["name"]) == int(log[-1, 0])


def test_stable_step_size_is_not_flagged():
    at = open_page(cfg.to_params(cfg.DEFAULTS.replace(step_size=0.0006)))
    assert not at.exception and not at.error


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_slow_optimizers_give_lrcores_run(optimizer):
    # adam and sgd runs of 2,000+ epochs go through the progress-bar path
    s = cfg.DEFAULTS.replace(optimizer=optimizer, iterations=3000, step_size=0.1, standardize=True)
    at = open_page(cfg.to_params(s))
    assert not at.exception and not at.error
    assert_same_log(log_of(at), lrcore_log(s))


# --- the figure, without Streamlit -----------------------------------------------------------


@pytest.mark.parametrize("iterations", [1, 2, 50, 119, 120, 121, 1000, 50_000, 1_000_000])
def test_frame_and_curve_epochs(iterations):
    frames = figures.frame_epochs(iterations)
    curve = figures.curve_epochs(iterations)
    assert frames[0] == 0 and frames[-1] == iterations
    assert all(a < b for a, b in zip(frames, frames[1:], strict=False))
    assert len(frames) <= figures.FRAMES
    assert set(frames) <= set(curve) and curve[-1] == iterations
    assert len(curve) <= figures.CURVE + 1
    if iterations >= 1000:  # log-spaced: the first decade of epochs has its own frames
        assert {1, 2, 3} <= set(frames)


@pytest.mark.parametrize("level", [1e-2, 10.0, 1e4, 1e7])
def test_contours_lie_where_the_loss_has_their_level(blog, level):
    mom = lrcore.model.moments(blog.x, blog.y)
    w, b = figures.ellipse(mom, level, reach=1e9)
    a = np.column_stack([blog.x, np.ones_like(blog.x)])
    (w_opt, b_opt), *_ = np.linalg.lstsq(a, blog.y, rcond=None)
    lowest = 0.5 * np.mean((w_opt * blog.x + b_opt - blog.y) ** 2)
    loss = np.array(
        [0.5 * np.mean((wi * blog.x + bi - blog.y) ** 2) for wi, bi in zip(w, b, strict=True)]
    )
    np.testing.assert_allclose(loss - lowest, level, rtol=1e-6, atol=1e-6 * lowest)
    assert w[0] == w[-1] and b[0] == b[-1]  # closed


def run_states(step_size=0.0005, iterations=50_000, data=None):
    data = data or lrcore.make_data()
    frames = list(
        lrcore.train(
            data.x,
            data.y,
            step_size=step_size,
            iterations=iterations,
            at=figures.frame_epochs(iterations),
        )
    )
    curve = list(
        lrcore.train(
            data.x,
            data.y,
            step_size=step_size,
            iterations=iterations,
            at=figures.curve_epochs(iterations),
        )
    )
    return data, frames, curve


@pytest.mark.parametrize("step_size", [0.0005, 0.0007, 1.0])
def test_figure_frames_move_only_what_moves_and_never_empty(step_size):
    data, frames, curve = run_states(step_size)
    chart = figures.chart(data.x, data.y, truth=(50, 4000))
    assert chart == figures.base(data.x, data.y, truth=(50, 4000))  # (nothing pinned)
    one_run = figures.run(data.x, data.y, frames, curve, run_id="r")
    spec = figures.combine(chart, one_run)
    assert spec["layout"]["meta"] == "r"
    go.Figure(chart)
    go.Figure(spec)
    assert len(chart["data"]) == figures.TRACES and one_run["indices"] == list(
        range(figures.RUN_TRACES, figures.TRACES)
    )
    for i in one_run["indices"]:  # placeholders: drawn, never empty
        assert chart["data"][i]["x"] == [None] and chart["data"][i]["y"] == [None]
    moving = list(range(len(spec["data"]) - figures.MOVING, len(spec["data"])))
    assert [t["name"] for t in spec["data"][-figures.MOVING :]] == [
        "fitted line",
        "now",
        "path",
        "W, b now",
    ]
    for frame, state in zip(spec["frames"], frames, strict=True):
        assert frame["name"] == str(state.epoch) and frame["traces"] == moving
        for trace in frame["data"]:  # Plotly drops a subplot's other traces otherwise
            assert set(trace) == {"x", "y"} and len(trace["x"]) and len(trace["y"])
        line = frame["data"][0]
        assert line["y"] == [state.w * x + state.b for x in line["x"]]
    for i, frame in enumerate(spec["frames"]):  # the path: the frames' (W, b) up to this one
        path = frame["data"][figures.PATH_AT]
        for axis, values in (("x", [s.w for s in frames]), ("y", [s.b for s in frames])):
            drawn = np.frombuffer(base64.b64decode(path[axis]["bdata"]), "<f4")
            assert np.array_equal(drawn, np.float32(values[: i + 1]))


def test_landscape_window_holds_start_optimum_and_path(blog):
    _, frames, _ = run_states()
    fit = lrcore.closed_form(blog.x, blog.y)
    (w_lo, w_hi), (b_lo, b_hi) = figures.loss_window(frames, fit)
    for w, b in [(fit.w, fit.b)] + [(s.w, s.b) for s in frames]:
        assert w_lo <= w <= w_hi and b_lo <= b <= b_hi


def test_landscape_window_leaves_out_a_diverging_path(blog):
    _, frames, _ = run_states(step_size=0.001)
    assert frames[-1].diverged
    fit = lrcore.closed_form(blog.x, blog.y)
    (w_lo, w_hi), _ = figures.loss_window(frames, fit)
    assert w_hi - w_lo < 1e4 < abs(frames[-1].w)


def test_a_prebuilt_figure_is_written_as_plotly_writes_it():
    """What st.plotly_chart sends for a Prebuilt figure, frozen or not, is the JSON value
    plotly.io.to_json writes for the same dict, in text that to_json leaves as it is (ASCII,
    no <, > or /), and Streamlit finds the figure's height in it."""
    spec = {
        "data": [
            {"type": "scatter", "x": figures.typed(np.arange(300.0)), "name": "η < 1 </b>"},
            {"type": "scatter", "x": np.array([1.5, -2.0]), "hovertemplate": "%{x}<br>😀 ✓"},
        ],
        "layout": {"height": 321, "title": {"text": "10<sup>−4</sup> / β\u2028"}},
    }
    reference = json.loads(plotly.io.to_json(spec, validate=False))
    for figure in (spec, figures.frozen(spec), {**figures.frozen(spec), "layout": spec["layout"]}):
        text = plotly.io.to_json(figures.Prebuilt(figure), validate=False)
        assert json.loads(text) == reference
        assert text.isascii() and not set("<>/") & set(text)
    assert figures.Prebuilt(spec).to_dict()["layout"]["height"] == 321
    assert isinstance(figures.frozen(spec)["data"][0], orjson.Fragment)


def test_typed_arrays_decode_to_the_same_numbers():
    values = np.array([0.1, -2.5e300, 3.0])
    spec = figures.typed(values)
    assert spec["dtype"] == "f8"
    assert np.array_equal(np.frombuffer(base64.b64decode(spec["bdata"]), "<f8"), values)


def test_code_block_shows_any_text_as_text():
    lines = ["plain", "```", "````x", "<script>alert(1)</script>"]
    block = text.code_block(lines)
    fence = block.split("text\n")[0]
    assert fence == "`````" and block.endswith("\n" + fence)
    assert block[len(fence) + 5 : -len(fence) - 1] == "\n".join(lines)


# --- downloads and the share link -------------------------------------------------------------


def test_downloads_and_share_link_appear_when_opened_and_hold_this_run():
    at = open_page({"step_size": "0.0003", "iterations": "2000"})
    assert not at.get("download_button")  # built only when its expander is opened
    at.session_state["share"] = True
    at.run()
    assert {b.proto.label for b in at.get("download_button")} == {"Log as CSV", "Settings as JSON"}
    link = at.get("code")[-1].value
    assert link.split("?")[1] == "&".join(f"{k}={v}" for k, v in query(at).items())
    s = cfg.DEFAULTS.replace(step_size=0.0003, iterations=2000)
    blog = lrcore.make_data()
    states = [
        st_
        for st_ in lrcore.train(
            blog.x, blog.y, step_size=0.0003, iterations=2000, at=runs.epochs(2000)
        )
        if st_.epoch % 200 == 0
    ]
    rows = results.log_csv(states).splitlines()
    assert rows[0] == "epoch,W,b,loss,dW,db"
    np.testing.assert_array_equal(
        np.array([r.split(",") for r in rows[1:]], dtype=float), log_of(at)
    )  # the CSV is the log shown, digit for digit
    assert cfg.Settings(**json.loads(results.settings_text(s))) == s
