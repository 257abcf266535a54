"""The Explore section through AppTest: a sweep of whole runs over the step size (and, for
momentum and nesterov, over β), drawn for the data on screen, and the buttons that make its
fastest point the run on screen.

References are independent of the page: lrcore.sweep and lrcore.train called directly with the
same settings, the Hessian's eigenvalues from NumPy, and the naive per-epoch loop
(support/reference.py) for one run. Clicking a point is tested in a real browser
(tests/browser/test_browser_explore.py).
"""

from __future__ import annotations

import base64
import json
import math
import time

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrui import explore, lessons
from support import reference

TIMEOUT = 60
BLOG = lrcore.make_data()  # the data every test here uses: the blog's


def open_page(params: dict | None = None, **state) -> AppTest:
    """A first visit to a link with these query parameters; session state set first (e.g.
    explore=True opens the section)."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def figure(at: AppTest, kind: str = "curve") -> dict | None:
    """The Explore chart `kind` ("curve" or "map") as sent, or None if the page has none."""
    found = [c for c in at.get("plotly_chart") if f"-explore_{kind}_" in c.proto.id]
    assert len(found) <= 1
    return json.loads(found[0].proto.spec) if found else None


def trace(spec: dict, name: str) -> dict:
    (found,) = [t for t in spec["data"] if t["name"] == name]
    return found


def shape(spec: dict, name: str) -> dict:
    (found,) = [s for s in spec["layout"]["shapes"] if s.get("name") == name]
    return found


def values(values: list) -> np.ndarray:
    """A trace's numbers, gaps (None) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def grid_values(z) -> np.ndarray:
    """A heatmap's z: a typed 2-D array ({dtype, bdata, shape}) or nested lists (None: NaN)."""
    if isinstance(z, dict):
        flat = np.frombuffer(base64.b64decode(z["bdata"]), "<" + z["dtype"]).astype(np.float64)
        return flat.reshape([int(n) for n in z["shape"].split(",")])
    return values(np.ravel(z).tolist())


def hessian_eigenvalues(x, standardize: bool = False) -> np.ndarray:
    """λmin, λmax of H = [[mean x², mean x], [mean x, 1]] (of standardized x: the identity)."""
    if standardize:
        x = (x - x.mean()) / x.std()
    h = np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return np.linalg.eigvalsh(h)


# --- closed, open, and the lesson -------------------------------------------------------------


def test_the_section_costs_nothing_closed_and_shows_its_chart_open():
    closed = open_page()
    assert not closed.exception and figure(closed) is None
    assert closed.session_state["explore"] is False
    opened = open_page(explore=True)
    assert not opened.exception and not opened.warning and not opened.error
    spec = figure(opened)
    go.Figure(spec)  # a valid Plotly figure
    assert "200 runs of 50,000 epochs each" in spec["layout"]["title"]["text"]
    assert figure(opened, "map") is None  # gd has no β
    notes = [c.value for c in opened.caption if "Look for" in c.value]
    assert len(notes) == 1 and "2/(λmin+λmax)" in notes[0]


def test_the_lesson_link_opens_the_section_with_its_prompt():
    at = open_page({"lesson": "explore"})
    assert not at.exception and not at.warning
    assert at.session_state["explore"] is True and figure(at) is not None
    assert len(at.info) == 1 and lessons.LESSONS["explore"].prompt in at.info[0].value
    assert "fastest" in at.info[0].value and "2/λmax" in at.info[0].value
    assert query(at)["lesson"] == "explore" and query(at).get("dataset", "blog") == "blog"
    assert "explore" in cfg.LESSONS


# --- the curve against lrcore -----------------------------------------------------------------

CASES = {
    "blog": {},
    "standardized, 200 epochs, from (10, 1000)": {
        "standardize": "true",
        "iterations": "200",
        "w0": "10",
        "b0": "1000",
    },
    "momentum 0.5": {"optimizer": "momentum", "momentum": "0.5", "iterations": "20000"},
    "nesterov": {"optimizer": "nesterov", "iterations": "5000"},
}


