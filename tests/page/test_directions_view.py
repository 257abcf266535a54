"""The error along each eigen-direction, as the page draws it (issue 22, point 2): the two
eigen-directions on the landscape, and the expander "Why it converges" with the error along each
against epochs, its predicted line and its milestone, and the marker that follows the player.

References: numpy.linalg.lstsq for the answer (W*, b*), numpy.linalg.eigh of the Hessian written
out in the coordinates training steps in (converted to (W, b) by hand), and lrcore.directions
called directly for the numbers the error chart must show.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrui import figures
from lrui.explain import directions as view
from lrui.explain import update
from lrui.text import number
from support.page import component_of, figure_of, player_of

TIMEOUT = 60
TYPES = {"f8": np.float64, "f4": np.float32, "i4": np.int32}


def values(v) -> np.ndarray:
    """A trace's array as sent: a typed {dtype, bdata} or a plain list (None: NaN)."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), TYPES[v["dtype"]]).astype(float)
    return np.array([np.nan if e is None else e for e in v], dtype=float)


def trace(spec: dict, name: str) -> dict:
    found = [t for t in spec["data"] if t.get("name") == name]
    assert len(found) == 1, f"{len(found)} traces named {name!r}"
    return found[0]


def hessian_eigh(x, standardize: bool):
    """numpy.linalg.eigh of the Hessian of the ½·mean loss in training coordinates, z = x or
    (x − m)/s (largest eigenvalue first), and the map from a (W, b) step to the (u, c) step it
    is there: u = W·s, c = b + W·m."""
    m, s = (float(np.mean(x)), float(np.std(x))) if standardize else (0.0, 1.0)
    z = (x - m) / s
    lam, q = np.linalg.eigh(np.array([[np.mean(z * z), np.mean(z)], [np.mean(z), 1.0]]))
    return lam[::-1], q[:, ::-1], lambda dw, db: np.array([dw * s, db + dw * m])


def parallel(a, b) -> bool:
    return abs(a[0] * b[1] - a[1] * b[0]) <= 1e-9 * np.hypot(*a) * np.hypot(*b)


def lstsq(x, y) -> np.ndarray:
    a = np.column_stack([x, np.ones_like(x)])
    return np.linalg.lstsq(a, y, rcond=None)[0]


def states(data, iterations=2000, **args):
    frames = list(
        lrcore.train(
            data.x,
            data.y,
            step_size=0.0005,
            iterations=iterations,
            at=figures.frame_epochs(iterations),
            **args,
        )
    )
    return frames


