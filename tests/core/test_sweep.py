"""lrcore.sweep against one run per grid point: lrcore.train's last state (loss, diverged), the
plain per-epoch loop of support.reference (the first epoch within 1% of the optimum) and the
2×2 update maps' eigenvalues from np.linalg.eigvals (the rate).

Tolerances: loss to 1e-9 relative (sweep computes each state from powers of the update map, as
train does, so only rounding differs); diverged, epochs: exactly equal; rate to 1e-9 relative.
The grid points are drawn at random (seeded) around each optimizer's stability limit, so every
grid has fast, slow and diverging runs, some of them oscillating (momentum past critical
damping). On the blog's raw x few runs get within 1% in 1,000 epochs; the tests at the blog's
50,000 epochs cover that.
"""

from __future__ import annotations

import functools
import importlib
import math
import warnings

import numpy as np
import pytest

import lrcore
from support.reference import run as reference_run
from support.within import epochs_to_1pct

sweep_module = importlib.import_module("lrcore.sweep")  # lrcore.sweep is the function

RTOL = 1e-9
LINEAR = ("gd", "momentum", "nesterov")


@functools.cache
def dataset(name: str) -> lrcore.Dataset:
    """blog: the blog's line on 100 points (κ ≈ 13,000: slow, epochs often beyond the run);
    tame: x in [−1, 3) (κ ≈ 10: most runs get within 1% in a few hundred epochs)."""
    return {
        "blog": lambda: lrcore.make_data(n=100),
        "tame": lambda: lrcore.make_data(
            n=60, x_min=-1.0, x_max=3.0, slope=2.0, intercept=1.0, noise=0.5, seed=3
        ),
    }[name]()


ITERATIONS = {"blog": 1000, "tame": 400}


def random_grid(rng, x, y, optimizer, standardize):
    """3 momenta: 0, one below 0.9 and one from 0.95 to 0.995 (past critical damping, where the
    error oscillates); 5 step sizes: 3 from 1/50 to 3/2 of the largest stability limit over
    the momenta, one from 0.3 to 0.9 of the last momentum's limit (fast), and 3 times the
    largest limit (diverges)."""
    momenta = np.array([0.0, rng.uniform(0.0, 0.9), rng.uniform(0.95, 0.995)])
    limits = [lrcore.stable_step_size(x, y, optimizer, b, standardize) for b in momenta]
    steps = max(limits) * np.exp(rng.uniform(math.log(0.02), math.log(1.5), 3))
    fast, wild = limits[-1] * rng.uniform(0.3, 0.9), 3 * max(limits)
    return np.sort(np.append(steps, [fast, wild])), momenta


def first_within_1pct(rows, diverged, fit) -> float:
    """The first epoch of a reference run within 1% of the start's distance to θ* (the state
    where the run diverged does not count), inf if none."""
    dist = [math.hypot(r.w - fit.w, r.b - fit.b) for r in rows[: len(rows) - diverged]]
    return next((float(k) for k, d in enumerate(dist) if d <= 0.01 * dist[0]), math.inf)


def last_state(x, y, **run) -> lrcore.State:
    *_, last = lrcore.train(x, y, **run)
    return last


def close(got, want) -> bool:
    """Equal to RTOL relative, inf equal to inf, nan to nan."""
    if not math.isfinite(want):
        return got == want or (math.isnan(got) and math.isnan(want))
    return abs(got - want) <= RTOL * abs(want)


