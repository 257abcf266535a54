"""lrcore.directions() against the plain per-epoch loops of tests/support/reference.py.

The reference: the naive loop run in the coordinates the optimizer steps in (x itself, or
z = (x − mean)/std for standardized x, as reference.run does before it converts back), its
parameters θₜ = (w, b) or (u, c) every epoch, θ* from numpy.linalg.lstsq on [z, 1], and the
eigen-directions from numpy.linalg.eigh of H = [[mean z², mean z], [mean z, 1]] (the Hessian of
the ½·mean loss). Errors agree to 1e-9 of the starting error ‖θ₀ − θ*‖; milestones equal the
first epoch of the loop whose error along the direction is within 1% of its start.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrcore
from lrcore import explain, optim
from support import reference

TOL = 1e-9
MOMENTUM = ("momentum", "nesterov")


def coordinates(x, standardize):
    """z, the feature the optimizer steps on, and the map from a data-unit start to its own."""
    x = np.asarray(x, dtype=np.float64)
    if not standardize:
        return x, lambda w0, b0: (w0, b0)
    mean, std = float(np.mean(x)), float(np.std(x))
    return (x - mean) / std, lambda w0, b0: (w0 * std, b0 + w0 * mean)


def hessian(z):
    return np.array([[np.mean(z * z), np.mean(z)], [np.mean(z), 1.0]])


class Reference:
    """The plain loop's run: its errors θₜ − θ* every epoch, in the coordinates it steps in."""

    def __init__(self, z, y, rows, diverged):
        theta_opt = np.linalg.lstsq(np.stack([z, np.ones_like(z)], axis=1), y, rcond=None)[0]
        self.h = hessian(z)
        with np.errstate(all="ignore"):
            self.theta_err = np.array([[r.w, r.b] for r in rows]) - theta_opt
            size = np.hypot(self.theta_err[:, 0], self.theta_err[:, 1])
        self.last, self.diverged = len(rows) - 1, diverged
        # 1e-9 of this is the tolerance: the starting error ‖θ₀ − θ*‖, or for a run that
        # diverged, the largest error so far (the loop's rounding grows with it)
        self.scale = np.maximum.accumulate(size) if diverged else np.full(len(rows), size[0])
        self.err = None  # Qᵀ(θₜ − θ*), once directions() are checked to be H's (along())

    @classmethod
    def run(cls, optimizer, x, y, *, standardize=False, w0=0.0, b0=0.0, **options):
        z, start = coordinates(x, standardize)
        u0, c0 = start(w0, b0)
        rows, diverged = reference.OPTIMIZERS[optimizer](z, y, w0=u0, b0=c0, **options)
        return cls(z, y, rows, diverged)

    def along(self, got):
        """Check got's eigen-pairs against numpy.linalg.eigh of H (eigenvalues largest first;
        unit, orthogonal eigenvectors with H·q = λ·q, which pins each down to its sign unless
        the eigenvalues are equal), then project the loop's errors on them."""
        lam = np.linalg.eigvalsh(self.h)[::-1]
        q = got.eigenvectors
        assert got.eigenvalues == pytest.approx(lam, rel=1e-12, abs=1e-15 * lam[0])
        assert np.allclose(q.T @ q, np.eye(2), rtol=0, atol=1e-15)
        assert np.allclose(self.h @ q, q * got.eigenvalues, rtol=0, atol=1e-12 * lam[0])
        with np.errstate(all="ignore"):
            self.err = self.theta_err @ q
        return self.err

    def milestone(self, epochs=None):
        """The first epoch (of `epochs`, or of all) within 1% of the start along each direction."""
        ks = np.arange(self.last + 1) if epochs is None else np.asarray(epochs)
        inside = np.abs(self.err[ks]) <= 0.01 * np.abs(self.err[0])
        return np.where(inside.any(0), ks[inside.argmax(0)], np.inf)


def loop_options(optimizer, args):
    """The reference loop's options for train()'s arguments."""
    options = {"step_size": args["step_size"], "iterations": args["iterations"]}
    if optimizer in MOMENTUM:
        options["beta"] = args.get("momentum", 0.9)
    if optimizer == "sgd":
        options.update(batch_size=args.get("batch_size") or 32, seed=args.get("seed", 0))
    return options