@pytest.mark.parametrize("case", CASES)
def test_the_curve_is_lrcore_sweep_of_the_settings_on_screen(case):
    """Property 1: every point drawn is lrcore.sweep's run at its step size (loss, epochs to 1%,
    diverged) for the settings on screen. Property 2: the step sizes are 200, log-spaced, from
    1000 times below the stability limit to 3 times above it, each to 7 significant digits."""
    params = CASES[case]
    s, _ = cfg.from_params(params)
    at = open_page(params, explore=True)
    assert not at.exception
    spec = figure(at)
    eta = np.array(trace(spec, "loss")["x"])
    limit = lrcore.stable_step_size(BLOG.x, BLOG.y, s.optimizer, s.momentum, s.standardize)
    assert len(eta) == 200
    assert all(e == float(f"{e:.7g}") for e in eta)
    assert eta[0] == pytest.approx(limit / 1000, rel=5e-7)
    assert eta[-1] == pytest.approx(min(1.0, 3 * limit), rel=5e-7)
    ratio = (eta[-1] / eta[0]) ** (1 / 199)
    assert np.allclose(eta[1:] / eta[:-1], ratio, rtol=1e-6)
    sweep = lrcore.sweep(
        BLOG.x,
        BLOG.y,
        step_sizes=eta,
        iterations=s.iterations,
        optimizer=s.optimizer,
        momenta=[s.momentum],
        w0=s.w0,
        b0=s.b0,
        standardize=s.standardize,
    )
    diverged = sweep.diverged[0]
    loss = np.where(diverged, np.nan, sweep.loss[0])
    epochs = np.where(diverged | ~np.isfinite(sweep.epochs[0]), np.nan, sweep.epochs[0])
    np.testing.assert_allclose(values(trace(spec, "loss")["y"]), loss, rtol=1e-12)
    np.testing.assert_allclose(values(trace(spec, "epochs to 1%")["y"]), epochs, rtol=0)
    assert trace(spec, "diverged")["x"] == eta[diverged].tolist()
    assert not diverged[eta < limit].any() and diverged[-1] == (eta[-1] > limit)
    assert all(c[0] == e for c, e in zip(trace(spec, "loss")["customdata"], eta, strict=True))


def test_one_point_of_the_curve_is_the_run_lrcore_train_and_the_naive_loop_make():
    """The point nearest η = 0.5 (standardized x, 200 epochs): its loss is train's last state
    and the naive loop's; its epochs to 1% the naive loop's first epoch within 1%."""
    at = open_page({"standardize": "true", "iterations": "200"}, explore=True)
    spec = figure(at)
    eta = np.array(trace(spec, "loss")["x"])
    i = int(np.argmin(abs(np.log(eta / 0.5))))
    shown_loss = trace(spec, "loss")["y"][i]
    shown_epochs = trace(spec, "epochs to 1%")["y"][i]
    *_, last = lrcore.train(
        BLOG.x, BLOG.y, step_size=eta[i], iterations=200, standardize=True, every=200
    )
    assert last.epoch == 200 and not last.diverged
    assert shown_loss == pytest.approx(last.loss, rel=1e-9)
    rows, diverged = reference.run(
        "gd", BLOG.x, BLOG.y, standardize=True, step_size=eta[i], iterations=200
    )
    assert not diverged and shown_loss == pytest.approx(rows[-1].loss, rel=1e-9)
    w, b = lrcore.closed_form(BLOG.x, BLOG.y)[:2]
    dist = [math.hypot(r.w - w, r.b - b) for r in rows]
    first = next(k for k, d in enumerate(dist) if k and d <= 0.01 * dist[0])
    assert shown_epochs == first


def test_the_limit_the_fastest_and_the_current_step_are_marked_where_they_are():
    at = open_page({"step_size": "0.0003"}, explore=True)
    spec = figure(at)
    lam_min, lam_max = hessian_eigenvalues(BLOG.x)
    assert shape(spec, "limit")["x0"] == pytest.approx(2 / lam_max, rel=1e-9)
    assert shape(spec, "fastest")["x0"] == pytest.approx(2 / (lam_min + lam_max), rel=1e-9)
    assert shape(spec, "current")["x0"] == 0.0003
    shade = shape(spec, "diverges")
    assert shade["x0"] == shape(spec, "limit")["x0"] and shade["x1"] >= max(
        trace(spec, "loss")["x"]
    )
    # every drawn run right of the limit diverged, every one left of it did not
    eta = np.array(trace(spec, "loss")["x"])
    gone = np.isin(eta, trace(spec, "diverged")["x"])
    assert (gone == (eta > 2 / lam_max)).all()


