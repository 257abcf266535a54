"""The data, the closed-form fit and the stability limit, against independent computations."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import lrcore
from support import reference

# ---------------------------------------------------------------- make_data


def test_make_data_defaults_are_the_blogs_data():
    data = lrcore.make_data()
    np.testing.assert_array_equal(data.x, np.arange(100.0, step=0.1))
    assert data.x.dtype == np.float64 and data.y.dtype == np.float64
    assert data.x.shape == data.y.shape == (1000,)
    noise = data.y - (4000.0 + 50.0 * data.x)
    # N(0, 300) noise over 1000 rows: the sample mean is within 5 standard errors of 0 and
    # the sample standard deviation within 10% (about 4.7 standard errors) of 300.
    assert abs(noise.mean()) < 5 * 300 / math.sqrt(1000)
    assert 270 < noise.std() < 330


def test_make_data_is_reproducible_from_its_seed():
    a, b, c = (lrcore.make_data(n=50, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    np.testing.assert_array_equal(a.x, c.x)


def test_make_data_spaces_x_from_x_min_to_just_below_x_max():
    data = lrcore.make_data(n=40, x_min=-3.0, x_max=5.0, noise=0.0, slope=2.0, intercept=1.0)
    np.testing.assert_allclose(data.x, -3.0 + 0.2 * np.arange(40), rtol=0, atol=1e-14)
    np.testing.assert_allclose(data.y, 1.0 + 2.0 * data.x, rtol=1e-15, atol=1e-14)


# ---------------------------------------------------------------- closed form


def lstsq_fit(x, y):
    """The least-squares line by numpy.linalg.lstsq, with R² and RMSE from their definitions."""
    (w, b), *_ = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)
    resid = y - (w * x + b)
    ss_res, ss_tot = float(resid @ resid), float(np.sum((y - y.mean()) ** 2))
    return w, b, 0.5 * ss_res / len(x), 1 - ss_res / ss_tot, math.sqrt(ss_res / len(x))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # the blog's data
        dict(n=37, x_min=-20.0, x_max=3.0, slope=-0.5, intercept=2.0, noise=4.0, seed=3),
        dict(n=500, x_min=1000.0, x_max=1100.0, seed=1),
        dict(n=2, x_min=0.0, x_max=2.0, noise=1.0, seed=9),  # two points: an exact fit
    ],
)
def test_closed_form_matches_lstsq(kwargs):
    data = lrcore.make_data(**kwargs)
    fit = lrcore.closed_form(data.x, data.y)
    w, b, loss, r2, rmse = lstsq_fit(data.x, data.y)
    scale = float(np.max(np.abs(data.y)))  # b can be near 0; its error scales with y
    assert fit.w == pytest.approx(w, rel=1e-9)
    assert fit.b == pytest.approx(b, rel=1e-9, abs=1e-12 * scale)
    # loss and RMSE: relative, with a floor for the exact two-point fit (residuals ~ rounding)
    assert fit.loss == pytest.approx(loss, rel=1e-9, abs=1e-20 * scale**2)
    assert fit.rmse == pytest.approx(rmse, rel=1e-9, abs=1e-10 * scale)
    assert fit.r2 == pytest.approx(r2, rel=1e-9)


def test_closed_form_is_the_optimum_of_the_naive_loss(blog):
    """No nearby line has a lower loss, and the gradient vanishes there."""
    fit = lrcore.closed_form(blog.x, blog.y)
    best = reference.evaluate(blog.x, blog.y, fit.w, fit.b)
    assert best.loss == pytest.approx(fit.loss, rel=1e-12)
    assert abs(best.dw) < 1e-9 and abs(best.db) < 1e-9
    for dw, db in ((1e-3, 0), (-1e-3, 0), (0, 0.05), (0, -0.05)):
        assert reference.evaluate(blog.x, blog.y, fit.w + dw, fit.b + db).loss > fit.loss


def hard_data(spread_denominator: int, n: int, seed: int):
    """x ≈ 1e6 with a small spread, y ≈ 1e9 = 12345 + 1000x + noise, all exact in float64.

    The noise comes in blocks of four equally spaced x with pattern d·(+1, −1, −1, +1): each
    block sums to zero and is orthogonal to x, so the least-squares line is exactly
    w = 1000, b = 12345, whatever the rounding of any algorithm."""
    rng = np.random.default_rng(seed)
    x = 1e6 + np.arange(n) / spread_denominator
    d = rng.integers(-600, 601, n // 4).astype(np.float64)
    noise = np.repeat(d, 4) * np.tile([1.0, -1.0, -1.0, 1.0], n // 4)
    order = rng.permutation(n)
    x, noise = x[order], noise[order]
    y = 12345.0 + 1000.0 * x + noise
    assert np.all(y - 1000.0 * x - 12345.0 == noise)  # the construction is exact
    return x, y, noise


@pytest.mark.parametrize(("denominator", "n"), [(4, 4000), (64, 640), (1024, 1024)])
def test_closed_form_on_numerically_hard_data(denominator, n):
    """Spread 1000, 10 and 1 around x = 1e6: lstsq itself loses up to 1e-1 in b here, so the
    fit is checked against the known exact answer instead."""
    x, y, noise = hard_data(denominator, n, seed=denominator)
    fit = lrcore.closed_form(x, y)
    assert fit.w == pytest.approx(1000.0, rel=1e-12)
    assert fit.b == pytest.approx(12345.0, abs=1e-6)  # 1e-15 of y's size
    mse = Fraction(sum(int(v) ** 2 for v in noise), n)  # exact: the noise is whole numbers
    assert fit.loss == pytest.approx(float(mse / 2), rel=1e-12)
    assert fit.rmse == pytest.approx(math.sqrt(mse), rel=1e-12)
    ys = [Fraction(float(v)) for v in y]
    y_mean = sum(ys) / n
    ss_tot = sum((v - y_mean) ** 2 for v in ys)
    assert fit.r2 == pytest.approx(float(1 - mse * n / ss_tot), rel=1e-12)


def test_closed_form_of_a_constant_y_has_r2_one():
    fit = lrcore.closed_form([0.0, 1.0, 2.0], [5.0, 5.0, 5.0])
    assert (fit.w, fit.b, fit.loss, fit.r2, fit.rmse) == pytest.approx((0, 5, 0, 1, 0), abs=1e-12)


DEGENERATE = [
    ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]),  # one distinct x
    ([2.0], [3.0]),
    ([], []),
    ([0.0, math.nan, 2.0], [1.0, 2.0, 3.0]),
    ([0.0, 1.0, 2.0], [1.0, 2.0, math.nan]),
    ([0.0, 1.0, 2.0], [-math.inf, 2.0, 3.0]),
    ([0.0, 1.0, 2.0], [1.0, 2.0]),  # mismatched lengths
]


@pytest.mark.parametrize("function", [lrcore.closed_form, lrcore.stable_step_size])
@pytest.mark.parametrize(("x", "y"), DEGENERATE)
def test_degenerate_data_is_a_clear_value_error(function, x, y):
    with pytest.raises(lrcore.DataError) as caught:
        function(x, y)
    assert isinstance(caught.value, ValueError)
    assert len(str(caught.value)) > 10


def test_two_distinct_x_a_tiny_distance_apart_fit_or_are_refused_clearly():
    """Two distinct x whose variance underflows: either the exact line through the two points
    or a DataError saying why not, never an arithmetic exception."""
    try:
        fit = lrcore.closed_form([0.0, 1e-200], [0.0, 1.0])
    except lrcore.DataError:
        return
    assert fit.w == pytest.approx(1e200, rel=1e-12) and fit.b == pytest.approx(0, abs=1e-12)


# ---------------------------------------------------------------- stability limit


def naive_hessian(x, standardize=False):
    """H = [[mean x², mean x], [mean x, 1]], of z = (x − mean)/std when standardized."""
    if standardize:
        x = (x - np.mean(x)) / np.std(x)
    return np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])


def update_matrix(optimizer, step_size, h, beta):
    """One update of the errors (θ − θ*, v) as a matrix, written from the contract's rules:
    gd θ ← θ − ηHθ; momentum v ← βv + Hθ, θ ← θ − ηv; nesterov v ← βv + Hθ, θ ← θ − η(Hθ + βv)."""
    eye, eta = np.eye(2), step_size
    if optimizer == "gd":
        return eye - eta * h
    if optimizer == "momentum":
        return np.block([[eye - eta * h, -eta * beta * eye], [h, beta * eye]])
    return np.block([[eye - eta * (1 + beta) * h, -eta * beta**2 * eye], [h, beta * eye]])


def spectral_radius(a):
    return float(np.max(np.abs(np.linalg.eigvals(a))))


STABILITY_DATA = {
    "blog": dict(),
    "far": dict(n=500, x_min=1000.0, x_max=1100.0, seed=1),
    "neg": dict(n=300, x_min=-50.0, x_max=10.0, slope=-3.0, intercept=7.0, noise=20.0, seed=2),
}
LINEAR = [("gd", 0.9), ("momentum", 0.9), ("momentum", 0.5), ("nesterov", 0.9), ("nesterov", 0.3)]


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("name", STABILITY_DATA)
def test_stable_step_size_is_the_sharp_limit_of_the_update_rules(name, standardize):
    """The limit equals the contract's formula with λmax from numpy, and the update matrix's
    spectral radius is below 1 at 0.99× the limit and above 1 at 1.01×."""
    data = lrcore.make_data(**STABILITY_DATA[name])
    h = naive_hessian(data.x, standardize)
    lam = float(np.linalg.eigvalsh(h).max())
    formula = {
        "gd": lambda b: 2 / lam,
        "momentum": lambda b: 2 * (1 + b) / lam,
        "nesterov": lambda b: 2 * (1 + b) / ((1 + 2 * b) * lam),
    }
    for optimizer, beta in LINEAR:
        limit = lrcore.stable_step_size(
            data.x, data.y, optimizer, momentum=beta, standardize=standardize
        )
        assert limit == pytest.approx(formula[optimizer](beta), rel=1e-9)
        below = spectral_radius(update_matrix(optimizer, 0.99 * limit, h, beta))
        above = spectral_radius(update_matrix(optimizer, 1.01 * limit, h, beta))
        assert below < 1 < above, (optimizer, beta, below, above)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("name", STABILITY_DATA)
@pytest.mark.parametrize(("optimizer", "beta"), LINEAR)
def test_training_converges_below_the_limit_and_diverges_above(optimizer, beta, name, standardize):
    data = lrcore.make_data(**STABILITY_DATA[name])
    limit = lrcore.stable_step_size(
        data.x, data.y, optimizer, momentum=beta, standardize=standardize
    )
    args = dict(optimizer=optimizer, momentum=beta, standardize=standardize)
    # 0.99×: 100,000 epochs (jumped, so cheap) without divergence, ending far below the start
    below = list(
        lrcore.train(
            data.x, data.y, step_size=0.99 * limit, iterations=100_000, every=10_000, **args
        )
    )
    assert not any(s.diverged for s in below) and below[-1].epoch == 100_000
    assert below[-1].loss < 0.95 * below[0].loss
    # 1.01×: diverged, at the same epoch where the naive loop first breaks the rule
    above = list(
        lrcore.train(
            data.x, data.y, step_size=1.01 * limit, iterations=100_000, every=10_000, **args
        )
    )
    assert above[-1].diverged and above[-1].epoch < 100_000
    options = {"beta": beta} if optimizer != "gd" else {}
    rows, diverged = reference.run(
        optimizer,
        data.x,
        data.y,
        step_size=1.01 * limit,
        iterations=100_000,
        standardize=standardize,
        **options,
    )
    assert diverged and len(rows) - 1 == above[-1].epoch


@pytest.mark.parametrize("standardize", [False, True])
def test_stable_step_size_takes_an_array_of_momenta(standardize):
    """An array of β gives, for each, the limit a call with that β alone gives."""
    data = lrcore.make_data(**STABILITY_DATA["far"])
    betas = np.array([0.0, 0.3, 0.9, 0.999])
    for optimizer in ("gd", "momentum", "nesterov"):
        got = lrcore.stable_step_size(data.x, data.y, optimizer, betas, standardize)
        one = [lrcore.stable_step_size(data.x, data.y, optimizer, b, standardize) for b in betas]
        np.testing.assert_allclose(np.broadcast_to(got, betas.shape), one, rtol=1e-15)


def test_standardized_limit_does_not_depend_on_where_x_sits():
    near, far = lrcore.make_data(n=100), lrcore.make_data(n=100, x_min=1e5, x_max=1e5 + 100)
    for optimizer in ("gd", "momentum", "nesterov"):
        a = lrcore.stable_step_size(near.x, near.y, optimizer, standardize=True)
        b = lrcore.stable_step_size(far.x, far.y, optimizer, standardize=True)
        assert a == pytest.approx(b, rel=1e-9)


def test_stable_step_size_on_numerically_hard_data():
    """x ≈ 1e6 with spread 1: λmax = mean x² + 1 − (small), computed to 1e-12 all the same."""
    x, y, _ = hard_data(1024, 1024, seed=1)
    xs = [Fraction(float(v)) for v in x]
    mean = sum(xs) / len(xs)
    mean_sq = sum(v * v for v in xs) / len(xs)
    # λmax of [[a, m], [m, 1]] = (a + 1 + √((a − 1)² + 4m²))/2, evaluated from exact a, m
    a, m = mean_sq, mean
    lam = (float(a + 1) + math.sqrt(float((a - 1) ** 2 + 4 * m * m))) / 2
    assert lrcore.stable_step_size(x, y) == pytest.approx(2 / lam, rel=1e-12)


def test_condition_number_matches_numpy(blog):
    h = naive_hessian(blog.x)
    assert lrcore.condition_number(blog.x) == pytest.approx(np.linalg.cond(h), rel=1e-9)
    assert lrcore.condition_number(blog.x, standardize=True) == 1.0
