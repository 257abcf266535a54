"""Properties of train() and closed_form() over generated data (Hypothesis).

Data: 2 to 30 distinct x on a grid of 0.25 within ±100 (optionally shifted to sit near −50 or
1000), y anywhere within ±1e4. Runs are short (at most 150 epochs) so that each example is
cheap. Unless a property says otherwise, two values "agree" when they differ by at most 1e-9 ×
their scale: the largest magnitude that field reaches along the runs compared, plus the data's
own scale for that field (so that values near 0 are compared against the size of the problem,
not against 0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrcore
from support import reference

TOL = 1e-9
LINEAR = ("gd", "momentum", "nesterov")
FIELDS = ("w", "b", "loss", "dw", "db")


@st.composite
def datasets(draw, max_size=30):
    grid = draw(st.lists(st.integers(-400, 400), min_size=2, max_size=max_size, unique=True))
    x = np.array(grid, dtype=np.float64) / 4 + draw(st.sampled_from([0.0, -50.0, 1000.0]))
    y = draw(
        st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=len(x), max_size=len(x))
    )
    return x, np.array(y)


def run(x, y, **args) -> list[lrcore.State]:
    return list(lrcore.train(x, y, **args))


def stable_step(x, y, optimizer, fraction, momentum=0.9, standardize=False) -> float:
    """fraction × the step size limit of full-batch training (gd's limit for adam and sgd)."""
    return fraction * lrcore.stable_step_size(
        x, y, optimizer if optimizer in LINEAR else "gd", momentum=momentum, standardize=standardize
    )


def data_scales(x, y) -> dict[str, float]:
    """Each field's natural size for this data: y's size Y, x's size X, a slope's size
    W = Y/std(x), an intercept's Y + W·X, a loss's Y²/2, a gradient's Y·X."""
    y_size, x_size = float(np.max(np.abs(y))) + 1.0, float(np.max(np.abs(x))) + 1.0
    w_size = y_size / float(np.std(x))
    g = y_size * x_size
    return {"w": w_size, "b": y_size + w_size * x_size, "loss": 0.5 * y_size**2, "dw": g, "db": g}


def assert_runs_agree(a, b, floors, transform=None):
    """Same epochs and flags, and every field within TOL × (its largest magnitude along both
    runs + its data floor). transform maps a state of `a` to what `b` should hold."""
    transform = transform or (lambda s: s)
    expected = [transform(s) for s in a]
    assert [s.epoch for s in b] == [s.epoch for s in expected]
    assert [s.diverged for s in b] == [s.diverged for s in expected]
    for field in FIELDS:
        values = [getattr(s, field) for s in expected + b]
        scale = max(abs(v) for v in values) + floors[field]
        for want, got in zip(expected, b, strict=True):
            assert abs(getattr(got, field) - getattr(want, field)) <= TOL * scale, (
                field,
                got.epoch,
                getattr(got, field),
                getattr(want, field),
                scale,
            )


optimizers = st.sampled_from(lrcore.OPTIMIZERS)
fractions = st.floats(0.05, 0.95)
starts = st.floats(-1e3, 1e3, allow_subnormal=False)


# Property 1: shuffling the rows leaves every full-batch run unchanged: the loss and its
# gradient are means over the rows, so their order does not matter (up to rounding).
@given(
    datasets(),
    st.sampled_from(LINEAR),
    fractions,
    st.booleans(),
    starts,
    starts,
    st.integers(0, 150),
    st.integers(1, 20),
    st.randoms(use_true_random=False),
)
def test_property_1_row_order_does_not_matter(
    data, optimizer, fraction, standardize, w0, b0, iterations, every, rnd
):
    x, y = data
    order = list(range(len(x)))
    rnd.shuffle(order)
    args = dict(
        optimizer=optimizer,
        standardize=standardize,
        w0=w0,
        b0=b0,
        every=every,
        iterations=iterations,
        step_size=stable_step(x, y, optimizer, fraction, standardize=standardize),
    )
    assert_runs_agree(run(x, y, **args), run(x[order], y[order], **args), data_scales(x, y))


# Property 2: scaling y (and the start) by k scales w, b, dw and db by k and the loss by k²:
# the errors θ − θ* just scale by k. k is a power of two, so the data scale exactly. adam is
# left out: its ε and its normalized step are not scale-free.
@given(
    datasets(),
    st.sampled_from(("gd", "momentum", "nesterov", "sgd")),
    fractions,
    st.booleans(),
    starts,
    starts,
    st.sampled_from([0.25, 2.0, 8.0, -1.0, -4.0]),
    st.integers(0, 100),
)
def test_property_2_scaling_y_scales_the_run(
    data, optimizer, fraction, standardize, w0, b0, k, iterations
):
    x, y = data
    args = dict(
        optimizer=optimizer,
        standardize=standardize,
        iterations=iterations,
        every=3,
        batch_size=4,
        step_size=stable_step(x, y, optimizer, fraction / 4, standardize=standardize),
    )
    base = run(x, y, w0=w0, b0=b0, **args)
    scaled = run(x, k * y, w0=k * w0, b0=k * b0, **args)
    floors = {f: s * max(abs(k), k * k) for f, s in data_scales(x, y).items()}
    assert_runs_agree(
        base,
        scaled,
        floors,
        lambda s: s._replace(w=k * s.w, b=k * s.b, loss=k * k * s.loss, dw=k * s.dw, db=k * s.db),
    )


# Property 3: adding c to y (and to b0) adds c to b at every epoch and changes nothing else:
# the line just moves up by c, and the residuals stay the same.
@given(
    datasets(),
    st.sampled_from(("gd", "momentum", "nesterov", "sgd")),
    fractions,
    st.booleans(),
    starts,
    starts,
    st.floats(-1e4, 1e4),
    st.integers(0, 100),
)
def test_property_3_shifting_y_shifts_b(
    data, optimizer, fraction, standardize, w0, b0, c, iterations
):
    x, y = data
    args = dict(
        optimizer=optimizer,
        standardize=standardize,
        iterations=iterations,
        every=5,
        batch_size=3,
        step_size=stable_step(x, y, optimizer, fraction / 4, standardize=standardize),
    )
    base = run(x, y, w0=w0, b0=b0, **args)
    shifted = run(x, y + c, w0=w0, b0=b0 + c, **args)
    floors = data_scales(x, np.abs(y) + abs(c))
    assert_runs_agree(base, shifted, floors, lambda s: s._replace(b=s.b + c))
    fit, fit_c = lrcore.closed_form(x, y), lrcore.closed_form(x, y + c)
    assert fit_c.b - c == pytest.approx(fit.b, abs=TOL * floors["b"])
    assert fit_c.w == pytest.approx(fit.w, abs=TOL * floors["w"])


# Property 4: the yielded epochs are exactly the schedule: 0, the multiples of every (or the
# epochs listed in `at`, whatever their order, repeats or range), and the last epoch run;
# a run that stops early stops on a diverged state and only there.
@given(
    datasets(max_size=10),
    optimizers,
    st.floats(0.05, 5.0),
    st.integers(0, 60),
    st.one_of(st.integers(1, 70), st.lists(st.integers(-10, 80), max_size=8)),
)
def test_property_4_yielded_epochs_are_the_schedule(
    data, optimizer, fraction, iterations, schedule
):
    x, y = data
    every, at = (schedule, None) if isinstance(schedule, int) else (1, schedule)
    states = run(
        x,
        y,
        optimizer=optimizer,
        iterations=iterations,
        every=every,
        at=at,
        step_size=stable_step(x, y, optimizer, fraction),
    )
    last = states[-1].epoch
    wanted = set(range(0, iterations + 1, every)) if at is None else {0, *at}
    assert [s.epoch for s in states] == sorted(k for k in wanted if 0 <= k < last) + [last]
    assert not any(s.diverged for s in states[:-1])
    assert last == iterations or states[-1].diverged


# Property 5: every state's loss, dw and db are the full-data loss and gradient at its own
# (w, b), recomputed the blog's way: 0.5*mean((w*x + b - y)**2), mean(r*x), mean(r). The
# tolerance allows for the rounding of the naive residual r, whose terms have size
# T = |w·x| + |b| + |y|: 1e-9 relative plus 1e-20·mean(T²) for the loss, and 1e-9 relative
# plus 1e-12·mean(T·(|x| + 1)) for the gradient.
@given(
    datasets(), optimizers, st.floats(0.05, 1.5), st.booleans(), starts, starts, st.integers(0, 150)
)
def test_property_5_loss_and_gradient_are_recomputed_exactly(
    data, optimizer, fraction, standardize, w0, b0, iterations
):
    x, y = data
    states = run(
        x,
        y,
        optimizer=optimizer,
        standardize=standardize,
        w0=w0,
        b0=b0,
        every=7,
        iterations=iterations,
        batch_size=5,
        step_size=stable_step(x, y, optimizer, fraction, standardize=standardize),
    )
    for s in states:
        if not (math.isfinite(s.w) and math.isfinite(s.b) and math.isfinite(s.loss)):
            continue  # a diverged run's last state may hold inf
        r = reference.evaluate(x, y, s.w, s.b)
        terms = np.abs(s.w * x) + abs(s.b) + np.abs(y)
        assert abs(s.loss - r.loss) <= TOL * r.loss + 1e-20 * float(np.mean(terms**2))
        g_floor = 1e-12 * float(np.mean(terms * (np.abs(x) + 1)))
        assert abs(s.dw - r.dw) <= TOL * abs(r.dw) + g_floor
        assert abs(s.db - r.db) <= TOL * abs(r.db) + g_floor


# Property 6: states are immutable: no field can be assigned, and a state kept from early in
# a run is unchanged when the run goes on. Property 7: runs are reproducible: the same
# arguments (the seed included) give identical states.
@given(
    datasets(max_size=10),
    optimizers,
    st.sampled_from(FIELDS + ("epoch", "diverged")),
    st.integers(0, 8),
)
def test_properties_6_and_7_states_are_immutable_and_runs_reproducible(
    data, optimizer, field, seed
):
    x, y = data
    args = dict(
        optimizer=optimizer,
        iterations=30,
        step_size=stable_step(x, y, optimizer, 0.3),
        batch_size=2,
        seed=seed,
    )
    states = lrcore.train(x, y, **args)
    first = next(states)
    kept = tuple(first)
    with pytest.raises(AttributeError):
        setattr(first, field, 0)
    rest = list(states)
    assert tuple(first) == kept
    assert [first, *rest] == run(x, y, **args)


# Property 8: gd on standardized x with step size 1 lands on the least-squares line after one
# epoch: in standardized coordinates the Hessian is the identity, so one step of size 1 goes
# straight to the optimum.
@given(datasets(), starts, starts)
def test_property_8_standardized_gd_at_step_one_solves_in_one_epoch(data, w0, b0):
    x, y = data
    first, one = run(x, y, step_size=1.0, iterations=1, standardize=True, w0=w0, b0=b0)
    fit = lrcore.closed_form(x, y)
    floors = data_scales(x, y)
    assert one.w == pytest.approx(fit.w, abs=TOL * (floors["w"] + abs(w0)))
    assert one.b == pytest.approx(fit.b, abs=TOL * (floors["b"] + abs(b0) + abs(w0 * x).max()))
    assert one.loss == pytest.approx(fit.loss, rel=TOL, abs=TOL * first.loss)


# Property 9: sgd with one batch per epoch (batch_size >= n) is full-batch gd: the shuffle
# only changes the order of the rows inside the mean.
@given(
    datasets(), fractions, st.booleans(), starts, starts, st.integers(0, 100), st.integers(0, 20)
)
def test_property_9_sgd_with_one_batch_is_gd(
    data, fraction, standardize, w0, b0, iterations, extra
):
    x, y = data
    args = dict(
        standardize=standardize,
        w0=w0,
        b0=b0,
        iterations=iterations,
        every=4,
        step_size=stable_step(x, y, "gd", fraction, standardize=standardize),
    )
    gd = run(x, y, optimizer="gd", **args)
    sgd = run(x, y, optimizer="sgd", batch_size=len(x) + extra, **args)
    assert_runs_agree(gd, sgd, data_scales(x, y))


# Property 10: asking for epochs with `at` or `every` gives the same states as stepping through
# every epoch (train() may jump between reported epochs; the jump must land where the steps do).
@given(
    datasets(max_size=10),
    optimizers,
    fractions,
    st.booleans(),
    st.integers(1, 150),
    st.lists(st.integers(1, 150), max_size=6),
    st.integers(1, 40),
)
def test_property_10_at_and_every_agree_with_every_epoch(
    data, optimizer, fraction, standardize, iterations, at, every
):
    x, y = data
    args = dict(
        optimizer=optimizer,
        standardize=standardize,
        iterations=iterations,
        batch_size=3,
        step_size=stable_step(x, y, optimizer, fraction, standardize=standardize),
    )
    full = {s.epoch: s for s in run(x, y, every=1, **args)}
    floors = data_scales(x, y)
    for states in (run(x, y, at=at, **args), run(x, y, every=every, **args)):
        assert_runs_agree([full[s.epoch] for s in states], states, floors)


# Property 11: below its stability limit gd never increases the loss: every eigen-component of
# the error shrinks by |1 − ηλ| < 1 each epoch. No run, by any optimizer, goes below the
# least-squares loss. (Both up to rounding: 1e-12 relative plus 1e-20 of the data's scale.)
@given(datasets(), optimizers, fractions, st.booleans(), starts, starts, st.integers(1, 150))
def test_property_11_gd_descends_and_nothing_beats_least_squares(
    data, optimizer, fraction, standardize, w0, b0, iterations
):
    x, y = data
    states = run(
        x,
        y,
        optimizer=optimizer,
        standardize=standardize,
        w0=w0,
        b0=b0,
        iterations=iterations,
        batch_size=4,
        step_size=stable_step(x, y, optimizer, fraction, standardize=standardize),
    )
    slack = 1e-20 * data_scales(x, y)["loss"]
    fit = lrcore.closed_form(x, y)
    assert all(s.loss >= fit.loss * (1 - 1e-12) - slack for s in states)
    if optimizer == "gd":
        losses = [s.loss for s in states]
        assert all(b <= a * (1 + 1e-12) + slack for a, b in zip(losses, losses[1:], strict=False))


# Property 12: the closed form moves with the data: scaling y by k scales w* and b* by k,
# scaling x by k divides w* by k (k a power of two, so the data scale exactly), and shifting x
# by d keeps w* and moves b* by −w*·d.
@given(datasets(), st.sampled_from([0.5, 4.0, -2.0]), st.sampled_from([0.0, 3.0, -64.0]))
def test_property_12_closed_form_follows_the_data(data, k, d):
    x, y = data
    fit = lrcore.closed_form(x, y)
    floors = data_scales(x, y)
    fit_y = lrcore.closed_form(x, k * y)
    assert (fit_y.w, fit_y.b) == pytest.approx(
        (k * fit.w, k * fit.b), abs=TOL * abs(k) * max(floors["w"], floors["b"])
    )
    fit_x = lrcore.closed_form(k * x, y)
    assert fit_x.w == pytest.approx(fit.w / k, abs=TOL * floors["w"] / abs(k))
    assert fit_x.b == pytest.approx(fit.b, abs=TOL * floors["b"] * 4)
    fit_d = lrcore.closed_form(x + d, y)
    assert fit_d.w == pytest.approx(fit.w, abs=TOL * floors["w"])
    assert fit_d.b == pytest.approx(fit.b - fit.w * d, abs=TOL * (floors["b"] + floors["w"] * 64))
    assert fit_d.r2 == pytest.approx(fit.r2, abs=1e-9)


# Property 13: a step size the page sets for the student (lrcore.rounded_step: advice, fastest,
# best (η, β), a click in Explore) stays on η's side of the stability limit, for limits from
# 1e-16 to 10: below it, rounded down (0 < step ≤ η < limit) to at least 3 significant digits,
# and never what the page writes for the limit (4 digits) unless η itself is; at or above it,
# rounded up (a diverging step stays one). η is drawn anywhere below the limit, including a few
# floats under it, where 3 digits rounded to nearest would land on or past it.
@given(
    st.floats(-16, 1),
    st.one_of(st.floats(1e-6, 2.0), st.integers(-4, 4)),
)
def test_property_13_rounded_steps_stay_on_their_side_of_the_limit(log_limit, where):
    limit = 10.0**log_limit
    if isinstance(where, int):  # a few floats either side of the limit
        eta = limit
        for _ in range(abs(where)):
            eta = math.nextafter(eta, 0.0 if where < 0 else math.inf)
    else:
        eta = where * limit
    step = lrcore.rounded_step(eta, limit)
    ulp3 = 10.0 ** (math.floor(math.log10(eta)) - 2)  # a unit in η's third significant digit
    if eta < limit:
        assert 0 < step <= eta < limit
        assert eta - step < ulp3 * (1 + 1e-9)
        assert step != float(f"{limit:.4g}") or eta == float(f"{limit:.4g}")
    else:
        assert limit <= eta <= step
        assert step - eta < ulp3 * (1 + 1e-9)
