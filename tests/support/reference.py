"""The naive reference: one plain per-epoch loop per optimizer, written the way the blog post
wrote gradient descent. It shares no code with lrcore and favours the obvious over the clever:
every epoch computes the residual over all the data with NumPy (O(n) work per epoch).

Each optimizer function returns (rows, diverged): rows[k] is the run after k updates, up to and
including the last epoch run (`iterations`, or the first epoch where the run diverged).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

DIVERGENCE_FACTOR = 1e12  # from the contract: loss > 1e12 × starting loss means diverged
BLOG_RUN = {"step_size": 0.0005, "iterations": 50_000}  # the blog post's gradient descent


class Row(NamedTuple):
    """One epoch of a reference run: parameters, full-data loss and gradient, in data units."""

    w: float
    b: float
    loss: float
    dw: float
    db: float


def evaluate(x, y, w, b) -> Row:
    """Loss 0.5*mean((w*x + b - y)**2) and its gradient at (w, b), exactly as the blog wrote it."""
    with np.errstate(all="ignore"):  # a diverging run overflows here; the caller stops it
        r = w * x + b - y
        return Row(
            float(w),
            float(b),
            float(0.5 * np.mean(r * r)),
            float(np.mean(r * x)),
            float(np.mean(r)),
        )


class _Log:
    """The rows of one run and the contract's divergence rule, checked after every epoch."""

    def __init__(self, x, y, w0, b0):
        self.x, self.y = x, y
        self.rows = [evaluate(x, y, w0, b0)]
        self.limit = DIVERGENCE_FACTOR * self.rows[0].loss

    def add(self, w, b) -> Row:
        self.rows.append(evaluate(self.x, self.y, w, b))
        return self.rows[-1]

    @property
    def diverged(self) -> bool:
        last = self.rows[-1]
        finite = all(math.isfinite(v) for v in (last.w, last.b, last.loss))
        return not (finite and last.loss <= self.limit)


def gd(x, y, *, step_size, iterations, w0=0.0, b0=0.0):
    """Plain gradient descent: w -= step_size*dw; b -= step_size*db."""
    log = _Log(x, y, w0, b0)
    w, b = w0, b0
    for _ in range(iterations):
        if log.diverged:
            break
        row = log.rows[-1]
        w, b = w - step_size * row.dw, b - step_size * row.db
        log.add(w, b)
    return log.rows, log.diverged


def momentum(x, y, *, step_size, iterations, w0=0.0, b0=0.0, beta=0.9):
    """Heavy ball: v = beta*v + g; theta -= step_size*v."""
    log = _Log(x, y, w0, b0)
    w, b, vw, vb = w0, b0, 0.0, 0.0
    for _ in range(iterations):
        if log.diverged:
            break
        row = log.rows[-1]
        vw, vb = beta * vw + row.dw, beta * vb + row.db
        w, b = w - step_size * vw, b - step_size * vb
        log.add(w, b)
    return log.rows, log.diverged


def nesterov(x, y, *, step_size, iterations, w0=0.0, b0=0.0, beta=0.9):
    """Nesterov momentum: v = beta*v + g; theta -= step_size*(g + beta*v)."""
    log = _Log(x, y, w0, b0)
    w, b, vw, vb = w0, b0, 0.0, 0.0
    for _ in range(iterations):
        if log.diverged:
            break
        row = log.rows[-1]
        vw, vb = beta * vw + row.dw, beta * vb + row.db
        w, b = w - step_size * (row.dw + beta * vw), b - step_size * (row.db + beta * vb)
        log.add(w, b)
    return log.rows, log.diverged


def adam(x, y, *, step_size, iterations, w0=0.0, b0=0.0, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with bias correction, one full-data gradient per epoch (t = 1, 2, ...)."""
    log = _Log(x, y, w0, b0)
    w, b = w0, b0
    mw = mb = sw = sb = 0.0
    for t in range(1, iterations + 1):
        if log.diverged:
            break
        row = log.rows[-1]
        mw, mb = beta1 * mw + (1 - beta1) * row.dw, beta1 * mb + (1 - beta1) * row.db
        sw = beta2 * sw + (1 - beta2) * row.dw * row.dw  # * not **: overflow gives inf
        sb = beta2 * sb + (1 - beta2) * row.db * row.db
        mw_hat, mb_hat = mw / (1 - beta1**t), mb / (1 - beta1**t)
        sw_hat, sb_hat = sw / (1 - beta2**t), sb / (1 - beta2**t)
        w = w - step_size * mw_hat / (math.sqrt(sw_hat) + eps)
        b = b - step_size * mb_hat / (math.sqrt(sb_hat) + eps)
        log.add(w, b)
    return log.rows, log.diverged


def sgd(x, y, *, step_size, iterations, w0=0.0, b0=0.0, batch_size=32, seed=0):
    """Mini-batch SGD: each epoch shuffles the rows with one generator for the whole run, then
    steps on consecutive batches of batch_size rows (the last one may be smaller)."""
    log = _Log(x, y, w0, b0)
    rng = np.random.default_rng(seed)
    w, b = w0, b0
    for _ in range(iterations):
        if log.diverged:
            break
        order = rng.permutation(len(x))
        with np.errstate(all="ignore"):
            for start in range(0, len(x), batch_size):
                xb, yb = x[order[start : start + batch_size]], y[order[start : start + batch_size]]
                r = w * xb + b - yb
                w, b = w - step_size * np.mean(r * xb), b - step_size * np.mean(r)
        log.add(float(w), float(b))
    return log.rows, log.diverged


OPTIMIZERS = {"gd": gd, "momentum": momentum, "nesterov": nesterov, "adam": adam, "sgd": sgd}


def run(optimizer, x, y, *, standardize=False, w0=0.0, b0=0.0, **options):
    """A reference run of one optimizer. With standardize, it scales x to z = (x - mean)/std
    first, trains (u, c) on z from the matching start, and converts every epoch back to data
    units: w = u/std, b = c - u*mean/std."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not standardize:
        return OPTIMIZERS[optimizer](x, y, w0=w0, b0=b0, **options)
    mean, std = float(np.mean(x)), float(np.std(x))
    z = (x - mean) / std
    z_rows, diverged = OPTIMIZERS[optimizer](z, y, w0=w0 * std, b0=b0 + w0 * mean, **options)
    with np.errstate(all="ignore"):
        rows = [evaluate(x, y, r.w / std, r.b - r.w * mean / std) for r in z_rows]
    return rows, diverged