def check(optimizer, data, ref=None, **args):
    """directions() against train()'s epochs and the plain loop's errors and milestones."""
    x, y = data
    got = lrcore.directions(x, y, optimizer=optimizer, **args)
    start = {k: args[k] for k in ("w0", "b0", "standardize") if k in args}
    ref = ref or Reference.run(optimizer, x, y, **start, **loop_options(optimizer, args))
    err = ref.along(got)
    epochs = [s.epoch for s in lrcore.train(x, y, optimizer=optimizer, **args)]
    assert got.epochs.tolist() == epochs
    assert epochs[-1] == ref.last  # the loop stopped where train did
    assert got.error.shape == (len(epochs), 2)
    want = err[epochs]
    with np.errstate(all="ignore"):
        off = np.abs(got.error - want)
    same = (got.error == want) | np.isnan(got.error) & np.isnan(want)  # inf past divergence
    bad = ~same & ~(off <= TOL * ref.scale[epochs, None])
    assert not bad.any(), (np.argwhere(bad)[:3], got.error[bad][:3], want[bad][:3])
    return got, ref


def linear_rate(optimizer, step, lam, beta):
    """ρ along an eigen-direction, from the update rules written out for g = λ·e:
    momentum: v' = β·v + λ·e, e' = e − η·v'; nesterov: e' = e − η·(λ·e + β·v')."""
    if optimizer == "gd":
        return abs(1 - step * lam)
    if optimizer == "momentum":
        a = [[1 - step * lam, -step * beta], [lam, beta]]
    else:
        a = [[1 - step * lam - step * beta * lam, -step * beta * beta], [lam, beta]]
    return float(np.max(np.abs(np.linalg.eigvals(np.array(a)))))


@pytest.fixture(scope="module")
def small_blog():
    """The blog's line on 100 points: the same conditioning, a tenth of the loop's cost."""
    data = lrcore.make_data(n=100)
    return data.x, data.y


def narrow_data():
    """A line on x in [−1, 1]: H's eigenvalues 1 and about 1/3, so directions fall alike."""
    data = lrcore.make_data(n=101, x_min=-1.0, x_max=1.0, noise=1.0, seed=3)
    return data.x, data.y


# (optimizer, train() arguments) on the blog's line: raw x and standardized x, several starts,
# and schedules that are regular, irregular, or every epoch.
CASES = [
    ("gd", dict(step_size=0.0005, iterations=3000, every=7, w0=80.0, b0=-2000.0)),
    ("gd", dict(step_size=0.5, iterations=60, every=1, standardize=True, w0=10.0)),
    ("gd", dict(step_size=1.9, iterations=400, at=[1, 2, 3, 100, 399], standardize=True)),
    ("momentum", dict(step_size=0.0003, iterations=8000, every=50)),
    ("momentum", dict(step_size=0.5, iterations=300, momentum=0.5, standardize=True, b0=100.0)),
    ("momentum", dict(step_size=0.03, iterations=2000, momentum=0.99, standardize=True)),
    # oscillating (complex eigenvalues) and first within 1% only at epoch 384: a long search
    ("momentum", dict(step_size=0.05, iterations=1000, every=25, momentum=0.99, standardize=True)),
    ("nesterov", dict(step_size=0.0003, iterations=8000, every=10, w0=100.0, b0=-500.0)),
    ("nesterov", dict(step_size=0.3, iterations=200, every=3, momentum=0.7, standardize=True)),
    ("nesterov", dict(step_size=0.2, iterations=1500, at=[1, 10, 100, 1000], standardize=True)),
]


@pytest.mark.parametrize(
    ("optimizer", "args"), CASES, ids=[f"{o}-{i}" for i, (o, _) in enumerate(CASES)]
)
def test_linear_runs_match_the_plain_loop(optimizer, args, small_blog):
    """Errors at train's epochs within 1e-9 of the starting error, the milestone the loop's
    first epoch within 1% (of all epochs, not only the yielded ones), the rate ρ of the map."""
    got, ref = check(optimizer, small_blog, **args)
    assert got.milestone.tolist() == ref.milestone().tolist()
    beta = args.get("momentum", 0.9)
    lam = np.linalg.eigvalsh(ref.h)[::-1]
    want = [linear_rate(optimizer, args["step_size"], v, beta) for v in lam]
    assert got.rate == pytest.approx(want, rel=1e-12)