# --- the eigen-directions on the landscape ---------------------------------------------------


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize(
    "data",
    [
        lrcore.make_data(),  # the blog's
        lrcore.make_data(n=60, slope=-3, intercept=7, noise=2, x_min=-40, x_max=15, seed=4),
    ],
    ids=["blog", "offset"],
)
def test_the_eigen_lines_go_through_the_answer_along_the_hessians_eigenvectors(data, standardize):
    frames = states(data, standardize=standardize)
    one_run = figures.run(data.x, data.y, frames, frames, standardize=standardize)
    spec = figures.combine(figures.chart(data.x, data.y), one_run)
    (w_lo, w_hi), (b_lo, b_hi) = (spec["layout"][k]["range"] for k in ("xaxis3", "yaxis3"))
    answer = lstsq(data.x, data.y)
    lam, q, to_training = hessian_eigh(data.x, standardize)
    steps = []
    labels = trace(spec, "directions' labels")
    label_x, label_y = values(labels["x"]), values(labels["y"])
    corners = len(figures.LABEL_CORNERS)
    for i, name in enumerate(figures.DIRECTION_NAMES):
        line = trace(spec, name)
        assert line["xaxis"] == "x3" and line["yaxis"] == "y3"
        ends = np.stack([values(line["x"]), values(line["y"])], axis=1)
        assert ends.shape == (2, 2)
        # the segment runs along eigh's eigenvector i, converted to (W, b); where the two
        # eigenvalues are equal (standardized x), any two orthogonal directions are theirs
        span = np.array([w_hi - w_lo, b_hi - b_lo])
        steps.append(to_training(*(ends[1] - ends[0])))
        if lam[0] > lam[1] * (1 + 1e-9):
            assert parallel(steps[-1], q[:, i])
        # and through the answer, which lies between its ends
        t = np.dot(answer - ends[0], ends[1] - ends[0]) / np.dot(
            ends[1] - ends[0], ends[1] - ends[0]
        )
        assert 0 < t < 1
        off = (ends[0] + t * (ends[1] - ends[0]) - answer) / span
        assert np.hypot(*off) <= 1e-9
        # from edge to edge of the view
        for end in ends:
            assert w_lo - 1e-9 * span[0] <= end[0] <= w_hi + 1e-9 * span[0]
            assert b_lo - 1e-9 * span[1] <= end[1] <= b_hi + 1e-9 * span[1]
            on_edge = np.isclose(end, [w_lo, b_lo], rtol=0, atol=1e-9 * span) | np.isclose(
                end, [w_hi, b_hi], rtol=0, atol=1e-9 * span
            )
            assert on_edge.any()
        # its label: at one corner of its point only, on the line, inside the view, and
        # reading towards the middle of the view
        mine = slice(i * corners, (i + 1) * corners)
        placed = np.flatnonzero(~np.isnan(label_x[mine]))
        assert len(placed) == 1 and labels["text"][mine] == [name] * corners
        point = np.array([label_x[mine][placed[0]], label_y[mine][placed[0]]])
        s = np.dot(point - ends[0], ends[1] - ends[0]) / np.dot(
            ends[1] - ends[0], ends[1] - ends[0]
        )
        assert 0 < s < 1
        assert np.hypot(*((ends[0] + s * (ends[1] - ends[0]) - point) / span)) <= 1e-9
        where = labels["textposition"][mine][placed[0]]
        middle = np.array([w_lo + w_hi, b_lo + b_hi]) / 2
        assert ("left" in where) == (point[0] > middle[0])
        assert ("bottom" in where) == (point[1] > middle[1])
    a, b = steps
    assert abs(np.dot(a, b)) <= 1e-9 * np.hypot(*a) * np.hypot(*b)  # (u, c) steps: orthogonal


def test_the_eigen_lines_leave_the_players_traces_where_they_were():
    """The moving traces are still the last MOVING, the frames' indices point at them, and the
    run's traces fill the placeholders from RUN_TRACES on (the player relies on this)."""
    data = lrcore.make_data()
    frames = states(data)
    chart = figures.chart(data.x, data.y)
    one_run = figures.run(data.x, data.y, frames, frames)
    names = [t["name"] for t in chart["data"]]
    assert len(names) == figures.TRACES
    arrows = [name for _, name, *_ in figures.STEPS]  # the step's arrows, moving too
    assert names[-figures.MOVING :] == ["fitted line", "now", "path", "W, b now", *arrows]
    assert one_run["frames"][0]["traces"] == list(  # (a run without arrows moves none)
        range(figures.TRACES - figures.MOVING, figures.TRACES - len(arrows))
    )
    assert one_run["indices"] == list(range(figures.RUN_TRACES, figures.TRACES))
    for name in (*figures.DIRECTION_NAMES, "directions' labels"):
        assert names.index(name) in one_run["indices"]


# --- the error along each direction -----------------------------------------------------------


def direction_of(data, iterations=50_000, **args) -> lrcore.Directions:
    return lrcore.directions(
        data.x,
        data.y,
        step_size=args.pop("step_size", 0.0005),
        iterations=iterations,
        at=figures.curve_epochs(iterations),
        **args,
    )


