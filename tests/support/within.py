"""The first epoch within 1% of the optimum, found from lrcore.train's own states: the tests'
cross-check of lrcore.sweep's and lrcore.explain.verdict's epochs (which find it without
stepping through the epochs), itself checked against the plain loop in test_explain.py."""

from __future__ import annotations

import math

import numpy as np

from lrcore.model import moments
from lrcore.train import train


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