def test_eigen_directions_are_numpy_eigh_of_the_hessian(small_blog):
    """Raw x: H = [[mean x², mean x], [mean x, 1]]; standardized: H = I (eigenvalues 1, 1)."""
    x, y = small_blog
    for standardize in (False, True):
        z, _ = coordinates(x, standardize)
        lam, q = np.linalg.eigh(hessian(z))
        got = lrcore.directions(x, y, step_size=1e-4, iterations=1, standardize=standardize)
        assert got.eigenvalues == pytest.approx(lam[::-1], rel=1e-12, abs=1e-15)
        assert got.eigenvalues[0] >= got.eigenvalues[1]
        assert np.allclose(got.eigenvectors.T @ got.eigenvectors, np.eye(2), atol=1e-15)
        if not standardize:  # (for H = I every basis is an eigenbasis)
            assert np.allclose(np.abs(got.eigenvectors.T @ q[:, ::-1]), np.eye(2), atol=1e-12)
        h = hessian(z)
        assert np.allclose(
            h @ got.eigenvectors, got.eigenvectors * got.eigenvalues, rtol=0, atol=1e-12 * lam[-1]
        )


def test_the_blog_run_one_direction_in_dozens_of_epochs_the_other_in_tens_of_thousands(
    blog, blog_reference
):
    """The blog's run (gd, η = 0.0005, 50,000 epochs): along the steep direction the error is
    within 1% in a few dozen epochs, along the flat one only after ln 100/(η·λmin) ≈ 36,800,
    both the loop's first epochs; on standardized x both directions fall together."""
    x, y = blog.x, blog.y
    got = lrcore.directions(x, y, every=250, **reference.BLOG_RUN)
    ref = Reference(x, y, blog_reference, False)
    check("gd", (x, y), ref, every=250, **reference.BLOG_RUN)
    assert got.milestone.tolist() == ref.milestone().tolist()
    step = reference.BLOG_RUN["step_size"]
    lam_max, lam_min = np.linalg.eigvalsh(ref.h)[::-1]
    fast = math.log(100) / -math.log(abs(1 - step * lam_max))  # ≈ 11.7 for λmax ≈ 3,329
    slow = math.log(100) / (step * lam_min)  # ≈ 36,800 for λmin ≈ 0.25
    assert got.milestone[0] == math.ceil(fast) and got.milestone[0] <= 36
    assert abs(got.milestone[1] - slow) <= 0.001 * slow and 30_000 < got.milestone[1] < 50_000

    together = lrcore.directions(x, y, standardize=True, step_size=0.5, iterations=100)
    assert together.milestone[0] == together.milestone[1] == 7  # 0.5⁷ ≤ 1% < 0.5⁶
    check("gd", (x, y), standardize=True, step_size=0.5, iterations=100)


@pytest.mark.parametrize(
    ("optimizer", "factor", "args"),
    [
        ("gd", 1.02, dict(every=10)),
        ("momentum", 1.05, dict(every=7)),
        ("nesterov", 1.1, dict(at=[1, 2, 300])),  # diverges between two yielded epochs
        ("gd", 1.5, dict(standardize=True, every=3)),
        ("gd", 1.05, dict(every=10, narrow=True)),  # x in [−1, 1]: the flat direction falls
        ("momentum", 1.02, dict(at=[5, 399], narrow=True)),  # within 1% before the run stops
    ],
)
def test_a_diverged_run_stops_where_train_stops(optimizer, factor, args, small_blog):
    """The epochs end at the first diverged epoch, as train's (a yielded one or not), the
    errors match the loop's up to there, and each milestone is looked for up to there."""
    args = dict(args)  # the parameters are shared between runs: pop from a copy
    x, y = narrow_data() if args.pop("narrow", False) else small_blog
    limit = lrcore.stable_step_size(x, y, optimizer, standardize=args.get("standardize", False))
    got, ref = check(optimizer, (x, y), step_size=factor * limit, iterations=400, **args)
    assert ref.diverged and got.epochs[-1] < 400
    assert got.rate[0] > 1 and got.milestone[0] == math.inf  # the steep direction blows up
    assert got.milestone.tolist() == ref.milestone().tolist()  # the other may still fall


