"""train() against the naive per-epoch loops of tests/reference.py, epoch by epoch.

Tolerances (the contract's): w, b and loss agree to 1e-9 relative, with an absolute floor of
1e-9 × the run's scale for w and b, since they can pass through 0 (the scale: their largest
magnitude at the least-squares optimum or along the reference run up to that epoch); dw and
db agree to 1e-9 × the starting gradient's size (or the gradient's own size where a diverging
run has grown past it).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import lrcore
from lrcore.datasets import load_builtin
from lrcore.settings import DEFAULTS, train_args
from support import reference

RTOL = 1e-9


@functools.cache
def dataset(name: str) -> lrcore.Dataset:
    """Small named datasets: the blog's, x far from zero, x straddling zero, and small ones."""
    return {
        "blog": lambda: lrcore.make_data(),
        "far": lambda: lrcore.make_data(n=500, x_min=1000.0, x_max=1100.0, seed=1),
        "neg": lambda: lrcore.make_data(
            n=300, x_min=-50.0, x_max=10.0, slope=-3.0, intercept=7.0, noise=20.0, seed=2
        ),
        "small": lambda: lrcore.make_data(n=200, seed=4),
        "small_far": lambda: lrcore.make_data(n=200, x_min=1000.0, x_max=1100.0, seed=5),
    }[name]()


def expected_epochs(iterations, last, every=1, at=None) -> list[int]:
    """The contract's schedule: 0, the multiples of every (or the epochs in `at`) and the last
    epoch run (`iterations`, or the epoch where the run diverged)."""
    wanted = set(range(0, iterations + 1, every)) if at is None else {0, *at}
    return sorted(k for k in wanted if 0 <= k < last) + [last]


def mismatches(states, rows, fit) -> list[str]:
    """Every field of every state that disagrees with the reference row of its epoch."""
    g0 = math.hypot(rows[0].dw, rows[0].db)
    w_scale = np.maximum.accumulate([abs(fit.w)] + [abs(r.w) for r in rows])[1:]
    b_scale = np.maximum.accumulate([abs(fit.b)] + [abs(r.b) for r in rows])[1:]
    out = []
    for s in states:
        r = rows[s.epoch]
        g_scale = max(g0, math.hypot(r.dw, r.db))
        limits = {
            "w": (r.w, RTOL * w_scale[s.epoch]),
            "b": (r.b, RTOL * b_scale[s.epoch]),
            "loss": (r.loss, RTOL * r.loss),
            "dw": (r.dw, RTOL * g_scale),
            "db": (r.db, RTOL * g_scale),
        }
        for field, (want, tol) in limits.items():
            got = getattr(s, field)
            same = got == want or (math.isnan(got) and math.isnan(want))  # inf, nan in overflow
            if not (same or abs(got - want) <= tol):
                out.append(f"epoch {s.epoch} {field}: {got!r}, reference {want!r}, tol {tol:.3g}")
    return out


def reference_run(
    optimizer,
    data,
    *,
    standardize=False,
    w0=0.0,
    b0=0.0,
    momentum=0.9,
    batch_size=None,
    seed=0,
    **run,
):
    """The naive loop for the same arguments train() takes."""
    options = {"step_size": run["step_size"], "iterations": run["iterations"]}
    if optimizer in ("momentum", "nesterov"):
        options["beta"] = momentum
    if optimizer == "sgd":
        options.update(batch_size=batch_size or 32, seed=seed)
    return reference.run(
        optimizer, data.x, data.y, standardize=standardize, w0=w0, b0=b0, **options
    )


def check_against_reference(optimizer, data, rows=None, diverged=None, **args):
    states = list(lrcore.train(data.x, data.y, optimizer=optimizer, **args))
    if rows is None:
        rows, diverged = reference_run(optimizer, data, **args)
    last = len(rows) - 1
    assert [s.epoch for s in states] == expected_epochs(
        args["iterations"], last, args.get("every", 1), args.get("at")
    )
    assert [s.diverged for s in states] == [False] * (len(states) - 1) + [diverged]
    bad = mismatches(states, rows, lrcore.closed_form(data.x, data.y))
    assert not bad, f"{len(bad)} mismatches, first: " + "; ".join(bad[:5])
    return states


