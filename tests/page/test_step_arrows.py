"""The step on the landscape (issue 22, point 3): at each frame, the update at the player's epoch
drawn as arrows at the current point, to scale: −η∇L, and for momentum and nesterov the
velocity's part −η·β·v and the step taken θ_{k+1} − θ_k.

Each frame's arrows are read off the figure the browser draws (figures.combine of the chart and
the run, by the arrows' names) and compared with the naive per-epoch loop of
tests/support/reference.py: the arrows' ends to 10⁻⁹ of the landscape's scale (they are written
to 10 significant digits), and the change each arrow makes, as its hover text says it (4
significant digits), to that rounding, however short the arrow. The velocity is the test's own:
v_{k+1} = β·v_k + g_k summed over the loop's gradients, in the coordinates training steps in.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrui import figures, runs
from lrui.explain import update
from support import reference
from support.page import figure_of, player_of

NAMES = {key: name for key, name, *_ in figures.STEPS}
ITERATIONS = 2000
DATASETS = {
    "blog": lambda: lrcore.make_data(),
    "centred x": lambda: lrcore.make_data(n=200, x_min=-5.0, x_max=5.0, noise=50.0),
}


def settings_for(optimizer: str, standardize: bool, data) -> cfg.Settings:
    """Half the stable step size: a run that converges, with steps of every size on the way."""
    limit = lrcore.stable_step_size(data.x, data.y, optimizer, 0.9, standardize)
    return cfg.DEFAULTS.replace(
        optimizer=optimizer,
        standardize=standardize,
        step_size=float(f"{0.5 * limit:.3g}"),
        iterations=ITERATIONS,
    )


def drawn(settings: cfg.Settings, data, name: str):
    """The run's states at the frames, and the figure the browser draws for it, its arrows in."""
    run = runs.split(runs.train(settings, name, data), settings.iterations, "run-id")
    one_run = figures.run(
        data.x,
        data.y,
        run.frames,
        run.curve,
        run_id="run-id",
        steps=update.step_arrows(settings, data, run),
    )
    return run, one_run, figures.combine(figures.chart(data.x, data.y), one_run)


def arrows(spec: dict, i: int) -> dict[str, dict]:
    """Frame i's arrows by key (figures.STEPS), found by their names: x and y, and the hover.
    An arrow the run never draws is in no frame: it is as the run put it in (empty)."""
    names = [spec["data"][t]["name"] for t in spec["frames"][i]["traces"]]
    data = spec["frames"][i]["data"]
    out = {}
    for key, name in NAMES.items():
        if name in names:
            out[key] = data[names.index(name)]
        else:
            (trace,) = [t for t in spec["data"] if t["name"] == name]
            out[key] = {k: trace[k] for k in ("x", "y", "text")}
    return out


DELTA = re.compile(r"^ΔW = (\S+), Δb = (\S+)$")
SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def said(text: str) -> np.ndarray:
    """(ΔW, Δb) as the hover writes them: '−1.5×10⁻⁸', '4,000'."""
    out = []
    for part in DELTA.match(text).groups():
        part = part.replace("−", "-").replace(",", "")
        mantissa, _, power = part.partition("×10")
        out.append(float(f"{mantissa}e{power.translate(SUPERSCRIPT)}" if power else mantissa))
    return np.array(out)


def expected(settings: cfg.Settings, data) -> dict[int, dict[str, tuple]]:
    """For every epoch k of the naive loop: each arrow's tail (W, b) and change (ΔW, Δb)
    at k, from the loop's θ_k, θ_{k+1} and its gradients, in data units."""
    x, y = np.asarray(data.x, dtype=np.float64), np.asarray(data.y, dtype=np.float64)
    m, s = (float(np.mean(x)), float(np.std(x))) if settings.standardize else (0.0, 1.0)
    rows, diverged = reference.run(
        settings.optimizer,
        x,
        y,
        step_size=settings.step_size,
        iterations=settings.iterations,
        standardize=settings.standardize,
    )
    assert not diverged
    eta, beta = settings.step_size, settings.momentum

    def in_data_units(du, dc):  # W = u/s, b = c − u·m/s
        return np.array([du / s, dc - m * du / s])

    out, v = {}, np.zeros(2)  # v_k, in the training coordinates (u, c)
    for k, (row, after) in enumerate(zip(rows[:-1], rows[1:], strict=True)):
        r = row.w * x + row.b - y
        g = np.array([np.mean(r * (x - m) / s), np.mean(r)])  # ∇L over (u, c) at θ_k
        tail = np.array([row.w, row.b])
        gradient = in_data_units(*(-eta * g))
        arrows_k = {
            "gradient": (tail, gradient),
            "step": (tail, [after.w - row.w, after.b - row.b]),
        }
        v_next = beta * v + g
        carried = {"momentum": v, "nesterov": v_next}.get(settings.optimizer)
        if carried is not None:
            arrows_k["velocity"] = (tail + gradient, in_data_units(*(-eta * beta * carried)))
        out[k] = arrows_k
        v = v_next
    return out