@pytest.mark.parametrize(
    ("optimizer", "args"),
    [
        ("adam", dict(step_size=1.0, iterations=3000, every=10)),
        ("adam", dict(step_size=0.1, iterations=500, standardize=True, w0=-20.0)),
        ("sgd", dict(step_size=1e-4, iterations=30)),
        ("sgd", dict(step_size=0.05, iterations=10, every=2, batch_size=1, standardize=True)),
    ],
)
def test_adam_and_sgd_come_from_their_trained_states(optimizer, args, small_blog):
    """No long-run rate (nan); the milestone is the first yielded epoch within 1%."""
    got, ref = check(optimizer, small_blog, **args)
    assert np.isnan(got.rate).all()
    assert got.milestone.tolist() == ref.milestone(got.epochs).tolist()


def test_overflowing_runs_raise_no_warning(small_blog):
    """Far past the limit the errors overflow to inf: still no warning (pytest turns warnings
    into errors), and the run ends where train's does."""
    x, y = small_blog
    for optimizer in lrcore.OPTIMIZERS:
        for w0 in (0.0, 1e150):  # overflows within the run, or from the start
            args = dict(step_size=1e6, iterations=50, optimizer=optimizer, w0=w0)
            got = lrcore.directions(x, y, **args)
            assert got.epochs.tolist() == [s.epoch for s in lrcore.train(x, y, **args)]


def test_no_error_to_start_with_is_a_milestone_at_epoch_0(small_blog):
    x, y = small_blog
    fit = lrcore.closed_form(x, y)
    for optimizer in ("gd", "momentum", "adam"):
        got = lrcore.directions(
            x, y, step_size=1e-4, iterations=10, optimizer=optimizer, w0=fit.w, b0=fit.b
        )
        assert got.milestone.tolist() == [0.0, 0.0]


@st.composite
def problems(draw):
    """2 to 30 distinct x on a grid of 0.25 within ±100 (maybe near −50 or 1000), y within ±1e4."""
    grid = draw(st.lists(st.integers(-400, 400), min_size=2, max_size=30, unique=True))
    x = np.array(grid, dtype=np.float64) / 4 + draw(st.sampled_from([0.0, -50.0, 1000.0]))
    y = draw(
        st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=len(x), max_size=len(x))
    )
    return x, np.array(y)


def assert_first_within(got, ref, tol):
    """got's milestones are the loop's first epochs within 1%, up to the rounding tol: every
    earlier epoch of the loop is outside (or within tol of the level), the milestone inside."""
    for i in range(2):
        level = 0.01 * abs(ref.err[0, i])
        size = np.abs(ref.err[: ref.last + 1, i])
        m = got.milestone[i]
        before = size[: int(m)] if math.isfinite(m) else size
        assert (before > level - tol).all(), (i, m, np.flatnonzero(before <= level - tol)[:3])
        if math.isfinite(m):
            assert size[int(m)] <= level + tol, (i, m, size[int(m)], level)


# Property: on any small problem, gd, momentum and nesterov seen along the eigen-directions
# agree with the plain loop (errors within 1e-9 of the start's, milestones within rounding of
# the loop's first epochs within 1%), at any stable step, on raw or standardized x.
@given(
    problems(),
    st.sampled_from(("gd", "momentum", "nesterov")),
    st.floats(0.05, 0.95),
    st.sampled_from([0.0, 0.5, 0.9]),
    st.booleans(),
    st.integers(1, 150),
    st.integers(1, 20),
)
def test_property_directions_match_the_plain_loop(
    data, optimizer, fraction, beta, standardize, iterations, every
):
    x, y = data
    limit = lrcore.stable_step_size(x, y, optimizer, momentum=beta, standardize=standardize)
    args = dict(
        step_size=fraction * limit,
        iterations=iterations,
        every=every,
        momentum=beta,
        standardize=standardize,
    )
    got, ref = check(optimizer, data, **args)
    assert_first_within(got, ref, TOL * ref.scale[0])


