"""Why a run behaves as it does: the numbers the page explains to a student.

For gd, momentum and nesterov the error along each eigen-direction of the Hessian H is multiplied
every epoch by the update map A (see optim.py); its spectral radius ρ is the rate. With λmax and
λmin the largest and smallest eigenvalues of H:

    gd:  ρ = max |1 − η·λ|,  converges iff η < 2/λmax,  condition number κ = λmax/λmin.

"Within 1% of the optimum" means ‖θ_k − θ*‖ ≤ 1% of ‖θ_0 − θ*‖ for θ = (w, b). The squared
distance is a sum over the two directions, each shrinking like ρᵢ^(2k):
    ‖θ_k − θ*‖² / ‖θ_0 − θ*‖² ≈ Σᵢ shareᵢ·ρᵢ^(2k)
where shareᵢ is direction i's part of the starting distance². Solving "= 1e-4" for k predicts the
epochs (exact for gd on raw x; momentum's oscillations make it rough).

directions() follows the run along each eigen-direction. Let θ be the parameters the optimizer
steps ((w, b) on raw x, (u, c) on standardized x) and H = Q·diag(λ₁, λ₂)·Qᵀ the Hessian of the
½·mean loss in those coordinates, H = [[mean z², mean z], [mean z, 1]] (the ½ cancels the
square's 2: no factor 2 in H). The columns of Q are the directions, so the error along them is

    ê(t) = Qᵀ·(θₜ − θ*)      (Qᵀ, not Q: Qᵀ projects onto the columns)
    êᵢ(t) = aᵢ(t)·êᵢ(0),  aᵢ(t) = (Aᵢᵗ)₀₀,  Aᵢ the 2×2 map of optim.py for λᵢ

gd: aᵢ(t) = (1 − ηλᵢ)ᵗ. Direction i's rate is ρ(Aᵢ), the spectral radius (|1 − ηλᵢ| for gd),
and its milestone the first t with |aᵢ(t)| ≤ 0.01.

A run's verdict says how it ended beside θ*: diverged, converged (its last state within 1%) or
not yet (how far still, and the epochs the rate predicts in all).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import optim
from .model import moments, stable_step_size
from .sweep import sweep
from .train import Problem, check, jump, schedule, train

MILESTONE = 0.01  # directions(): the milestone is the first epoch with |êᵢ| ≤ this × |êᵢ(0)|
_WINDOW = 1 << 16  # the most epochs a milestone search computes at once
_STEPPED = 256  # windows up to this long are stepped one product per epoch (cheaper in Python)


class Rates(NamedTuple):
    """What the Hessian predicts for one optimizer, step size and start."""

    lam_max: float  # largest eigenvalue of H (the steepest direction's curvature)
    lam_min: float  # smallest eigenvalue of H (the flattest direction's curvature)
    condition: float  # λmax/λmin
    limit: float  # the largest step size that converges
    growth: float  # ρ: the error is multiplied by about this every epoch (> 1: diverges)
    slow_share: float  # the flat direction's share of the starting distance²
    epochs_to_1pct: float  # predicted epochs to get within 1% of the optimum (inf if ρ ≥ 1)


def rates(
    x,
    y,
    step_size: float,
    optimizer: str = "gd",
    momentum: float = 0.9,
    standardize: bool = False,
    w0: float = 0.0,
    b0: float = 0.0,
) -> Rates:
    """The Hessian's eigenvalues, the stability limit and the predicted convergence. For adam and
    sgd, which have no sharp limit, the gd figures are given as a guide."""
    prob = Problem(x, y, standardize)
    rule = optimizer if optimizer in optim.LINEAR else "gd"
    rho = np.array(
        [optim.spectrum(optim.linear_update(rule, step_size, lam, momentum))[0] for lam in prob.lam]
    )
    e_hat = prob.q.T @ np.array(prob.to_train(w0 - prob.mom.fit.w, b0 - prob.mom.fit.b))
    dist2 = e_hat**2
    share = dist2 / dist2.sum() if dist2.sum() > 0 else np.array([0.0, 1.0])
    limit = stable_step_size(x, y, rule, momentum, standardize)
    lam_max, lam_min = prob.lam
    return Rates(
        lam_max,
        lam_min,
        lam_max / lam_min,
        limit,
        float(rho.max()),
        float(share[1]),
        _solve_1pct(share, rho),
    )


def _solve_1pct(share, rho, target=1e-4) -> float:
    """The k where Σ shareᵢ·ρᵢ^(2k) falls to 1e-4, by bisection (inf if it never does)."""

    def left(k):
        return float(np.sum(share * rho ** (2 * k)))

    if left(0) <= target:
        return 0.0
    if rho[share > 0].max() >= 1:
        return math.inf
    lo, hi = 0.0, 1.0
    while left(hi) > target:
        lo, hi = hi, 2 * hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if left(mid) > target else (lo, mid)
    return hi


class Directions(NamedTuple):
    """A run seen along the Hessian's eigen-directions (see the module's docstring)."""

    eigenvalues: np.ndarray  # (2,) λ of H in the training coordinates, largest first
    eigenvectors: np.ndarray  # (2, 2) Q: unit eigenvectors as columns, in the same order
    epochs: np.ndarray  # (T,) the epochs train yields for the same arguments
    error: np.ndarray  # (T, 2) Qᵀ·(θₜ − θ*) at those epochs, in the training coordinates
    rate: np.ndarray  # (2,) each direction's factor per epoch in the long run (nan: adam, sgd)
    milestone: np.ndarray  # (2,) first epoch with |êᵢ| ≤ 1% of |êᵢ(0)| (inf: not in the run)


def directions(
    x,
    y,
    *,
    step_size: float,
    iterations: int,
    optimizer: str = "gd",
    w0: float = 0.0,
    b0: float = 0.0,
    every: int = 1,
    batch_size: int | None = None,
    momentum: float = 0.9,
    standardize: bool = False,
    seed: int = 0,
    at=None,
) -> Directions:
    """train(x, y, ...) with the same arguments, seen along the eigen-directions of H.

    gd, momentum, nesterov: the errors are train's own eigen-coordinates (it jumps between
    epochs, so a direction's error can fall far below θ's rounding), and the milestone is exact,
    the first epoch of all, not only of those yielded, found without stepping through the
    epochs (see _rates_and_milestones). A diverged run's epochs end where train's do, and its
    milestones are looked for up to there. Cost: about train's for the same arguments, less
    the states it builds; but a direction that oscillates (complex eigenvalues, or a diverging
    one) has every epoch checked until it dips within 1% (vectorized, about 30 ns an epoch).
    adam and sgd: the errors come from train's states (θ − θ*, so rounded to θ's digits), the
    milestone is the first of those states' epochs within 1%, and the rate is nan."""
    check(step_size, iterations, optimizer, every, batch_size, momentum)
    prob = Problem(x, y, standardize)
    with np.errstate(all="ignore"):
        if optimizer in optim.LINEAR:
            e0, start = prob.start(w0, b0)
            epochs, error = _jumped(
                prob, optimizer, step_size, momentum, e0, start, iterations, every, at
            )
            last = int(epochs[-1])
            rate, milestone = _rates_and_milestones(prob, optimizer, step_size, momentum, last)
        else:
            states = train(
                x,
                y,
                step_size=step_size,
                iterations=iterations,
                optimizer=optimizer,
                w0=w0,
                b0=b0,
                every=every,
                batch_size=batch_size,
                standardize=standardize,
                seed=seed,
                at=at,
            )
            epochs, error = _trained(prob, list(states))
            inside = np.abs(error) <= MILESTONE * np.abs(error[0])
            milestone = np.where(inside.any(0), epochs[inside.argmax(0)], np.inf)
            rate = np.full(2, np.nan)
        milestone = np.where(error[0] == 0, 0.0, milestone)  # no error to start with
    return Directions(prob.lam.copy(), prob.q.copy(), epochs, error, rate, milestone.astype(float))