def near(got, want, tol, where) -> None:
    """got is want to within tol (each of W and b its own)."""
    assert np.all(np.abs(np.asarray(got) - want) <= tol), (where, got, want, tol)


CASES = [
    (opt, std, name)
    for opt in ("gd", "momentum", "nesterov")
    for std in (False, True)
    for name in DATASETS
]


@pytest.mark.parametrize(("optimizer", "standardize", "dataset"), CASES)
def test_every_frames_arrows_are_the_plain_loops_update(optimizer, standardize, dataset):
    data = DATASETS[dataset]()
    s = settings_for(optimizer, standardize, data)
    run, one_run, spec = drawn(s, data, dataset)
    assert not run.last.diverged
    ref = expected(s, data)
    thetas = np.array([tail for arrows_k in ref.values() for tail, _ in arrows_k.values()])
    ends_tol = 1e-9 * np.abs(thetas).max(axis=0)  # (W, b): the ends' 10 digits, and more
    changes = np.array([c for arrows_k in ref.values() for _, c in arrows_k.values()])
    floor = 1e-9 * np.abs(changes).max(axis=0)  # where cancellation, not rounding, sets it
    shown = {"gd": {"gradient"}, "momentum": set(NAMES), "nesterov": set(NAMES)}[optimizer]
    for key, name, *_ in figures.STEPS:  # a run names in the legend only the arrows it draws
        legend = [t for t in spec["data"] if t["name"] == name]
        assert len(legend) == 1 and legend[0]["showlegend"] == (key in shown)
    for i, state in enumerate(run.frames):
        k = state.epoch if state.epoch < run.last.epoch else state.epoch - 1  # as the math panel
        drawn_k = arrows(spec, i)
        for key in NAMES:
            arrow = drawn_k[key]
            if key not in shown:
                assert arrow["x"] == [None] and arrow["y"] == [None] and arrow["text"] == ""
                continue
            tail, change = (np.asarray(v) for v in ref[k][key])
            ends = np.array([arrow["x"], arrow["y"]]).T  # [tail, tip], each (W, b)
            near(ends[0], tail, ends_tol, (key, k))
            near(ends[1], tail + change, ends_tol, (key, k))
            hover = said(arrow["text"])  # 4 digits
            near(hover, change, 5.01e-4 * np.abs(change) + floor, (key, k))
        if optimizer != "gd":  # the rule: the step is the gradient's part plus the velocity's
            tip = np.array([drawn_k["velocity"]["x"][1], drawn_k["velocity"]["y"][1]])
            step_tip = np.array([drawn_k["step"]["x"][1], drawn_k["step"]["y"][1]])
            near(tip, step_tip, ends_tol, k)


def test_momentums_velocity_arrow_at_the_start_is_zero_and_nesterovs_is_the_gradients(blog):
    """Property: v_0 = 0, so momentum's first step is its gradient's alone; nesterov's first
    velocity term is −η·β·g_0, β times the gradient's arrow."""
    for optimizer in ("momentum", "nesterov"):
        s = settings_for(optimizer, False, blog)
        _, _, spec = drawn(s, blog, "blog")
        first = arrows(spec, 0)
        grad = np.diff([first["gradient"]["x"], first["gradient"]["y"]])[:, 0]
        velocity = np.diff([first["velocity"]["x"], first["velocity"]["y"]])[:, 0]
        want = np.zeros(2) if optimizer == "momentum" else s.momentum * grad
        np.testing.assert_allclose(velocity, want, rtol=1e-6, atol=1e-9 * np.abs(grad).max())


def test_adam_and_sgd_draw_the_step_taken_only(blog):
    for optimizer, step_size in (("adam", 0.5), ("sgd", 1e-4)):
        s = cfg.DEFAULTS.replace(optimizer=optimizer, step_size=step_size, iterations=60)
        run, _, spec = drawn(s, blog, "blog")
        for i, state in enumerate(run.frames[:-1]):
            drawn_k = arrows(spec, i)
            assert drawn_k["gradient"]["x"] == [None] and drawn_k["velocity"]["x"] == [None]
            after = run.at(state.epoch + 1)
            assert drawn_k["step"]["x"] == pytest.approx([state.w, after.w], rel=1e-9)
            assert drawn_k["step"]["y"] == pytest.approx([state.b, after.b], rel=1e-9)


def test_a_diverged_run_draws_no_arrow_past_its_last_finite_update(blog):
    s = cfg.DEFAULTS.replace(optimizer="momentum", step_size=0.01, iterations=5000)
    run, one_run, spec = drawn(s, blog, "blog")
    assert run.last.diverged
    for i in range(len(run.frames)):
        for arrow in arrows(spec, i).values():
            assert all(v is None or np.isfinite(v) for v in arrow["x"] + arrow["y"])
    assert arrows(spec, len(run.frames) - 2)["step"]["x"][0] is not None  # drawn up to there


