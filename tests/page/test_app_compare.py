"""Every optimizer side by side, and up to four pinned runs in the link (issue 22, point 4),
through AppTest.

The side by side's table is checked against lrcore.train and lrcore.explain.verdict called
directly with the link's settings (cut to the work budget by lrcore.settings.bounded, as the
page says), and the linear optimizers' epochs to 1% against the plain per-epoch loop of
tests/support/reference.py; its traces against the same runs' states.
"""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrcore.explain import CONVERGED, verdict
from lrcore.optim import LINEAR
from lrui import figures, runs
from support import reference
from support.page import figure_of

TIMEOUT = 120
OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "sgd")


def open_page(params: cfg.Settings | dict | None = None) -> AppTest:
    """A first visit to a link: settings, or raw query parameters."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    if isinstance(params, cfg.Settings):
        params = cfg.to_params(params)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    at.run()
    assert not at.exception, at.exception
    return at


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def traces(at: AppTest, group: str) -> dict[str, dict]:
    """The overlay's traces of one legend group ("optimizers" or "pinned"), by name."""
    return {t["name"]: t for t in figure_of(at)["data"] if t.get("legendgroup") == group}


def table_of(at: AppTest):
    tables = [d.value for d in at.dataframe if "final loss" in d.value.columns]
    assert len(tables) == 1, len(tables)
    return tables[0]


def data_of(s: cfg.Settings) -> lrcore.Dataset:
    return lrcore.make_data(
        n=s.n,
        slope=s.slope,
        intercept=s.intercept,
        noise=s.noise,
        x_min=s.x_min,
        x_max=s.x_max,
        seed=s.seed,
    )


def expected_run(s: cfg.Settings, data) -> tuple[list, object, str | None]:
    """(states, verdict, cut note) of these settings as lrcore gives them, cut to the budget."""
    s, cut = cfg.bounded(s, len(data.x))
    args = cfg.train_args(s)
    states = list(lrcore.train(data.x, data.y, **args, at=runs.epochs(s.iterations)))
    del args["iterations"]
    return states, verdict(data.x, data.y, states, **args), cut


def first_within_1pct(rows, w_opt: float, b_opt: float) -> int | None:
    dist = [math.hypot(r.w - w_opt, r.b - b_opt) for r in rows]
    return next((k for k, d in enumerate(dist) if d <= 0.01 * dist[0]), None)