@pytest.mark.parametrize(
    "args",
    [{}, {"standardize": True}, {"optimizer": "momentum"}, {"optimizer": "adam", "step_size": 1}],
    ids=["gd", "standardized", "momentum", "adam"],
)
def test_the_error_chart_draws_lrcores_numbers(args):
    data = lrcore.make_data()
    iterations = 2000 if args.get("optimizer") == "adam" else 50_000
    d = direction_of(data, iterations, **args)
    spec = view.error_chart(d, "r")
    assert spec["layout"]["meta"] == "r"
    floor = view.FLOOR * np.max(np.abs(d.error[0]))
    shown = d.epochs > 0
    names = view.names(d.eigenvalues)
    for i, name in enumerate(names):
        line = trace(spec, name)
        size = np.abs(d.error[shown, i])
        np.testing.assert_array_equal(values(line["x"]), d.epochs[shown])
        np.testing.assert_array_equal(values(line["customdata"]), size)  # the hover: exact
        np.testing.assert_array_equal(values(line["y"]), np.maximum(size, floor))
        assert [bool(t) for t in line["text"]] == (size < floor).tolist()  # "drawn at the floor"
        predicted = [t for t in spec["data"] if t.get("legendgroup") == name]
        milestone = [t for t in spec["data"] if t["name"].startswith(name + ": 1% at epoch")]
        if args.get("optimizer") == "adam":
            assert math.isnan(d.rate[i]) and predicted == []
        else:
            [p] = predicted
            assert p["line"]["dash"] == "dash"
            t = d.epochs[shown].astype(float)
            with np.errstate(under="ignore"):
                naive = np.abs(d.error[0, i]) * float(d.rate[i]) ** t
            got = values(p["y"])
            above = naive > floor
            np.testing.assert_allclose(got[above], naive[above], rtol=1e-9)
            assert np.all(got[~above] == floor)
        if math.isfinite(d.milestone[i]):
            [m] = milestone
            assert m["x"] == [int(d.milestone[i])]
            assert m["y"] == [pytest.approx(0.01 * abs(d.error[0, i]), rel=1e-12)]
            assert m["text"] == [f"1% at epoch {int(d.milestone[i]):,}"]
        else:
            assert milestone == []
    low, high = spec["layout"]["yaxis"]["range"]
    drawn = np.concatenate([values(t["y"]) for t in spec["data"] if t["mode"] == "lines"])
    assert low < math.log10(np.nanmin(drawn)) and math.log10(np.nanmax(drawn)) < high
    assert spec["layout"]["xaxis"]["range"] == [0, math.log10(d.epochs[-1]) + 0.05]


def test_the_blogs_directions_finish_far_apart_and_standardized_ones_together():
    """What the chart shows at a glance, in its sentence: the blog's steep direction is done
    in a few dozen epochs, the flat one needs about 36,800; standardized, both together."""
    data = lrcore.make_data()
    raw, std = direction_of(data), direction_of(data, standardize=True)
    assert raw.milestone[0] < 50 and 36_000 < raw.milestone[1] < 37_600
    assert std.milestone[0] == std.milestone[1]
    blog = view.sentence(cfg.DEFAULTS, raw)
    assert f"direction 1 at epoch {int(raw.milestone[0]):,}" in blog
    assert f"direction 2 at epoch {int(raw.milestone[1]):,}" in blog
    assert "how far apart" in blog
    together = view.sentence(cfg.DEFAULTS.replace(standardize=True), std)
    assert "fall together" in together


def test_a_step_too_large_for_the_steep_direction_is_named():
    """Above 2/λ₁ the steep direction's error grows by |1 − ηλ₁| every epoch (λ₁ from eigh)."""
    data = lrcore.make_data()
    d = direction_of(data, 2000, step_size=0.0007)
    lam, _, _ = hessian_eigh(data.x, False)
    text = view.sentence(cfg.DEFAULTS.replace(step_size=0.0007), d)
    growth = abs(1 - 0.0007 * lam[0])
    assert growth > 1
    assert text.startswith(
        f"Look at direction 1: its error is multiplied by {number(growth, 6)} every epoch"
    )
    assert "never shrinks" in text and "direction 1 not in this run" in text