def _jumped(prob, optimizer, step_size, momentum, e0, start, iterations, every, at):
    """The epochs train yields and the errors ê there, from train's own jumps."""
    chunks = [(np.array([0]), (prob.q.T @ np.array(e0))[None])]
    if not start.diverged:
        targets = schedule(iterations, every, at)
        steps = jump(prob, optimizer, step_size, momentum, targets, e0)
        chunks += [(k, block[..., 0]) for k, block in steps]
    return tuple(np.concatenate(c) for c in zip(*chunks, strict=True))


def _trained(prob, states):
    """The epochs of train's states and their errors ê = Qᵀ·e, e = θ − θ* in training units."""
    fit = prob.mom.fit
    ew, eb = np.array([[s.w - fit.w, s.b - fit.b] for s in states]).T
    return np.array([s.epoch for s in states]), np.stack(prob.to_train(ew, eb), axis=-1) @ prob.q


def _rates_and_milestones(prob, optimizer, step_size, momentum, k_max):
    """Each direction's rate and first epoch in 1..k_max with |aᵢ(t)| ≤ MILESTONE (inf if
    none). gd: aᵢ(t) = rᵗ with r = 1 − ηλᵢ, so the epoch is ⌈log 0.01 / log |r|⌉, checked
    against its neighbours for rounding. momentum, nesterov: optim.spectrum of Aᵢ says whether
    |aᵢ(t)| can oscillate, and _first_within searches accordingly."""
    maps = [optim.linear_update(optimizer, step_size, lam, momentum) for lam in prob.lam]
    spectra = [optim.spectrum(a) for a in maps]  # (ρ, steady); gd: ρ = |1 − ηλᵢ|
    if optimizer == "gd":
        milestone = [_gd_milestone(rho, k_max) for rho, _ in spectra]
    else:
        milestone = [_first_within(a, k_max, *spec) for a, spec in zip(maps, spectra, strict=True)]
    return np.array([rho for rho, _ in spectra]), np.array(milestone)