def arr(v) -> np.ndarray:
    """A trace's values: a typed array ({dtype, bdata}) or a list."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), "<" + v["dtype"]).astype(np.float64)
    return np.asarray(v, dtype=np.float64)


def cell(value):
    """A table cell as a plain value (pandas' <NA> as None)."""
    return None if value is None or value is np.nan or str(value) == "<NA>" else value


# --- every optimizer side by side -------------------------------------------------------------

SIDE_BY_SIDE = {
    "blog": cfg.DEFAULTS,
    "standardized": cfg.DEFAULTS.replace(standardize=True, step_size=0.05, iterations=3000),
}


@pytest.mark.parametrize("case", SIDE_BY_SIDE)
def test_every_optimizer_side_by_side_is_lrcores_runs_and_verdicts(case):
    """Property 1: the table's epochs to 1%, final loss, diverged and final epoch are those of
    lrcore.train + lrcore.explain.verdict for each optimizer, with the settings on screen;
    the linear optimizers' epochs to 1% are the plain per-epoch loop's. Property 2: the overlay
    draws each run's path (its frames, up to 10x the starting loss) and its loss curve, each
    in its own colour and dash. Property 3: the loss view is logarithmic while they show, even
    on a link that asks for a linear one, and pressing again goes back."""
    settings = SIDE_BY_SIDE[case]
    data = data_of(settings)
    at = open_page(settings.replace(loss_scale="linear"))
    assert not traces(at, "optimizers") and figure_of(at)["layout"]["yaxis2"]["type"] == "linear"
    press(at, "every")
    assert query(at)["compare"] == "optimizers" and not at.error
    table = table_of(at)
    assert list(table["optimizer"]) == list(OPTIMIZERS)
    drawn = traces(at, "optimizers")
    fit = lrcore.closed_form(data.x, data.y)
    for i, name in enumerate(OPTIMIZERS):
        states, v, cut = expected_run(settings.replace(optimizer=name), data)
        assert cut is None  # (the budget's own test is below)
        last = states[-1]
        converged = v.epoch if v.outcome == CONVERGED else None
        shown_epochs = cell(table["epochs to 1%"][i])
        if "epochs to 1% (charted)" in table:
            shown_epochs = shown_epochs or cell(table["epochs to 1% (charted)"][i])
        assert shown_epochs == converged, name
        assert table["final loss"][i] == pytest.approx(last.loss, rel=1e-12), name
        assert bool(table["diverged"][i]) == last.diverged, name
        assert table["final epoch"][i] == last.epoch, name
        if name in LINEAR:  # against the naive loop, sharing no code with lrcore
            rows, _ = reference.run(
                name,
                data.x,
                data.y,
                standardize=settings.standardize,
                step_size=settings.step_size,
                iterations=settings.iterations,
                **({"beta": settings.momentum} if name != "gd" else {}),
            )
            assert converged == first_within_1pct(rows, fit.w, fit.b), name
        frames = [s for s in states if s.epoch in set(figures.frame_epochs(settings.iterations))]
        if last not in frames:
            frames.append(last)
        kept = [s for s in frames if math.isfinite(s.loss) and s.loss <= 10 * states[0].loss]
        path = drawn[f"{name}: path"]
        np.testing.assert_allclose(arr(path["x"]), [s.w for s in kept], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(arr(path["y"]), [s.b for s in kept], rtol=1e-6, atol=1e-3)
        curve = drawn[f"{name}: loss"]
        on_curve = {s.epoch: s.loss for s in states if s.epoch > 0 and math.isfinite(s.loss)}
        epochs = arr(curve["x"]).astype(int)
        np.testing.assert_allclose(arr(curve["y"]), [on_curve[e] for e in epochs], rtol=1e-12)
    looks = {(t["line"]["color"], t["line"]["dash"]) for n, t in drawn.items() if "path" in n}
    assert len(looks) == len(OPTIMIZERS)
    assert figure_of(at)["layout"]["yaxis2"]["type"] == "log"
    press(at, "every")
    assert "compare" not in query(at) and not traces(at, "optimizers")
    assert figure_of(at)["layout"]["yaxis2"]["type"] == "linear"


def test_the_side_by_side_keeps_to_the_work_budget_and_says_which_run_was_cut():
    """sgd's 100,000 epochs on 1,000 points cost more than the budget: its run stops where
    lrcore.settings.bounded says, the page says so, and the others run in full."""
    settings = cfg.DEFAULTS.replace(iterations=100_000)
    data = data_of(settings)
    at = press(open_page(settings), "every")
    table = table_of(at)
    for i, name in enumerate(OPTIMIZERS):
        states, _, cut = expected_run(settings.replace(optimizer=name), data)
        assert table["final epoch"][i] == states[-1].epoch
        assert table["final loss"][i] == pytest.approx(states[-1].loss, rel=1e-12)
        assert (cut is not None) == (name == "sgd"), name
    _, _, cut = expected_run(settings.replace(optimizer="sgd"), data)
    assert f"sgd: {cut}" in [c.value for c in at.caption]


# --- up to four pins, in the link -------------------------------------------------------------


def test_up_to_four_pins_each_its_own_look_round_trip_through_the_link():
    """Property 4: pinning five runs keeps the last four (the oldest drops), each drawn in its
    own colour and dash, and named in the table; the link holds them, and a fresh visit to it
    draws the same pins and table. Removing one keeps the others in order."""
    settings = cfg.DEFAULTS.replace(iterations=2000)
    at = open_page(settings)
    for name in OPTIMIZERS:  # gd, momentum, nesterov, adam, sgd: five pins asked for
        at.selectbox(key="optimizer").set_value(name)
        at.run()
        press(at, "pin")
    wanted = OPTIMIZERS[1:]
    pins = cfg.pins_of(cfg.from_params(query(at))[0])
    assert [p.optimizer for p in pins] == list(wanted)
    drawn = traces(at, "pinned")
    assert len(drawn) == 3 * len(wanted)
    looks = {(t["line"]["color"], t["line"]["dash"]) for t in drawn.values()}
    assert looks == {(c, d) for c, d, _ in figures.OVERLAY_STYLES[: len(wanted)]}
    table = table_of(at)
    styles = [words for _, _, words in figures.OVERLAY_STYLES]
    assert list(table[""]) == [f"pin {i + 1} ({styles[i]})" for i in range(4)] + ["this run"]
    data = data_of(settings)
    for i, name in enumerate(wanted):
        states, _, _ = expected_run(settings.replace(optimizer=name), data)
        assert table["final loss"][i] == pytest.approx(states[-1].loss, rel=1e-12)
        assert next(n for n in drawn if n.startswith(f"pinned {i + 1}: {name},"))
    again = open_page(query(at))
    assert not again.warning and query(again) == query(at)
    assert traces(again, "pinned") == drawn
    assert table_of(again).equals(table)
    press(at, "unpin_1")  # pin 2, nesterov
    pins = cfg.pins_of(cfg.from_params(query(at))[0])
    assert [p.optimizer for p in pins] == ["momentum", "adam", "sgd"]
    assert len(traces(at, "pinned")) == 9


def test_a_link_with_a_single_pin_loads_it():
    """A link with one pin (the simplest pins value: one run's optimizer and its settings off
    the defaults) draws it over the run on screen, and the link is kept as it was."""
    at = open_page({"pins": "momentum,step_size:0.0003"})
    assert not at.exception and not at.warning
    drawn = traces(at, "pinned")
    assert list(drawn) == [
        "pinned 1: momentum, η = 0.0003, β = 0.9, raw x, 50,000 epochs",
        "pinned 1: momentum, η = 0.0003, β = 0.9, raw x, 50,000 epochs: loss",
        "pinned 1: momentum, η = 0.0003, β = 0.9, raw x, 50,000 epochs: path",
    ]
    assert query(at)["pins"] == "momentum,step_size:0.0003"


def test_bad_pins_in_a_link_give_one_warning_and_keep_the_good_ones():
    """A hand-edited link: an unknown optimizer, a bad value, a sixth pin and an unknown side
    by side give the page's one warning; the valid pins stay, in order."""
    at = open_page(
        {
            "pins": "gd;rmsprop;momentum,step_size:0.0003;adam,iterations:abc",
            "compare": "everything",
        }
    )
    assert not at.exception and not at.error
    assert len(at.warning) == 1
    text = at.warning[0].value
    assert "pins: run 2 ('rmsprop')" in text and "compare: 'everything'" in text
    assert query(at)["pins"] == "gd;momentum,step_size:0.0003"
    assert "compare" not in query(at)
    assert len(traces(at, "pinned")) == 6
    many = open_page({"pins": ";".join(["gd"] + [f"gd,step_size:0.000{k}" for k in range(1, 6)])})
    assert len(many.warning) == 1 and "at most 4" in many.warning[0].value
    assert query(many)["pins"] == "gd;gd,step_size:0.0001;gd,step_size:0.0002;gd,step_size:0.0003"