@pytest.mark.parametrize("name", ["blog", "tame"])
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("optimizer", LINEAR)
def test_every_point_is_its_own_run(optimizer, standardize, name):
    """Each grid point's loss is its train run's last state's, to 1e-9 relative; diverged is
    train's flag (and the plain loop's); epochs is the plain loop's first epoch within 1%."""
    data, iterations = dataset(name), ITERATIONS[name]
    rng = np.random.default_rng([LINEAR.index(optimizer), standardize, len(name)])
    steps, momenta = random_grid(rng, data.x, data.y, optimizer, standardize)
    w0, b0 = rng.normal(0.0, 50.0, 2) if name == "tame" else (0.0, 0.0)
    got = lrcore.sweep(
        data.x,
        data.y,
        step_sizes=steps,
        momenta=momenta,
        iterations=iterations,
        optimizer=optimizer,
        standardize=standardize,
        w0=w0,
        b0=b0,
    )
    assert got.loss.shape == got.epochs.shape == got.rate.shape == got.diverged.shape == (3, 5)
    fit = lrcore.closed_form(data.x, data.y)
    for i, beta in enumerate(momenta):
        for j, step in enumerate(steps):
            where = f"{optimizer} η={step:.6g} β={beta:.4f}"
            last = last_state(
                data.x,
                data.y,
                step_size=step,
                momentum=beta,
                iterations=iterations,
                optimizer=optimizer,
                standardize=standardize,
                w0=w0,
                b0=b0,
            )
            assert close(got.loss[i, j], last.loss), (where, got.loss[i, j], last.loss)
            assert got.diverged[i, j] == last.diverged, where
            rows, diverged = reference_run(
                optimizer,
                data.x,
                data.y,
                standardize=standardize,
                w0=w0,
                b0=b0,
                step_size=step,
                iterations=iterations,
                **({} if optimizer == "gd" else {"beta": beta}),
            )
            assert diverged == last.diverged, where
            assert got.epochs[i, j] == first_within_1pct(rows, diverged, fit), where
    assert got.diverged[:, -1].all()  # 3 × the limit


@pytest.mark.parametrize("standardize", [False, True])
def test_critical_damping_is_exact(standardize):
    """Momentum's two eigenvalues meet at η·λ = (1 ± √β)² (its bounds are then the loosest):
    steps there and a hair either side, for both of the Hessian's λ, still give the plain
    loop's first epoch and train's loss and flag."""
    data, beta, iterations = dataset("tame"), 0.9, 400
    z = (data.x - data.x.mean()) / data.x.std() if standardize else data.x
    lams = np.linalg.eigvalsh(np.array([[np.mean(z * z), np.mean(z)], [np.mean(z), 1.0]]))
    meet = np.array([(1 + sign * math.sqrt(beta)) ** 2 / lam for lam in lams for sign in (-1, 1)])
    steps = np.sort(np.concatenate([meet, meet * (1 - 1e-9), meet * (1 + 1e-9)]))
    got = lrcore.sweep(
        data.x,
        data.y,
        step_sizes=steps,
        momenta=[beta],
        iterations=iterations,
        optimizer="momentum",
        standardize=standardize,
        w0=3.0,
        b0=-7.0,
    )
    fit = lrcore.closed_form(data.x, data.y)
    for j, step in enumerate(steps):
        last = last_state(
            data.x,
            data.y,
            step_size=step,
            momentum=beta,
            iterations=iterations,
            optimizer="momentum",
            standardize=standardize,
            w0=3.0,
            b0=-7.0,
        )
        assert close(got.loss[0, j], last.loss) and got.diverged[0, j] == last.diverged, step
        rows, diverged = reference_run(
            "momentum",
            data.x,
            data.y,
            standardize=standardize,
            w0=3.0,
            b0=-7.0,
            step_size=step,
            iterations=iterations,
            beta=beta,
        )
        assert got.epochs[0, j] == first_within_1pct(rows, diverged, fit), step
    assert np.isfinite(got.epochs).sum() >= 6


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("optimizer", LINEAR)
def test_rate_is_the_largest_eigenvalue_of_the_update_maps(optimizer, standardize):
    """ρ = max over the Hessian's two eigenvalues λ of max |eigenvalue| of the 2×2 map, the
    maps written out here from optim.py's docstring and H from the data with numpy."""
    data = dataset("blog")
    z = (data.x - data.x.mean()) / data.x.std() if standardize else data.x
    lams = np.linalg.eigvalsh(np.array([[np.mean(z * z), np.mean(z)], [np.mean(z), 1.0]]))
    rng = np.random.default_rng(7 + standardize)
    limit = lrcore.stable_step_size(data.x, data.y, optimizer, 0.99, standardize)
    steps = limit * np.exp(rng.uniform(math.log(1e-4), math.log(3), 40))
    momenta = rng.uniform(0.0, 0.999, 6)
    got = lrcore.sweep(
        data.x,
        data.y,
        step_sizes=steps,
        momenta=momenta,
        iterations=10,
        optimizer=optimizer,
        standardize=standardize,
    )

    def update_map(eta, beta, lam):
        return {
            "gd": [[1 - eta * lam, 0.0], [lam, 0.0]],
            "momentum": [[1 - eta * lam, -eta * beta], [lam, beta]],
            "nesterov": [[1 - eta * lam * (1 + beta), -eta * beta**2], [lam, beta]],
        }[optimizer]

    for i, beta in enumerate(momenta):
        for j, eta in enumerate(steps):
            want = max(abs(np.linalg.eigvals(update_map(eta, beta, lam))).max() for lam in lams)
            assert got.rate[i, j] == pytest.approx(want, rel=RTOL), (eta, beta)