def _gd_milestone(r, k_max) -> float:
    """The first t in 1..k_max with rᵗ ≤ MILESTONE for r = |1 − ηλ| (inf if none)."""
    if not r < 1:
        return math.inf
    t = max(1, math.ceil(math.log(MILESTONE) / math.log(r))) if r > 0 else 1
    while t > 1 and r ** (t - 1) <= MILESTONE:
        t -= 1
    while r**t > MILESTONE:
        t += 1
    return float(t) if t <= k_max else math.inf


def _first_within(a, k_max, rho, steady) -> float:
    """The first t in 1..k_max with |(aᵗ)₀₀| ≤ MILESTONE (inf if none), checking windows of
    epochs. A window starts from aˡᵒ⁻¹·(1, 0) found by repeated squaring (_column), so no error
    is carried from one window to the next; within it, a short window steps one product per
    epoch (at most _STEPPED of them), a long one uses optim.orbit (log2 of its length).

    Where |(aᵗ)₀₀| never grows (`steady`, see optim.spectrum), the first window starts near
    the guess ρᵗ = MILESTONE, and if the epoch before it is already within, bisection finds
    the first one before it; elsewhere (it may oscillate) the windows run from epoch 1 until
    one dips within."""
    guess = math.log(MILESTONE) / math.log(rho) if 0 < rho < 1 else (1 if rho == 0 else k_max)
    lo, size = (max(1, min(int(guess) - 8, k_max)), 32) if steady else (1, 128)
    while lo <= k_max:
        y = _column(a, lo - 1)  # the state at epoch lo − 1
        if steady and lo > 1 and abs(y[0]) <= MILESTONE:  # the guess was late
            return float(_bisect(a, lo - 1))
        n = min(k_max, lo + size - 1) - lo + 1
        hit = _first_in_window(a, y, n)
        if hit is not None:
            return float(lo + hit)
        lo, size = lo + n, min(size * 4, _WINDOW)
    return math.inf


def _bisect(a, hi) -> int:
    """The first t ≤ hi with |(aᵗ)₀₀| ≤ MILESTONE, where it never grows and holds at hi."""
    lo = 0  # (a⁰)₀₀ = 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if abs(_column(a, mid)[0]) <= MILESTONE else (mid, hi)
    return hi


def _first_in_window(a, y, n) -> int | None:
    """The first j < n with |(a^(j+1)·y)₀| ≤ MILESTONE, or None."""
    if n > _STEPPED:
        values = optim.orbit(a[None], (a @ y)[None], n)[:, 0, 0]
        hit = np.flatnonzero(np.abs(values) <= MILESTONE)
        return int(hit[0]) if hit.size else None
    (p, q), (r, s) = a.tolist()
    y0, y1 = y.tolist()
    for j in range(n):
        y0, y1 = p * y0 + q * y1, r * y0 + s * y1
        if abs(y0) <= MILESTONE:
            return j
    return None


def _column(a, k) -> np.ndarray:
    """Aᵏ·(1, 0) for one 2×2 map, by repeated squaring in floats (optim.power for one map)."""
    (p, q), (r, s) = a.tolist()
    y0, y1 = 1.0, 0.0
    while k:
        if k & 1:
            y0, y1 = p * y0 + q * y1, r * y0 + s * y1
        k >>= 1
        if k:
            p, q, r, s = p * p + q * r, q * (p + s), r * (p + s), s * s + q * r
    return np.array([y0, y1])