# --- on the page: the run the player gets carries the arrows ---------------------------------


@pytest.mark.parametrize(("optimizer", "standardize"), [("momentum", False), ("gd", True)])
def test_the_players_run_carries_each_frames_arrows(optimizer, standardize, blog):
    """The page (AppTest) as a link with these settings opens it: the figure the player puts
    together has, at every frame, the arrows of lrcore.train's states at k and k + 1, and names
    in the landscape's legend only those it draws."""
    s = cfg.DEFAULTS.replace(optimizer=optimizer, standardize=standardize)
    at = AppTest.from_file("../../app.py", default_timeout=60)
    for key, value in cfg.to_params(s).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    spec, run = figure_of(at), player_of(at)
    epochs = [int(name) for name in run["names"]]
    assert epochs[-1] == s.iterations and len(spec["frames"]) == len(epochs)
    ks = [min(e, s.iterations - 1) for e in epochs]  # the last frame: the update that led there
    states = {
        state.epoch: state
        for state in lrcore.train(blog.x, blog.y, **cfg.train_args(s), at=ks + [k + 1 for k in ks])
    }
    m, sd = (float(np.mean(blog.x)), float(np.std(blog.x))) if standardize else (0.0, 1.0)
    scale = np.array(
        [max(abs(st.w) for st in states.values()), max(abs(st.b) for st in states.values())]
    )
    for i, k in enumerate(ks):
        now, after = states[k], states[k + 1]
        du, dc = -s.step_size * (now.dw - m * now.db) / sd, -s.step_size * now.db
        drawn_k = arrows(spec, i)
        gradient = np.array([drawn_k["gradient"]["x"], drawn_k["gradient"]["y"]]).T
        near(gradient[0], [now.w, now.b], 1e-9 * scale, k)
        near(gradient[1] - gradient[0], [du / sd, dc - m * du / sd], 1e-9 * scale, k)
        if optimizer == "gd":
            assert drawn_k["step"]["x"] == [None] and drawn_k["velocity"]["x"] == [None]
            continue
        step = np.array([drawn_k["step"]["x"], drawn_k["step"]["y"]]).T
        near(step, [[now.w, now.b], [after.w, after.b]], 1e-9 * scale, k)
        velocity = np.array([drawn_k["velocity"]["x"], drawn_k["velocity"]["y"]]).T
        near(velocity, [gradient[1], step[1]], 1e-9 * scale, k)
    legend = {t["name"] for t in spec["data"] if t.get("legend") == "legend2" and t["showlegend"]}
    assert legend == ({NAMES["gradient"]} if optimizer == "gd" else set(NAMES.values()))


@pytest.mark.parametrize(("optimizer", "standardize"), [("gd", False), ("momentum", True)])
def test_the_arrows_legend_keeps_clear_of_the_start_and_the_optimum(optimizer, standardize, blog):
    """The legend of the arrows takes a corner of the landscape away from the start, the
    optimum and the eigen-directions' labels (on standardized x not the top right, where the
    path runs straight to the optimum), wide and on a phone alike."""
    s = settings_for(optimizer, standardize, blog)
    run, one_run, spec = drawn(s, blog, "blog")
    legend, layout = spec["layout"]["legend2"], spec["layout"]
    (w_lo, w_hi), (b_lo, b_hi) = layout["xaxis3"]["range"], layout["yaxis3"]["range"]
    right, top = legend["xanchor"] == "right", legend["yanchor"] == "top"
    x_domain, y_domain = layout["xaxis3"]["domain"], layout["yaxis3"]["domain"]
    assert legend["x"] == x_domain[right] and legend["y"] == y_domain[top]
    width, height = figures.LEGEND_BOX
    fit = lrcore.closed_form(blog.x, blog.y)
    labels = next(t for t in spec["data"] if t["name"] == "directions' labels")
    marks = [(w, b) for w, b in zip(labels["x"], labels["y"], strict=True) if w is not None]
    assert len(marks) == 2
    for w, b in [(fit.w, fit.b), (run.frames[0].w, run.frames[0].b), *marks]:
        u, v = (w - w_lo) / (w_hi - w_lo), (b - b_lo) / (b_hi - b_lo)
        assert not (
            (u >= 1 - width if right else u <= width) and (v >= 1 - height if top else v <= height)
        )
    assert not (standardize and right and top)
    narrow = one_run["narrow"]  # on a phone: the same corner of the landscape's place there
    (nx_lo, nx_hi), (ny_lo, ny_hi) = figures.NARROW["3"]
    assert (narrow["legend2.xanchor"], narrow["legend2.yanchor"]) == (
        legend["xanchor"],
        legend["yanchor"],
    )
    assert narrow["legend2.x"] == (nx_hi if right else nx_lo)
    assert narrow["legend2.y"] == (ny_hi if top else ny_lo)