def test_an_empty_epochs_plot_says_why():
    """When no run of the curve gets within 1% (lrcore.sweep says so too), its lower plot is
    empty and a note in it says so; when some do, there is no such note."""

    def note(at: AppTest) -> list[str]:
        spec = figure(at)
        return [
            a["text"] for a in spec["layout"]["annotations"] if a.get("name") == "none within 1%"
        ]

    short = open_page({"iterations": "100"}, explore=True)
    eta = trace(figure(short), "epochs to 1%")["x"]
    assert not np.isfinite(
        lrcore.sweep(BLOG.x, BLOG.y, step_sizes=eta, iterations=100).epochs
    ).any()
    assert all(v is None for v in trace(figure(short), "epochs to 1%")["y"])
    # what would: the fastest step's epochs (the button sets them), gd's exact prediction
    assert note(short) == [
        "No run gets within 1% in 100 epochs: try 50,000 epochs (the button below)"
    ]
    assert short.button(key="explore_fastest").label == "Use the fastest step and 50,000 epochs"
    assert note(open_page(explore=True)) == []  # the blog's 50,000 epochs: some runs do


def test_each_rerun_marks_only_its_own_run_on_the_figures_built_once():
    """The curve and the map are built once for every step size and β (st.cache_resource:
    one figure shared by every session) and each rerun marks its own run on a copy. Were the
    shared figure changed, the second run would show the first one's marks too."""
    at = open_page({"optimizer": "momentum", "iterations": "5000"}, explore=True)
    for step, beta in ((0.0003, 0.9), (0.0001, 0.5), (0.0002, 0.95)):
        at.session_state["step_size"] = step
        at.session_state["momentum"] = beta
        at.run()
        assert not at.exception
        curve, grid = figure(at), figure(at, "map")
        marks = [sh for sh in curve["layout"]["shapes"] if sh["name"] == "current"]
        assert [sh["x0"] for sh in marks] == [step]
        (ring,) = [t for t in grid["data"] if t["name"] == "this run"]
        assert ring["x"] == [pytest.approx(math.log10(step))]
        assert ring["y"] == [pytest.approx(-math.log10(1 - beta))]
    # one map for every β: the same cells whatever the β on screen
    first = trace(grid, "epochs to 1%")["z"]
    at.session_state["momentum"] = 0.8
    at.run()
    assert trace(figure(at, "map"), "epochs to 1%")["z"] == first


# --- the buttons ------------------------------------------------------------------------------


def test_use_the_fastest_step_makes_it_the_run_and_the_link_follows():
    """The fastest gd step 2/(λmin+λmax) = 0.00060072 on the blog's data sits just below the
    limit 0.00060077: to 3 significant digits it is 0.0006 (0.000601 would diverge)."""
    at = open_page(explore=True)
    lam_min, lam_max = hessian_eigenvalues(BLOG.x)
    fastest, limit = 2 / (lam_min + lam_max), 2 / lam_max
    near = float(f"{fastest:.3g}")
    expected = near if near < limit else float(f"{math.floor(fastest * 1e6) / 1e6:.3g}")
    assert expected == 0.0006
    at.button(key="explore_fastest").click().run()
    assert not at.exception and not at.error
    assert at.session_state["step_size"] == expected
    assert query(at)["step_size"] == "0.0006"
    assert shape(figure(at), "current")["x0"] == expected


@pytest.mark.parametrize("eta", [0.00060072, 0.00060079, 0.000123456, 0.5, 1e-9])
def test_a_clicked_step_is_rounded_to_3_digits_on_its_own_side_of_the_limit(eta):
    limit = 0.00060077
    got = lrcore.rounded_step(eta, limit)
    assert got == float(f"{got:.3g}")  # 3 significant digits
    assert (got < limit) == (eta < limit)
    assert got == pytest.approx(eta, rel=1e-2)


