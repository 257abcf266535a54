"""train(): a generator of immutable per-epoch states.

Training runs in its own coordinates z (x itself, or x standardized to mean 0 and standard
deviation 1) on the error e = θ − θ* of its parameters θ = (u, c), prediction u·z + c. Every
state is reported in the data's own units:

    w = u/s,  b = c − u·m/s     (z = (x − m)/s; raw x is m = 0, s = 1)
    loss = loss* + ½·(var z·e_u² + (e_c + mean z·e_u)²)

gd, momentum and nesterov jump from one reported epoch to the next (see optim.py); adam and
sgd step one update at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np

from . import optim
from .model import eigen, hessian, moments

OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "sgd")
DIVERGENCE_FACTOR = 1e12  # a run whose loss grows past this × its starting loss has diverged
_CHUNK = 4096  # states computed at once by the jumping path


class State(NamedTuple):
    """The run after `epoch` updates (epoch 0 is the start), in the data's own units."""

    epoch: int
    w: float  # slope
    b: float  # intercept
    loss: float  # ½·mean((w·x + b − y)²) over all the data
    dw: float  # ∂loss/∂w at (w, b), over all the data
    db: float  # ∂loss/∂b at (w, b), over all the data
    diverged: bool = False  # the run stopped here because the loss or a parameter blew up


class Problem:
    """The data as training sees it: its moments, the training coordinates z = (x − m)/s (m = 0,
    s = 1 on raw x), the Hessian's eigenvalues `lam` (largest first) and eigenvectors `q` (as
    columns) in those coordinates, and the divergence rule's `loss_limit` (set by train from the
    starting loss; inf until then). Errors e = (e_u, e_c) are in training coordinates; ê = qᵀ·e
    are the same errors along the eigen-directions."""

    def __init__(self, x, y, standardize: bool):
        self.mom = moments(x, y)
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.m, self.s = (self.mom.x_mean, math.sqrt(self.mom.x_var)) if standardize else (0, 1)
        self.z_mean = (self.mom.x_mean - self.m) / self.s
        self.z_var = self.mom.x_var / (self.s * self.s)
        (l1, l2), q = eigen(hessian(self.z_mean, self.z_var))
        self.lam, self.q = np.array([l1, l2]), np.array(q)
        self.loss_limit = math.inf

    def to_train(self, ew, eb):
        """Data-unit error (w − w*, b − b*) to training coordinates (e_u, e_c)."""
        return ew * self.s, eb + ew * self.m

    def loss(self, eu, ec):
        gc = ec + self.z_mean * eu  # written with * only: float ** raises OverflowError
        return self.mom.fit.loss + 0.5 * (self.z_var * eu * eu + gc * gc)

    def gradient(self, eu, ec):
        """The full-data gradient in training coordinates."""
        gc = ec + self.z_mean * eu
        return self.z_var * eu + self.z_mean * gc, gc

    def states(self, epochs, eu, ec) -> list[State]:
        """States at the given epochs from training-coordinate errors (floats or arrays)."""
        ew, eb = eu / self.s, ec - eu * (self.m / self.s)
        w, b = self.mom.fit.w + ew, self.mom.fit.b + eb
        loss = self.loss(eu, ec)
        dw, db = self.mom.gradient(ew, eb)
        bad = self._blown(w, b, loss)
        cols = (np.atleast_1d(c).tolist() for c in (epochs, w, b, loss, dw, db, bad))
        return [State(*row) for row in zip(*cols, strict=True)]

    def blown(self, eu, ec):
        """Whether train would flag these training-coordinate errors as diverged."""
        w, b = self.mom.fit.w + eu / self.s, self.mom.fit.b + (ec - eu * (self.m / self.s))
        return self._blown(w, b, self.loss(eu, ec))

    def _blown(self, w, b, loss):
        return ~(np.isfinite(w) & np.isfinite(b) & np.isfinite(loss) & (loss <= self.loss_limit))

    def start(self, w0, b0) -> tuple[tuple[float, float], State]:
        """The start's training-coordinate errors and its state; sets the divergence rule's
        loss_limit from the starting loss."""
        e0 = self.to_train(w0 - self.mom.fit.w, b0 - self.mom.fit.b)
        # the start exactly as given: w* + (w0 − w*) and the way back from z can round off
        start = self.states(0, *e0)[0]._replace(w=float(w0), b=float(b0))
        if not start.diverged:  # else w0 or b0 is so large that the loss overflows
            self.loss_limit = DIVERGENCE_FACTOR * start.loss if start.loss > 0 else math.inf
        return e0, start


def train(
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
    at: Iterable[int] | None = None,
) -> Iterator[State]:
    """Train y ≈ w·x + b and yield the state at epochs 0, every, 2·every, ... and always the
    last one: `iterations`, or the epoch where the run diverged (its state has diverged=True).
    `at`, if given, lists the epochs to yield instead of every's multiples (0 and the last
    epoch are always yielded).

    A run diverges when w, b or the loss stops being finite, or the loss grows past
    DIVERGENCE_FACTOR times its starting value. sgd shuffles with default_rng(seed).permutation
    once per epoch and updates on consecutive batches of batch_size rows (default 32)."""
    check(step_size, iterations, optimizer, every, batch_size, momentum)
    targets = schedule(iterations, every, at)
    prob = Problem(x, y, standardize)
    with np.errstate(all="ignore"):
        e0, start = prob.start(w0, b0)
        yield start
        if start.diverged:
            return
        if optimizer in optim.LINEAR:
            for epochs, block in jump(prob, optimizer, step_size, momentum, targets, e0):
                yield from _rows(prob, epochs, block)
        else:
            steps = (
                _adam_steps(prob, step_size, e0)
                if optimizer == "adam"
                else _sgd_steps(prob, step_size, e0, batch_size or 32, seed)
            )
            yield from _report(prob, steps, targets)


