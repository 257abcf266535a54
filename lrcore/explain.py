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
from .train import Problem, train


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
        [
            max(abs(np.linalg.eigvals(optim.linear_update(rule, step_size, lam, momentum))))
            for lam in prob.lam
        ]
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


def epochs_to_1pct(x, y, iterations: int, **run) -> int | None:
    """The first epoch at which the run is within 1% of the optimum, ‖θ_k − θ*‖ ≤ 0.01·‖θ_0 − θ*‖,
    found exactly (None if not within `iterations`). For gd the distance never grows, so a
    bracket narrowed a thousandfold per pass finds it; other optimizers are scanned epoch by
    epoch."""
    fit = moments(x, y).fit

    def first(epochs):
        radius = None
        for s in train(x, y, iterations=iterations, at=epochs, **run):
            dist = math.hypot(s.w - fit.w, s.b - fit.b)
            radius = 0.01 * dist if radius is None else radius
            if s.epoch and dist <= radius and not s.diverged:
                return s.epoch
        return None

    if run.get("optimizer", "gd") != "gd":
        return first(range(1, iterations + 1))
    lo, hi = 0, first([iterations])  # not yet within 1% at lo, within at hi
    if hi is None:
        return None
    while hi - lo > 1:
        grid = np.unique(np.linspace(lo, hi, 1002).round().astype(int))[1:]
        found = first(grid.tolist())
        i = int(np.searchsorted(grid, found))
        lo, hi = (int(grid[i - 1]) if i else lo), found
    return hi


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
    first epoch within 1% is exact for gd, momentum and nesterov (epochs_to_1pct's, by sweep);
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
    """The first epoch within 1% of a gd, momentum or nesterov run (inf if none), exact: the
    same epoch as epochs_to_1pct, found by lrcore.sweep in about a millisecond where scanning
    every epoch of a slow momentum run costs seconds."""
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