# (optimizer, dataset, train() arguments). Steps sit below each setup's stability limit; runs
# longer than 4096 epochs at every=1 cross train()'s internal block boundary.
CASES = [
    ("gd", "blog", dict(step_size=0.0005, iterations=3000, every=7, w0=80.0, b0=-2000.0)),
    ("gd", "blog", dict(step_size=0.5, iterations=300, every=1, standardize=True, w0=10.0)),
    ("gd", "far", dict(step_size=1.5e-6, iterations=5000, every=1, w0=20.0, b0=3000.0)),
    (
        "gd",
        "far",
        dict(step_size=1.9, iterations=400, at=[1, 2, 3, 100, 399, 1000, -5], standardize=True),
    ),
    ("gd", "neg", dict(step_size=0.002, iterations=2000, every=100, w0=-5.0, b0=50.0)),
    ("momentum", "blog", dict(step_size=0.0005, iterations=5000, every=50)),
    (
        "momentum",
        "blog",
        dict(step_size=0.5, iterations=3000, momentum=0.5, standardize=True, w0=100.0, b0=100.0),
    ),
    ("momentum", "far", dict(step_size=1e-6, iterations=5000, every=100, momentum=0.9)),
    (
        "momentum",
        "neg",
        dict(
            step_size=0.03,
            iterations=2000,
            momentum=0.99,
            at=[5, 6, 7, 500, 1999],
            standardize=True,
        ),
    ),
    ("nesterov", "blog", dict(step_size=0.0003, iterations=5000, every=10, w0=100.0, b0=-500.0)),
    (
        "nesterov",
        "blog",
        dict(step_size=0.3, iterations=2000, every=3, momentum=0.7, standardize=True),
    ),
    ("nesterov", "far", dict(step_size=5e-7, iterations=3000, momentum=0.5)),
    (
        "nesterov",
        "neg",
        dict(
            step_size=0.2,
            iterations=1500,
            momentum=0.9,
            at=[1, 10, 100, 1000],
            standardize=True,
            w0=3.0,
            b0=-7.0,
        ),
    ),
    # adam divides by the gradient's running size, so near the optimum, where the gradient is
    # rounding noise, rounding decides the direction of each step and two correct
    # implementations part ways. These runs keep the gradient far above that noise (the
    # steps are small against the distance still to go), so the trajectories must agree.
    ("adam", "blog", dict(step_size=1.0, iterations=3000, every=10)),
    ("adam", "blog", dict(step_size=0.1, iterations=2000, standardize=True, w0=-20.0)),
    ("adam", "far", dict(step_size=0.5, iterations=2000, every=25, b0=100.0)),
    ("adam", "neg", dict(step_size=0.05, iterations=1000, standardize=True, at=[1, 2, 999, 50])),
    ("sgd", "small", dict(step_size=1e-4, iterations=30)),
    (
        "sgd",
        "small",
        dict(step_size=0.05, iterations=10, every=2, batch_size=1, standardize=True, seed=3),
    ),
    (
        "sgd",
        "small",
        dict(
            step_size=1e-4, iterations=40, batch_size=64, seed=7, at=[1, 13, 39], w0=60.0, b0=3000.0
        ),
    ),
    ("sgd", "small", dict(step_size=0.5, iterations=50, batch_size=200, standardize=True)),
    ("sgd", "small_far", dict(step_size=5e-7, iterations=20, batch_size=16, seed=11)),
    (
        "sgd",
        "small_far",
        dict(step_size=0.02, iterations=20, batch_size=500, standardize=True, w0=1.0, b0=1.0),
    ),
]


@pytest.mark.parametrize(
    ("optimizer", "name", "args"), CASES, ids=[f"{o}-{n}-{i}" for i, (o, n, _) in enumerate(CASES)]
)
def test_matches_the_naive_loop(optimizer, name, args):
    states = check_against_reference(optimizer, dataset(name), **args)
    assert not states[-1].diverged


def test_blog_run_matches_the_naive_loop(blog, blog_reference):
    """The blog's own run: 50,000 epochs of gd at step 0.0005, a state every 250 epochs."""
    states = check_against_reference(
        "gd", blog, blog_reference, False, every=250, **reference.BLOG_RUN
    )
    assert len(states) == 201
    fit = lrcore.closed_form(blog.x, blog.y)
    assert states[-1].loss < 1.01 * fit.loss  # and it has nearly reached the optimum