def test_the_map_is_lrcore_sweep_over_beta_with_the_boundary_and_the_best_point():
    params = {"optimizer": "momentum", "momentum": "0.9", "iterations": "20000"}
    at = open_page(params, explore=True)
    assert not at.exception and not at.warning
    spec = figure(at, "map")
    go.Figure(spec)
    # every cell once, in one of three traces by what its run did
    cells = [c for t in spec["data"] if t["name"].startswith("runs") for c in t["customdata"]]
    eta = np.unique([c[0] for c in cells])
    beta = np.unique([c[1] for c in cells])
    assert len(cells) == len(eta) * len(beta) == len({(c[0], c[1]) for c in cells})
    assert np.all(beta == np.round(beta, 3)) and beta[0] == 0 and beta[-1] == 0.999
    sweep = lrcore.sweep(
        BLOG.x, BLOG.y, step_sizes=eta, momenta=beta, iterations=20_000, optimizer="momentum"
    )
    good = np.isfinite(sweep.epochs) & ~sweep.diverged
    z = grid_values(trace(spec, "epochs to 1%")["z"]).reshape(sweep.epochs.shape)
    # log10 of the epochs as a colour, in float32
    np.testing.assert_allclose(z, np.where(good, np.log10(sweep.epochs), np.nan), rtol=1e-6)
    # what a cell says on hover: its run's epochs to 1%, exact
    for c in trace(spec, "runs")["customdata"]:
        i, j = np.flatnonzero(beta == c[1])[0], np.flatnonzero(eta == c[0])[0]
        assert good[i, j] and c[3] == sweep.epochs[i, j]
    gone = grid_values(trace(spec, "diverged")["z"]).reshape(sweep.epochs.shape)
    assert ((gone == 1) == sweep.diverged).all()
    # the boundary: the largest stable η for each β, 2(1+β)/λmax
    lam_max = hessian_eigenvalues(BLOG.x)[1]
    line = trace(spec, "stability boundary")
    b = 1 - 10 ** -np.array(line["y"])
    np.testing.assert_allclose(10 ** np.array(line["x"]), 2 * (1 + b) / lam_max, rtol=1e-9)
    # the best cell: the fewest epochs to 1%
    best = trace(spec, "best (η, β)")
    i, j = np.unravel_index(np.argmin(np.where(good, sweep.epochs, np.inf)), good.shape)
    assert best["x"] == [pytest.approx(math.log10(eta[j]))]
    assert best["y"] == [pytest.approx(-math.log10(1 - beta[i]))]
    current = trace(spec, "this run")
    assert current["x"] == [pytest.approx(math.log10(0.0005))] and current["y"] == [
        pytest.approx(1.0)
    ]
    # the button makes the best (η, β) the run on screen
    at.button(key="explore_best").click().run()
    assert not at.exception and not at.error
    assert at.session_state["momentum"] == beta[i]
    assert at.session_state["step_size"] == lrcore.rounded_step(eta[j], 2 * (1 + beta[i]) / lam_max)
    assert query(at)["momentum"] == f"{beta[i]:g}"


# --- adam and sgd: simulated, within the budget ---------------------------------------------


def test_a_simulated_optimizer_keeps_within_the_work_budget_and_says_it_is_simulated():
    params = {"optimizer": "adam"}
    at = open_page(params)  # the run itself, trained and cached first
    explore.curve_figure.clear()
    at.session_state["explore"] = True
    start = time.process_time()  # CPU seconds: the work, whatever else the machine runs
    at.run()
    spent = time.process_time() - start
    assert not at.exception
    spec = figure(at)
    eta = np.array(trace(spec, "loss")["x"])
    title = spec["layout"]["title"]["text"]
    assert "simulated" in title
    epochs = int(title.split(" of ")[1].split(" epochs")[0].replace(",", ""))
    assert explore.SIMULATED_POINTS[0] <= len(eta) <= explore.SIMULATED_POINTS[1]
    # the estimate the plan is held to, and the work it took (with room for a slower machine)
    s, _ = cfg.from_params(params)
    per_epoch = cfg.work_seconds(s.replace(iterations=1), len(BLOG)) + explore.SWEEP_EPOCH_SECONDS
    assert len(eta) * epochs * per_epoch <= cfg.WORK_BUDGET
    assert spent < 2 * cfg.WORK_BUDGET
    assert any("Simulated" in c.value for c in at.caption)
    assert "limit" in {sh["name"] for sh in spec["layout"]["shapes"]}
    assert "diverges" not in {sh["name"] for sh in spec["layout"]["shapes"]}  # no sharp limit
    # one point against lrcore.sweep itself
    one = lrcore.sweep(BLOG.x, BLOG.y, step_sizes=eta[-2:-1], iterations=epochs, optimizer="adam")
    assert trace(spec, "loss")["y"][-2] == pytest.approx(one.loss[0, 0], rel=1e-12)


# --- data and settings that diverge -----------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"step_size": "1"},  # the run on screen diverges
        {"x_min": "100000", "x_max": "1000000", "optimizer": "momentum"},  # a tiny limit
        {"w0": "1000000000", "b0": "-1000000000", "optimizer": "nesterov"},  # a far start
        {"iterations": "1"},
    ],
)
def test_diverging_settings_draw_without_an_exception(params):
    at = open_page(params, explore=True)
    assert not at.exception
    spec = figure(at)
    assert spec is not None and len(trace(spec, "loss")["x"]) > 0
    go.Figure(spec)