# Property: optim.spectrum's `steady` is a promise that |(Aᵏ)₀₀| never grows, which the
# milestone search relies on to skip epochs; check it epoch by epoch, and ρ against numpy.
@given(
    st.sampled_from(("gd", "momentum", "nesterov")),
    st.floats(1e-4, 2.5),
    st.floats(0.0, 0.999),
)
def test_property_steady_maps_never_grow(optimizer, step_lam, beta):
    a = optim.linear_update(optimizer, step_lam, 1.0, beta)
    rho, steady = optim.spectrum(a)
    # numpy's eigenvalues of a (nearly) defective map are only good to about √ε·‖A‖
    want = np.max(np.abs(np.linalg.eigvals(a)))
    assert rho == pytest.approx(want, rel=1e-12, abs=1e-7 * np.abs(a).max())
    if steady:
        size, p = [], np.eye(2)
        for _ in range(400):
            size.append(abs(p[0, 0]))
            p = a @ p
        assert all(b <= s * (1 + 1e-12) + 1e-300 for s, b in zip(size, size[1:], strict=False))


def plain_first_within(optimizer, step, beta, iterations):
    """The first epoch at which the plain loop's error along a direction with λ = 1, started at
    e = 1, is within 1% (inf if none), and every |e| it went through."""
    e, v, sizes = 1.0, 0.0, [1.0]
    for _ in range(iterations):
        if optimizer == "gd":
            e = e - step * e
        else:
            v = beta * v + e
            e = e - step * v if optimizer == "momentum" else e - step * (e + beta * v)
        sizes.append(abs(e))
    sizes = np.array(sizes)
    inside = np.flatnonzero(sizes <= 0.01)
    return (float(inside[0]) if inside.size else math.inf), sizes


# Property: on standardized x (H = I, both λ = 1) the milestone is the plain loop's first epoch
# within 1%, over long runs too: momentum near critical damping, oscillating, or overdamped
# with its first window guessed far from the answer. Within 1e-9 of the level, rounding may
# decide; then the milestone must only be consistent with the loop up to that.
@given(
    st.sampled_from(("gd", "momentum", "nesterov")),
    st.floats(1e-4, 0.999),
    st.floats(0.0, 0.999),
    st.integers(1, 20_000),
)
def test_property_milestones_over_long_runs(optimizer, fraction, beta, iterations):
    x = np.arange(10.0)
    y = 3.0 * x + 1.0 + np.sin(x)  # any y: only the ratio |e_t|/|e_0| matters
    step = fraction * lrcore.stable_step_size(x, y, optimizer, momentum=beta, standardize=True)
    got = lrcore.directions(
        x,
        y,
        step_size=step,
        iterations=iterations,
        every=iterations,
        optimizer=optimizer,
        momentum=beta,
        standardize=True,
    )
    brute, sizes = plain_first_within(optimizer, step, beta, iterations)
    for m in got.milestone:
        if m != brute:  # only where rounding may tell: the loop is within 1e-9 of the level
            first = int(min(m, brute))
            assert abs(sizes[first] - 0.01) <= TOL, (m, brute, sizes[first])


def test_the_milestone_search_looks_back_when_its_guess_is_late():
    """A map that never grows but falls at its slow rate ρ only after its fast part has done
    the work: a(t) = 0.001·0.999ᵗ + 0.999·0.5ᵗ is within 1% at t = 7, long before ρᵗ = 1%
    (t ≈ 4,603) where the search starts; it must look back (explain._first_within). And
    a map done in one epoch (momentum without β at ηλ = 1, ρ = 0) is done at epoch 1."""
    r1, r2, u = 0.999, 0.5, 1e-3
    a11 = r1 - u * (r1 - r2)
    a00 = r1 + r2 - a11
    a01 = a00 * a11 - r1 * r2  # with a10 = 1: trace r1 + r2, determinant r1·r2
    a = np.array([[a00, a01], [1.0, a11]])
    rho, steady = optim.spectrum(a)
    assert steady and rho == pytest.approx(r1, rel=1e-12)
    e, sizes = np.array([1.0, 0.0]), []
    for _ in range(10):  # the plain loop: one product per epoch
        e = a @ e
        sizes.append(abs(e[0]))
    want = 1 + next(t for t, s in enumerate(sizes) if s <= 0.01)
    assert want == 7
    assert explain._first_within(a, 10_000, rho, steady) == want
    a = optim.linear_update("momentum", 1.0, 1.0, 0.0)  # e' = (1 − ηλ)·e = 0
    assert optim.spectrum(a) == (0.0, True)
    assert explain._first_within(a, 10**6, 0.0, True) == 1