def test_an_error_of_exactly_zero_is_drawn_at_the_floor():
    """The blog's steep direction underflows to 0 within the run: its points stay on the log
    axis, at the floor, and their hover says so."""
    d = direction_of(lrcore.make_data())
    assert (d.error[:, 0] == 0).any()
    line = trace(view.error_chart(d), view.names(d.eigenvalues)[0])
    y = values(line["y"])
    zero = np.abs(d.error[d.epochs > 0, 0]) == 0
    assert np.all(y[zero] == view.FLOOR * np.max(np.abs(d.error[0]))) and np.all(y > 0)
    assert all(line["text"][k] == view.BELOW for k in np.flatnonzero(zero))


def test_the_marker_has_the_errors_at_every_frame():
    data = lrcore.make_data()
    d = direction_of(data)
    frames = figures.frame_epochs(50_000)
    marks = view.marker_positions(d, frames)
    floor = view.FLOOR * np.max(np.abs(d.error[0]))
    assert marks["x"] == [None, *frames[1:]]  # epoch 0 has no place on a log axis
    for k, epoch in enumerate(frames[1:], start=1):
        row = int(np.flatnonzero(d.epochs == epoch)[0])
        for i in range(2):
            assert marks["y"][i][k] == max(abs(d.error[row, i]), floor)


# --- the page ---------------------------------------------------------------------------------


def open_page(settings: cfg.Settings, **state) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in cfg.to_params(settings).items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def directions_chart(at: AppTest) -> dict | None:
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(view.CHART)]
    return json.loads(charts[0].proto.spec) if charts else None


PAGES = {
    "gd": cfg.DEFAULTS,
    "momentum": cfg.DEFAULTS.replace(optimizer="momentum"),
    "standardized": cfg.DEFAULTS.replace(standardize=True),
    "adam": cfg.DEFAULTS.replace(optimizer="adam", iterations=2000),
}


@pytest.mark.parametrize("name", PAGES)
def test_opening_the_expander_draws_the_error_along_each_direction(name):
    s = PAGES[name]
    closed = open_page(s)
    assert directions_chart(closed) is None  # closed: nothing computed, nothing sent
    assert component_of(closed, "directions_marker") is None
    at = open_page(s, directions=True)
    assert not at.exception
    spec, player = directions_chart(at), player_of(at)
    assert spec["layout"]["meta"] == player["id"]
    # the numbers are lrcore's for the run on screen, at its loss curve's epochs
    data = lrcore.make_data()  # the blog's, as the page's defaults
    d = lrcore.directions(
        data.x, data.y, **cfg.train_args(s), at=figures.curve_epochs(s.iterations)
    )
    assert spec == json.loads(json.dumps(view.error_chart(d, player["id"])))
    names = [t["name"] for t in spec["data"]]
    predicted = [n for n in names if n.startswith("predicted")]
    assert len(predicted) == (0 if name == "adam" else 2)
    # the epoch axis is the loss view's
    loss_view = figure_of(at)["layout"]["xaxis2"]["range"]
    assert spec["layout"]["xaxis"]["range"] == pytest.approx(loss_view)
    # the marker follows the player's frames, with the same run
    marks = component_of(at, "directions_marker")
    assert marks["run"] == player["id"] and marks["chart"] == view.CHART
    assert len(marks["x"]) == len(player["names"]) == len(marks["readouts"])
    assert marks["x"][1:] == [int(e) for e in player["names"][1:]]
    uids = {t.get("uid") for t in spec["data"]}
    assert set(marks["uids"]) <= uids
    text = " ".join(c.value for c in at.caption)
    assert view.sentence(s, d) in text
    if name == "adam":
        assert "no line is predicted" in text
    # and the eigen-directions are on the landscape of the run on screen
    landscape = figure_of(at)
    for direction in figures.DIRECTION_NAMES:
        assert np.isfinite(values(trace(landscape, direction)["x"])).all()


def test_the_math_panel_says_how_the_errors_are_computed():
    at = open_page(cfg.DEFAULTS, math=True)
    assert not at.exception
    assert any(e.value.strip("$\n") == update.DIRECTIONS_TEX for e in at.latex)
    text = " ".join(m.value for m in at.markdown)
    assert "eigen-directions" in text and "Q·diag(λ₁, λ₂)·Qᵀ" in text
    assert any("ρᵢ = |1 − ηλᵢ|" in c.value for c in at.caption)