def test_blog_run_at_thousands_of_irregular_epochs_matches_the_naive_loop(blog, blog_reference):
    """Epochs at irregular gaps (as the page asks for: log-spaced frames, the epochs either
    side of each, a linear loss curve), more than one internal block of them."""
    rng = np.random.default_rng(3)
    at = sorted(
        {
            *rng.integers(1, 50_000, 5000).tolist(),
            *np.geomspace(1, 50_000, 120).round().astype(int).tolist(),
        }
    )
    assert len(at) > 4096 and len(set(np.diff(at))) > 50
    check_against_reference("gd", blog, blog_reference, False, at=at, **reference.BLOG_RUN)


@pytest.mark.parametrize("optimizer", lrcore.OPTIMIZERS)
@pytest.mark.parametrize("standardize", [False, True])
def test_starting_state_is_w0_b0(optimizer, standardize, blog):
    first = next(
        lrcore.train(
            blog.x,
            blog.y,
            step_size=1e-4,
            iterations=5,
            optimizer=optimizer,
            w0=12.5,
            b0=-3.0,
            standardize=standardize,
        )
    )
    want = reference.evaluate(blog.x, blog.y, 12.5, -3.0)
    assert first.epoch == 0 and not first.diverged
    assert first.w == pytest.approx(12.5, rel=1e-12)
    assert first.b == pytest.approx(-3.0, rel=1e-9)
    assert first.loss == pytest.approx(want.loss, rel=RTOL)
    assert (first.dw, first.db) == pytest.approx((want.dw, want.db), rel=RTOL)


# The datasets whose standardized start came back as b = -4.5e-13 (w* + (w0 − w*) and the way
# back from z round off), and starts that are not round numbers.
@pytest.mark.parametrize("name", ["curve", "heteroscedastic", "anscombe_4"])
@pytest.mark.parametrize("optimizer", ["gd", "adam"])
@pytest.mark.parametrize("start", [None, (0.1, 1e5), (-7.3, 0.003)])
def test_the_log_starts_exactly_at_the_settings_start(name, optimizer, start):
    settings = DEFAULTS.replace(dataset=name, optimizer=optimizer, standardize=True)
    if start is not None:
        settings = settings.replace(w0=start[0], b0=start[1])
    data = load_builtin(name)
    first = next(lrcore.train(data.x, data.y, **train_args(settings)))
    assert (first.epoch, first.w, first.b) == (0, settings.w0, settings.b0)
    want = reference.evaluate(data.x, data.y, settings.w0, settings.b0)
    assert first.loss == pytest.approx(want.loss, rel=RTOL)


def test_zero_iterations_yields_only_the_start(blog):
    states = list(lrcore.train(blog.x, blog.y, step_size=0.1, iterations=0, w0=1.0, b0=2.0))
    assert [(s.epoch, s.w, s.b, s.diverged) for s in states] == [(0, 1.0, 2.0, False)]


# Divergence: step sizes far past the limit, reported with large `every` and with `at`, so
# the diverged epoch lies between two scheduled ones and must still be found exactly.
DIVERGING = [
    ("gd", "blog", dict(step_size=0.01, iterations=100_000, every=1000)),
    ("gd", "far", dict(step_size=2.2e-6, iterations=50_000, at=[10, 20_000])),
    ("gd", "blog", dict(step_size=2.5, iterations=10_000, every=6, standardize=True)),
    ("momentum", "blog", dict(step_size=0.0015, iterations=100_000, every=5000)),
    ("momentum", "neg", dict(step_size=4.0, iterations=1000, momentum=0.5, standardize=True)),
    ("nesterov", "blog", dict(step_size=0.0011, iterations=10_000, every=333, w0=3.0)),
    ("nesterov", "far", dict(step_size=3e-5, iterations=10_000, momentum=0.3, at=[2, 4])),
    ("adam", "blog", dict(step_size=1e12, iterations=100, every=10)),
    ("adam", "neg", dict(step_size=1e9, iterations=100, standardize=True)),
    ("sgd", "small", dict(step_size=7e-4, iterations=100, every=10)),
    ("sgd", "small", dict(step_size=5.0, iterations=100, batch_size=8, standardize=True)),
]