def test_gd_on_the_blogs_data_matches_explain(blog):
    """The blog's run length (50,000 epochs) and its data: the first epoch within 1% equals
    epochs_to_1pct (support.within: exact, bracketing train's states) for gd, and the loss
    train's last state."""
    steps = np.geomspace(1e-6, 1e-2, 200)
    got = lrcore.sweep(blog.x, blog.y, step_sizes=steps, iterations=50_000)
    converged = np.flatnonzero(np.isfinite(got.epochs[0]))
    first_diverged = int(np.argmax(got.diverged[0]))
    assert converged.size >= 5 and 0 < first_diverged < 199
    assert got.diverged[0, first_diverged:].all()  # past the limit, every run diverges
    for j in [0, *converged[:: max(1, converged.size // 4)], first_diverged]:
        found = epochs_to_1pct(blog.x, blog.y, 50_000, step_size=steps[j])
        assert got.epochs[0, j] == (math.inf if found is None else found), steps[j]
    for j in (0, converged[-1], first_diverged):
        last = last_state(blog.x, blog.y, step_size=steps[j], iterations=50_000)
        assert close(got.loss[0, j], last.loss) and got.diverged[0, j] == last.diverged


def test_momentum_map_on_the_blogs_data_matches_explain(blog):
    """Momentum near 0.99 oscillates: its first epoch within 1% is an early dip, found exactly
    (support.within's epochs_to_1pct checks every epoch of a train run)."""
    steps, momenta = np.geomspace(1e-6, 1e-2, 100), np.linspace(0, 0.99, 100)
    got = lrcore.sweep(
        blog.x, blog.y, step_sizes=steps, momenta=momenta, iterations=50_000, optimizer="momentum"
    )
    for i, j in [(99, 40), (99, 55), (99, 60), (95, 50), (60, 70)]:
        found = epochs_to_1pct(
            blog.x, blog.y, 50_000, step_size=steps[j], momentum=momenta[i], optimizer="momentum"
        )
        assert got.epochs[i, j] == (math.inf if found is None else found), (steps[j], momenta[i])


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_adam_and_sgd_points_are_their_train_runs(optimizer):
    """Each step size is one train() run; momentum does not enter, so every row is the same;
    the rate is nan (no linear map)."""
    data = dataset("tame")
    steps, iterations = [0.003, 0.05, 0.4], (300 if optimizer == "adam" else 40)
    got = lrcore.sweep(
        data.x,
        data.y,
        step_sizes=steps,
        momenta=[0.0, 0.5],
        iterations=iterations,
        optimizer=optimizer,
        batch_size=16,
        seed=3,
    )
    fit = lrcore.closed_form(data.x, data.y)
    for j, step in enumerate(steps):
        states = list(
            lrcore.train(
                data.x,
                data.y,
                step_size=step,
                iterations=iterations,
                optimizer=optimizer,
                batch_size=16,
                seed=3,
            )
        )
        dist = [math.hypot(s.w - fit.w, s.b - fit.b) for s in states]
        within = [
            s.epoch
            for s, d in zip(states, dist, strict=True)
            if d <= 0.01 * dist[0] and not s.diverged
        ]
        for i in range(2):
            assert got.loss[i, j] == states[-1].loss
            assert got.diverged[i, j] == states[-1].diverged
            assert got.epochs[i, j] == (within[0] if within else math.inf)
    assert np.isnan(got.rate).all()
    assert np.isfinite(got.epochs).any()


@pytest.mark.parametrize("optimizer", LINEAR + ("adam",))
def test_starting_at_the_optimum_is_epoch_0(optimizer):
    data = dataset("tame")
    fit = lrcore.closed_form(data.x, data.y)
    got = lrcore.sweep(
        data.x,
        data.y,
        step_sizes=[0.01, 0.1],
        iterations=20,
        optimizer=optimizer,
        w0=fit.w,
        b0=fit.b,
    )
    assert (got.epochs == 0).all() and not got.diverged.any()
    assert got.loss == pytest.approx(fit.loss, rel=RTOL)


@pytest.mark.parametrize("optimizer", LINEAR)
def test_edges_match_train(optimizer):
    """No epochs, absurd step sizes (the maps overflow), and a start so far out that the loss
    overflows at once: loss and diverged as train has them, and not one warning."""
    data = dataset("blog")
    runs = [
        ({"iterations": 0}, [1e-4, 1e300]),
        ({"iterations": 12}, [1e-300, 1e-3, 1e10, 1e154, 1e300]),
        ({"iterations": 12, "w0": 1e150, "b0": -1e150}, [1e-4, 1e-3, 1e154]),
        ({"iterations": 5, "w0": 1e300}, [1e-4]),
    ]
    for run, steps in runs:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = lrcore.sweep(
                data.x, data.y, step_sizes=steps, momenta=[0.0, 0.9], optimizer=optimizer, **run
            )
        for i, beta in enumerate(got.momenta):
            for j, step in enumerate(steps):
                last = last_state(
                    data.x, data.y, step_size=step, momentum=beta, optimizer=optimizer, **run
                )
                assert close(got.loss[i, j], last.loss), (run, step, beta)
                assert got.diverged[i, j] == last.diverged, (run, step, beta)
    assert np.isinf(got.epochs).all()


def test_default_momentum_is_trains():
    data = dataset("tame")
    steps = [0.01, 0.2, 0.6]
    alone = lrcore.sweep(data.x, data.y, step_sizes=steps, iterations=300, optimizer="momentum")
    explicit = lrcore.sweep(
        data.x, data.y, step_sizes=steps, momenta=[0.9], iterations=300, optimizer="momentum"
    )
    assert alone.momenta.tolist() == [0.9] and alone.step_sizes.tolist() == steps
    for field in ("loss", "epochs", "rate", "diverged"):
        np.testing.assert_array_equal(getattr(alone, field), getattr(explicit, field))


def test_chunks_change_nothing(monkeypatch):
    """A grid cut into chunks of 7 points gives the same numbers as one chunk."""
    data = dataset("tame")
    kw = {
        "step_sizes": np.geomspace(1e-3, 1.5, 13),
        "momenta": np.linspace(0, 0.95, 5),
        "iterations": 300,
        "optimizer": "nesterov",
    }
    whole = lrcore.sweep(data.x, data.y, **kw)
    monkeypatch.setattr(sweep_module, "_CHUNK", 7)
    cut = lrcore.sweep(data.x, data.y, **kw)
    for field in ("loss", "epochs", "rate", "diverged"):
        np.testing.assert_array_equal(getattr(cut, field), getattr(whole, field))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"step_sizes": [1e-3, 0.0]}, "step sizes must be positive"),
        ({"step_sizes": [-1e-3]}, "step sizes must be positive"),
        ({"step_sizes": [math.inf]}, "step sizes must be positive"),
        ({"step_sizes": [math.nan]}, "step sizes must be positive"),
        ({"step_sizes": []}, "step_sizes must be a non-empty"),
        ({"step_sizes": [[1e-3]]}, "step_sizes must be a non-empty"),
        ({"step_sizes": ["fast"]}, "step_sizes must be numbers"),
        ({"momenta": [0.5, 1.0]}, r"momenta must be in \[0, 1\)"),
        ({"momenta": [-0.1]}, r"momenta must be in \[0, 1\)"),
        ({"momenta": [math.nan]}, r"momenta must be in \[0, 1\)"),
        ({"iterations": -1}, "iterations must be a whole number"),
        ({"iterations": 2.5}, "iterations must be a whole number"),
        ({"iterations": math.inf}, "iterations must be a whole number"),
        ({"iterations": "10"}, "iterations must be a whole number"),
        ({"optimizer": "lbfgs"}, "optimizer must be one of"),
        ({"batch_size": 0}, "batch_size must be a whole number"),
    ],
)
def test_bad_inputs_raise_value_error(change, message):
    data = dataset("tame")
    run = {"step_sizes": [1e-3], "iterations": 10, **change}
    with pytest.raises(ValueError, match=message):
        lrcore.sweep(data.x, data.y, **run)