def schedule(iterations, every, at) -> list[int]:
    """The epochs after 0 that train yields unless the run diverges first."""
    iterations, every = int(iterations), int(every)
    if at is None:
        return list(range(every, iterations, every)) + [iterations] * (iterations > 0)
    return sorted({int(k) for k in at if 0 < k < iterations} | {iterations} - {0})


def check(step_size, iterations, optimizer, every, batch_size, momentum) -> None:
    """ValueError, saying which and why, for arguments train cannot run with."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    if not (math.isfinite(step_size) and step_size > 0):
        raise ValueError(f"step_size must be a positive number, not {step_size!r}")
    if int(iterations) != iterations or iterations < 0:
        raise ValueError(f"iterations must be a whole number >= 0, not {iterations!r}")
    if int(every) != every or every < 1:
        raise ValueError(f"every must be a whole number >= 1, not {every!r}")
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ValueError(f"batch_size must be a whole number >= 1, not {batch_size!r}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), not {momentum!r}")


def jump(prob, optimizer, step_size, beta, targets, e0) -> Iterator[tuple[np.ndarray, ...]]:
    """gd, momentum, nesterov: chunks (epochs, block) of the target epochs, block[k, d] being
    direction d's (ê, v) at epochs[k]. Each is computed straight from the start of its chunk: by
    doubling when they are equally spaced, else by optim.reach. If the run diverges, the last
    chunk ends at the first diverged epoch (a target or not)."""
    a = np.stack([optim.linear_update(optimizer, step_size, lam, beta) for lam in prob.lam])
    s = np.stack([prob.q.T @ np.array(e0), np.zeros(2)], axis=-1)  # (direction, (ê, v))
    epoch = 0
    for first in range(0, len(targets), _CHUNK):
        epochs = np.array(targets[first : first + _CHUNK], dtype=np.int64)
        gaps = np.diff(epochs, prepend=epoch)
        if (gaps == gaps[0]).all():  # every k epochs: step by A^k, doubling (optim.orbit)
            p = optim.power(a, int(gaps[0]))
            block = optim.orbit(p, np.einsum("dij,dj->di", p, s), len(epochs))
        else:
            block = optim.reach(a, s, epochs - epoch)
        bad = np.flatnonzero(_blown(prob, block))
        if bad.size:
            i = bad[0]
            yield epochs[:i], block[:i]
            before = (block[i - 1], int(epochs[i - 1])) if i else (s, epoch)
            span = int(epochs[i]) - before[1]
            yield _first_diverged(prob, a, *before, span) or (epochs[i : i + 1], block[i : i + 1])
            return
        yield epochs, block
        s, epoch = block[-1], int(epochs[-1])


def _errors(prob, block):
    """Training-coordinate errors (e_u, e_c) from the eigen-coordinates of a block."""
    e = block[..., 0] @ prob.q.T
    return e[:, 0], e[:, 1]


def _blown(prob, block):
    return prob.blown(*_errors(prob, block))


def _rows(prob, epochs, block) -> list[State]:
    return prob.states(epochs, *_errors(prob, block))


def _first_diverged(prob, a, s, epoch, span):
    """The first diverged epoch among the `span` epochs after `epoch`, stepping one at a time,
    and its block (None if none is)."""
    done = 0
    while done < span:
        n = min(_CHUNK, span - done)
        block = optim.orbit(a, np.einsum("dij,dj->di", a, s), n)
        bad = np.flatnonzero(_blown(prob, block))
        if bad.size:
            i = bad[0]
            return np.array([epoch + done + 1 + i]), block[i : i + 1]
        s, done = block[-1], done + n
    return None


def _report(prob, steps, targets) -> Iterator[State]:
    """Yield the states at the target epochs from the training-coordinate errors that `steps`
    makes, stopping at the first that diverges."""
    wanted = set(targets)
    for epoch, (eu, ec) in zip(range(1, (targets or [0])[-1] + 1), steps, strict=False):
        blown = not (prob.loss(eu, ec) <= prob.loss_limit and math.isfinite(eu + ec))
        if blown or epoch in wanted:
            state = prob.states(epoch, eu, ec)[0]
            yield state._replace(diverged=True) if blown else state
            if blown:
                return


def _adam_steps(prob, step_size, e) -> Iterator[tuple[float, float]]:
    eu, ec = e
    state = optim.adam_init()
    while True:
        (du, dc), state = optim.adam_update(prob.gradient(eu, ec), state, step_size)
        eu, ec = eu + du, ec + dc
        yield eu, ec


def _sgd_steps(prob, step_size, e, batch_size, seed) -> Iterator[tuple[float, float]]:
    """One shuffled pass per epoch. With r* the residual at the optimum, a batch B's gradient is
    (mean_B(z·r*) + mean_B(z²)·e_u + mean_B(z)·e_c,  mean_B(r*) + mean_B(z)·e_u + e_c)."""
    z = (prob.x - prob.m) / prob.s
    r_opt = prob.mom.fit.w * prob.x + prob.mom.fit.b - prob.y
    cols = np.stack([z * r_opt, z * z, z, r_opt])
    n = len(z)
    starts = np.arange(0, n, batch_size)
    sizes = np.diff(np.append(starts, n))
    rng = np.random.default_rng(seed)
    eu, ec = e
    while True:
        sums = np.add.reduceat(cols[:, rng.permutation(n)], starts, axis=1) / sizes
        for zr, zz, zm, rm in zip(*sums.tolist(), strict=True):
            gc = rm + zm * eu + ec
            gu = zr + zz * eu + zm * ec
            eu, ec = eu - step_size * gu, ec - step_size * gc
        yield eu, ec