@pytest.mark.parametrize(
    ("optimizer", "name", "args"),
    DIVERGING,
    ids=[f"{o}-{n}-{i}" for i, (o, n, _) in enumerate(DIVERGING)],
)
def test_divergence_is_flagged_where_the_naive_loop_crosses_the_rule(optimizer, name, args):
    states = check_against_reference(optimizer, dataset(name), **args)
    last = states[-1]
    assert last.diverged and last.epoch < args["iterations"]
    assert last.loss > reference.DIVERGENCE_FACTOR * states[0].loss or not (
        math.isfinite(last.w) and math.isfinite(last.b) and math.isfinite(last.loss)
    )


@pytest.mark.parametrize("optimizer", lrcore.OPTIMIZERS)
def test_overflowing_step_stops_without_warnings(optimizer, blog):
    """A step so large that the parameters overflow: the run stops, flagged, and no NumPy
    warning escapes (pytest turns warnings into errors)."""
    states = list(
        lrcore.train(
            blog.x, blog.y, step_size=1e300, iterations=1000, optimizer=optimizer, every=100
        )
    )
    rows, diverged = reference_run(optimizer, blog, step_size=1e300, iterations=1000)
    assert diverged
    assert [s.epoch for s in states] == [0, len(rows) - 1]
    assert states[-1].diverged and not states[0].diverged


def test_sgd_overflowing_within_one_epoch_is_flagged():
    """Within the settings' bounds (step 1, 1600 rows, 50 batches an epoch), one sgd epoch takes
    the parameters past 1e154, where squaring them overflows: flagged, never an exception."""
    data = lrcore.make_data(n=1600)
    check_against_reference("sgd", data, step_size=1.0, iterations=10)


@pytest.mark.parametrize("optimizer", lrcore.OPTIMIZERS)
def test_start_whose_loss_overflows_is_diverged_at_epoch_zero(optimizer, blog):
    states = list(
        lrcore.train(blog.x, blog.y, step_size=1e-4, iterations=10, optimizer=optimizer, w0=1e300)
    )
    rows, diverged = reference_run(optimizer, blog, step_size=1e-4, iterations=10, w0=1e300)
    assert diverged and len(rows) == 1
    assert [(s.epoch, s.diverged) for s in states] == [(0, True)]


@pytest.mark.parametrize(
    ("bad", "word"),
    [
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(step_size=0.0), "step_size"),
        (dict(step_size=-1e-3), "step_size"),
        (dict(step_size=math.nan), "step_size"),
        (dict(step_size=math.inf), "step_size"),
        (dict(iterations=-1), "iterations"),
        (dict(iterations=2.5), "iterations"),
        (dict(every=0), "every"),
        (dict(batch_size=0), "batch_size"),
        (dict(momentum=1.0), "momentum"),
        (dict(momentum=-0.1), "momentum"),
    ],
)
def test_bad_arguments_are_a_clear_value_error(bad, word, blog):
    args = dict(step_size=1e-4, iterations=10) | bad
    with pytest.raises(ValueError, match=word):
        list(lrcore.train(blog.x, blog.y, **args))


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]),  # one distinct x
        ([1.0], [2.0]),
        ([], []),
        ([0.0, 1.0, math.nan], [1.0, 2.0, 3.0]),
        ([0.0, 1.0, 2.0], [1.0, math.inf, 3.0]),
        ([0.0, 1.0, 2.0], [1.0, 2.0]),  # mismatched lengths
    ],
)
def test_degenerate_data_is_a_data_error(x, y):
    with pytest.raises(lrcore.DataError) as caught:
        list(lrcore.train(x, y, step_size=1e-3, iterations=5))
    assert isinstance(caught.value, ValueError) and str(caught.value)


def test_state_fields_are_the_contracts():
    assert lrcore.State._fields == ("epoch", "w", "b", "loss", "dw", "db", "diverged")


def test_states_are_immutable_and_stay_as_yielded(blog):
    run = lrcore.train(blog.x, blog.y, step_size=1e-4, iterations=20, optimizer="adam")
    first = next(run)
    kept = tuple(first)
    with pytest.raises(AttributeError):
        first.w = 1.0  # type: ignore[misc]
    rest = list(run)
    assert tuple(first) == kept and rest[-1].epoch == 20
    assert hash(first) == hash(kept)


def test_dataset_arrays_are_read_only(blog):
    with pytest.raises(ValueError):
        blog.x[0] = 1.0
    assert blog.x.dtype == np.float64 and blog.x.ndim == 1