CONVERGED, NOT_YET, DIVERGED = "converged", "not yet", "diverged"


class Verdict(NamedTuple):
    """How a run ended beside the least-squares answer θ* (θ = (w, b))."""

    outcome: str  # CONVERGED (its last state within 1%), NOT_YET or DIVERGED
    epoch: int  # converged: the first epoch within 1%; diverged: where it blew up; else the last
    exact: bool  # converged: that epoch is the first of all epochs within 1%, not of those checked
    share: float  # ‖θ_last − θ*‖ / ‖θ_0 − θ*‖: how far the run still is, beside where it started
    predicted: float | None  # not yet: the epochs in all that the rate predicts to get within 1%
    # (rates().epochs_to_1pct; inf: never); None otherwise, and for adam and sgd (no rate)


def verdict(x, y, states, **run) -> Verdict:
    """The verdict on a run from its states (as train yields them: the first at epoch 0, the last
    the final one) and train's keyword arguments `run` (iterations aside). A converged run's
    first epoch within 1% is exact for gd, momentum and nesterov (lrcore.sweep's);
    for adam and sgd it is the first of `states` within 1%, exact only if the state before it is
    the epoch before."""
    fit = moments(x, y).fit

    def dist(state):
        return math.hypot(state.w - fit.w, state.b - fit.b)

    start, last = dist(states[0]), states[-1]
    share = dist(last) / start if start > 0 else 0.0
    linear = run.get("optimizer", "gd") in optim.LINEAR
    if last.diverged:
        return Verdict(DIVERGED, last.epoch, True, share, None)
    if dist(last) > 0.01 * start:
        keys = ("step_size", "optimizer", "momentum", "standardize", "w0", "b0")
        predicted = (
            rates(x, y, **{k: run[k] for k in keys if k in run}).epochs_to_1pct if linear else None
        )
        return Verdict(NOT_YET, last.epoch, True, share, predicted)
    if linear and start > 0:
        found = _first_1pct(x, y, last.epoch, run)
        if math.isfinite(found):
            return Verdict(CONVERGED, int(found), True, share, None)
    before, first = next(
        pair for pair in zip([None, *states], states, strict=False) if dist(pair[1]) <= 0.01 * start
    )
    exact = before is None or before.epoch == first.epoch - 1
    return Verdict(CONVERGED, first.epoch, exact, share, None)


def _first_1pct(x, y, iterations: int, run: dict) -> float:
    """The first epoch within 1% of a gd, momentum or nesterov run (inf if none), exact, found
    by lrcore.sweep in about a millisecond, where scanning every epoch of a slow momentum run
    with train costs seconds."""
    grid = sweep(
        x,
        y,
        step_sizes=[run["step_size"]],
        momenta=[run["momentum"]] if "momentum" in run else None,
        iterations=iterations,
        **{k: run[k] for k in ("optimizer", "standardize", "w0", "b0") if k in run},
    )
    return float(grid.epochs[0, 0])


def verdict_text(v: Verdict) -> str:
    """The verdict in one sentence (the page's line and the CLI's last line)."""
    if v.outcome == DIVERGED:
        return f"Diverged at epoch {v.epoch:,}."
    if v.outcome == CONVERGED:
        at = (
            f"at epoch {v.epoch:,}"
            if v.exact
            else f"by epoch {v.epoch:,} (not every epoch checked)"
        )
        return f"Converged: within 1% of the least-squares answer {at}."
    far = (
        f"still {_percent(v.share)} of its starting distance from the answer"
        if v.share <= 1
        else f"farther from the answer than at the start ({100 * v.share:,.0f}% of that distance)"
    )
    text = f"Not yet converged: after {v.epoch:,} epochs the run is {far}"
    if v.predicted is None:
        return f"{text}."
    if math.isinf(v.predicted):
        return f"{text}; at this rate it never gets within 1%."
    return f"{text}; the rate predicts {math.ceil(v.predicted):,} epochs in all."


def _percent(share: float) -> str:
    """A share between 1% and 100% as a percentage people read: 38%, rounded up below 10% (1.004%
    is 1.1%, not 1.0%), and "over 99%" for what would round to 100%."""
    pct = 100 * share
    if pct >= 99.5:
        return "over 99%"
    return f"{pct:.0f}%" if pct >= 10 else f"{math.ceil(10 * pct) / 10:.1f}%"
