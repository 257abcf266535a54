"""sweep(): a whole grid of runs at once, for a step-size curve or a (momentum × step size) map.

For every momentum β (a row) and step size η (a column) it gives what the run ends with: its
loss, the first epoch within 1% of the optimum, the rate ρ and whether it diverged.

gd, momentum and nesterov are not simulated. Along eigen-direction d of the Hessian (eigenvalue
λ_d) an epoch multiplies (error, velocity) by the 2×2 map A_d (optim.py), and a run starts at
(ê_d, 0), so after k epochs the error along d is a_d(k)·ê_d with a_d(k) = (A_d^k)₀₀, and

    loss(k)     = loss* + ½·Σ_d λ_d·ê_d²·a_d(k)²
    θ_k − θ*    = Σ_d a_d(k)·ê_d·m_d          (m_d: direction d in data units, θ = (w, b))
    ρ           = max_d ρ(A_d)                (ρ(A): A's largest |eigenvalue|)

The powers A^(2^j) are squared once for the whole grid, and A^k is the product of the powers
that k's binary digits name (as train does), so any epoch costs log2(k) products.

A first epoch (the first within 1%, the first diverged) is found exactly, for all points at once:
  1. a bound on the distance (or the loss) that moves only one way as k grows gives, by binary
     search over the powers, the last epoch before which it has certainly not happened;
  2. from there every epoch is checked, in blocks of epochs, until it happens or the run ends.
For gd on raw x the bound is the distance itself, so step 2 checks one or two epochs. A
direction that oscillates (momentum past critical damping) cannot bound the distance from below,
so its epochs are checked one by one until the distance first dips within 1%.
adam and sgd are not linear: each point is a train() run.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from . import optim
from .train import DIVERGENCE_FACTOR, OPTIMIZERS, Problem, train

MARGIN = 1e-6  # bounds are loosened by this (relative), so rounding cannot make them cross late
_CHUNK = 16_384  # grid points worked on at once
_BLOCK = 1 << 19  # numbers in one block of checked epochs (epochs × directions × points)


class Sweep(NamedTuple):
    """A grid of runs: row i is momenta[i], column j is step_sizes[j]."""

    step_sizes: np.ndarray  # the step sizes η, one per column
    momenta: np.ndarray  # the momenta β, one per row (train's default 0.9 when none were given)
    loss: np.ndarray  # the loss of the run's last state: epoch `iterations`, or where it diverged
    epochs: np.ndarray  # the first epoch with ‖θ_k − θ*‖ ≤ 1% of ‖θ_0 − θ*‖ (inf: none in the run)
    rate: np.ndarray  # ρ: the error's factor per epoch in the long run (nan for adam and sgd)
    diverged: np.ndarray  # bool: the run diverged, as train flags it


def sweep(
    x,
    y,
    *,
    step_sizes,
    iterations: int,
    optimizer: str = "gd",
    momenta=None,
    w0: float = 0.0,
    b0: float = 0.0,
    standardize: bool = False,
    batch_size: int | None = None,
    seed: int = 0,
) -> Sweep:
    """Train y ≈ w·x + b once for every (momentum, step size) pair and return, for each, what
    train(x, y, step_size=η, momentum=β, iterations=iterations, ...) ends with (see Sweep).
    Without momenta there is one row, at train's default momentum 0.9 (which only momentum and
    nesterov use). Step sizes must be positive and finite, momenta in [0, 1)."""
    eta, beta = _grid(step_sizes, momenta)
    iterations = _whole(iterations, "iterations", 0)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    if batch_size is not None:
        _whole(batch_size, "batch_size", 1)
    prob = Problem(x, y, standardize)
    shape = (len(beta), len(eta))
    if optimizer in optim.LINEAR:
        with np.errstate(all="ignore"):
            cols = _linear(
                prob,
                optimizer,
                np.tile(eta, len(beta)),
                np.repeat(beta, len(eta)),
                iterations,
                w0,
                b0,
            )
    else:
        run = {
            "x": x,
            "y": y,
            "iterations": iterations,
            "optimizer": optimizer,
            "w0": w0,
            "b0": b0,
            "standardize": standardize,
            "batch_size": batch_size,
            "seed": seed,
        }
        cols = _simulated(prob, eta, len(beta), run)
    loss, epochs, rate, diverged = (c.reshape(shape) for c in cols)
    return Sweep(eta, beta, loss, epochs, rate, diverged.astype(bool))


def _grid(step_sizes, momenta) -> tuple[np.ndarray, np.ndarray]:
    eta = _numbers(step_sizes, "step_sizes")
    bad = ~(np.isfinite(eta) & (eta > 0))
    if bad.any():
        raise ValueError(f"step sizes must be positive numbers, not {eta[bad][0]!r}")
    if momenta is None:
        return eta, np.array([0.9])
    beta = _numbers(momenta, "momenta")
    bad = ~((beta >= 0) & (beta < 1))
    if bad.any():
        raise ValueError(f"momenta must be in [0, 1), not {beta[bad][0]!r}")
    return eta, beta


def _numbers(values, name: str) -> np.ndarray:
    try:
        out = np.atleast_1d(np.array(values, dtype=np.float64))  # a copy: the caller keeps theirs
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers, not {values!r}") from None
    if out.ndim != 1 or out.size == 0:
        raise ValueError(f"{name} must be a non-empty list of numbers, not shape {out.shape}")
    return out


def _whole(value, name: str, least: int) -> int:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value == int(value) and value >= least):
        raise ValueError(f"{name} must be a whole number >= {least}, not {value!r}")
    return int(value)


# --- adam and sgd: one train() run per point -------------------------------------------------


def _simulated(prob, eta, rows, run) -> tuple[np.ndarray, ...]:
    """adam and sgd do not use the momentum: each step size is run once and fills its column."""
    fit = prob.mom.fit
    out = np.empty((4, len(eta)))
    for j, step in enumerate(eta.tolist()):
        radius, epochs, last = None, math.inf, None
        for last in train(step_size=step, every=1, **run):
            dist = math.hypot(last.w - fit.w, last.b - fit.b)
            radius = 0.01 * dist if radius is None else radius
            if epochs == math.inf and dist <= radius and not last.diverged:
                epochs = last.epoch
        out[:, j] = last.loss, epochs, math.nan, last.diverged
    return tuple(np.tile(col, rows) for col in out)


# --- gd, momentum, nesterov: the whole grid from the maps A ----------------------------------


def _linear(prob, optimizer, eta, beta, iterations, w0, b0) -> tuple[np.ndarray, ...]:
    start = _Start(prob, w0, b0)
    parts = [
        _Chunk(optimizer, eta[i : i + _CHUNK], beta[i : i + _CHUNK], start, iterations).result()
        for i in range(0, len(eta), _CHUNK)
    ]
    return tuple(np.concatenate(col) for col in zip(*parts, strict=True))


class _Start:
    """What the grid's runs share: the data (prob), the start's errors ê along the directions,
    and the two thresholds: the loss limit (DIVERGENCE_FACTOR × the starting loss, as train) and
    the radius (1% of the starting distance to θ*, as explain.epochs_to_1pct).

    With M the map from eigen-coordinates to data units (columns m_d), the squared distance is
    D = ‖M·(a∘ê)‖². Two lower bounds serve step 1 (see _Chunk.epochs_from):
        D ≥ g·Σ_d ê_d²·a_d²       (g the smallest eigenvalue of MᵀM; MᵀM = I on raw x)
        D ≥ (n·(θ_k − θ*))² = (Σ_d ω_d·a_d)²,  n = (θ_0 − θ*)/‖θ_0 − θ*‖, ω_d = ê_d·(n·m_d)."""

    def __init__(self, prob, w0, b0):
        self.prob, fit = prob, prob.mom.fit
        eu, ec = prob.to_train(w0 - fit.w, b0 - fit.b)
        self.e_hat = prob.q.T @ np.array([eu, ec], dtype=np.float64)  # ê per direction
        self.loss0 = float(prob.loss(eu, ec))
        self.limit = DIVERGENCE_FACTOR * self.loss0 if self.loss0 > 0 else math.inf
        ew, eb = self.data_units(eu, ec)
        dist0 = float(np.hypot(ew, eb))
        self.radius = 0.01 * dist0
        self.blown = not (np.isfinite([ew, eb, self.loss0]).all() and self.loss0 <= self.limit)
        m = np.array([self.data_units(*prob.q[:, d]) for d in range(2)]).T  # columns m_d
        self.g = float(np.linalg.eigvalsh(m.T @ m)[0])
        n = np.array([ew, eb]) / dist0 if dist0 > 0 else np.zeros(2)
        self.omega = self.e_hat * (n @ m)

    def data_units(self, eu, ec):
        """(e_u, e_c) in training coordinates to (w − w*, b − b*), as Problem.states."""
        p = self.prob
        return eu / p.s, ec - eu * (p.m / p.s)

    def errors(self, a):
        """Training-coordinate errors (e_u, e_c) from a_d(k) (axis −2 is the direction)."""
        q, e1, e2 = self.prob.q, self.e_hat[0] * a[..., 0, :], self.e_hat[1] * a[..., 1, :]
        return e1 * q[0, 0] + e2 * q[0, 1], e1 * q[1, 0] + e2 * q[1, 1]

    def inside(self, a):
        """Within 1% of the optimum: ‖θ_k − θ*‖ ≤ radius (a: a_d(k), direction on axis −2)."""
        return np.hypot(*self.data_units(*self.errors(a))) <= self.radius

    def blowing(self, a):
        """train's divergence rule: w, b or the loss not finite, or the loss past the limit."""
        eu, ec = self.errors(a)
        ew, eb = self.data_units(eu, ec)
        loss = self.prob.loss(eu, ec)
        return ~(np.isfinite(ew + eb) & np.isfinite(loss) & (loss <= self.limit))


class _Chunk:
    """Up to _CHUNK grid points: the maps A (arrays of shape (direction, point)), their powers
    and the bounds on a_d(k) = (A_d^k)₀₀ that the searches need.

    With eigenvalues r1, r2 (|r1| = ρ ≥ |r2|) and δ = a00 − a11, disc = δ² + 4·a01·a10 = (r1 − r2)²,
        a(k) = u·r1^k + v·r2^k,   u = (r1 − a11)/(r1 − r2),   v = (a11 − r2)/(r1 − r2),
    so |a(k)| ≤ C·ρ^k with C = |u| + |v| = max(|δ|, √disc)/√disc (real) or √(δ² − disc)/√−disc
    (complex); and, as a(k) = p_{k+1} − a11·p_k with p_k = Σ_{i<k} r1^i·r2^(k−1−i) and so
    |p_k| ≤ k·ρ^(k−1),     |a(k)| ≤ J(k) = ρ^k·(k + 1 + |a11|·k/ρ),
    which stays finite where the eigenvalues meet (critical damping, C = inf).
    A direction is `dec` when |a(k)| provably never grows: a01 = 0 (gd: a(k) = a00^k, |a00| ≤ 1),
    or real eigenvalues 0 ≤ r2 ≤ r1 ≤ 1 with u ≥ 0 and (v ≥ 0 or a00 ≤ 1) (overdamped momentum:
    then a(k) ≥ r1^k ≥ 0 and a(k) − a(k+1) ≥ 0, its value at k = 0 being 1 − a00). `sign` is then
    the sign pattern of a(k): +1 (a ≥ 0) or −1 (gd with a00 < 0: (−1)^k); 0 for the others."""

    def __init__(self, optimizer, eta, beta, start, iterations):
        self.start, self.n, self.iterations = start, len(eta), iterations
        lam, eta, beta = start.prob.lam[:, None], eta[None, :], beta[None, :]
        zero = np.zeros((2, self.n))
        if optimizer == "gd":  # the same expressions as optim.linear_update, so the same bits
            a = (1 - eta * lam, zero, lam + zero, zero)
        elif optimizer == "momentum":
            a = (1 - eta * lam, -eta * beta + zero, lam + zero, beta + zero)
        else:
            a = (1 - eta * lam * (1 + beta), -eta * beta * beta + zero, lam + zero, beta + zero)
        self.powers = [a]  # A^(2^j), j = 0, 1, ... while 2^j ≤ iterations
        while 1 << len(self.powers) <= iterations:
            self.powers.append(_square(self.powers[-1]))
        self._spectrum(*a)

    def _spectrum(self, a00, a01, a10, a11):
        delta, trace = a00 - a11, a00 + a11
        det, disc = a00 * a11 - a01 * a10, delta * delta + 4 * a01 * a10
        root, real = np.sqrt(np.abs(disc)), disc >= 0
        self.rho = np.where(real, 0.5 * np.abs(trace) + 0.5 * root, np.sqrt(np.abs(det)))
        r1 = 0.5 * trace + np.copysign(0.5 * root, trace)  # the real eigenvalue of largest |r|
        r2 = np.where(r1 != 0, det / np.where(r1 != 0, r1, 1), 0.0)
        top = np.where(real, np.maximum(np.abs(delta), root), np.hypot(delta, root))
        self.c = np.where(root > 0, top / np.where(root > 0, root, 1), np.inf)
        self.a11 = np.abs(a11)
        tri = a01 == 0
        over = real & (r2 >= 0) & (r1 >= r2) & (r1 <= 1) & (r1 >= a11) & ((a11 >= r2) | (a00 <= 1))
        self.dec = np.where(tri, np.abs(a00) <= 1, over)
        self.sign = np.where(self.dec, np.where(tri & (a00 < 0), -1, 1), 0)
        self.grows = tri & (np.abs(a00) > 1)  # gd past its limit: |a(k)| = |a00|^k ≥ 1
        self.log_a00, self.log_rho = np.log(np.abs(a00)), np.log(self.rho)
        peak = np.maximum(0.0, -1 / self.log_rho - self.rho / (self.rho + self.a11))
        calm = np.where(self.rho < 1, np.minimum(self.c, self._jordan(peak)), self.c)
        calm = np.where(self.rho == 0, np.maximum(1, np.abs(a00)), calm)  # then A² = 0
        self.calm = np.where(self.dec, 1.0, calm)  # ≥ |a(k)| for all k, where ρ ≤ 1
        self.climbs = ~self.dec & ((self.rho > 1) | self.grows)

    def _jordan(self, k):
        """J(k) = ρ^k·(k + 1 + |a11|·k/ρ) ≥ |a(k)|; J(0) = 1."""
        rho = np.where(self.rho > 0, self.rho, 1)
        return self.rho**k * (k + 1 + np.where(k > 0, self.a11 * k / rho, 0))

    def _take(self, cols, levels=None) -> _Chunk:
        """The same for the grid points `cols` only (and only the first `levels` powers)."""
        part = object.__new__(_Chunk)
        part.start, part.n, part.iterations = self.start, len(cols), self.iterations
        part.powers = [tuple(v.take(cols, axis=1) for v in p) for p in self.powers[:levels]]
        for name in (
            "rho",
            "c",
            "a11",
            "dec",
            "sign",
            "grows",
            "log_a00",
            "log_rho",
            "calm",
            "climbs",
        ):
            setattr(part, name, getattr(self, name).take(cols, axis=1))
        return part

    def result(self):
        s, k_end = self.start, np.full(self.n, self.iterations)
        if s.blown:  # train stops at epoch 0: its start is already diverged
            return (
                np.full(self.n, s.loss0),
                np.full(self.n, math.inf),
                self.rho.max(0),
                np.ones(self.n, bool),
            )
        div, a_div = self.diverged_at()
        a = np.where(div >= 0, a_div, self.reach(k_end)[0])  # a_d at the run's last epoch
        epochs = self.epochs_from(np.where(div >= 0, div - 1, k_end), a)
        return s.prob.loss(*s.errors(a)), epochs, self.rho.max(0), div >= 0

    # --- states ---------------------------------------------------------------------------

    def reach(self, k):
        """A^k·(1, 0) for each point's own k: (a_d(k), velocity part), each (direction, point)."""
        y = (np.ones((2, self.n)), np.zeros((2, self.n)))
        for j, p in enumerate(self.powers):
            bit = ((k >> j) & 1).astype(bool)
            if bit.all():
                y = _apply(p, y)
            elif bit.any():
                y = _where(bit, _apply(p, y), y)
        return y

    def scan(self, y, first, last, event):
        """The first epoch in (first, last] at which event(a) holds (−1 if none) and a_d there,
        checking every epoch: blocks of epochs grown from y, the state at `first`, by doubling
        (as optim.orbit)."""
        found, first, y = np.full(self.n, -1), first.copy(), tuple(v.copy() for v in y)
        there = np.full((2, self.n), np.nan)
        todo, size = np.flatnonzero(first < last), 4
        while todo.size:
            left = last[todo] - first[todo]
            span = int(min(size, left.max(), max(1, _BLOCK // (4 * todo.size))))
            part = self if todo.size == self.n else self._take(todo, span.bit_length())
            block = part._orbit(tuple(v.take(todo, axis=1) for v in y), span)
            hit = event(block[0]) & (np.arange(1, span + 1)[:, None] <= left)
            got = hit.any(0)
            at, cols = hit.argmax(0)[got], np.flatnonzero(got)
            found[todo[got]] = first[todo[got]] + 1 + at
            there[:, todo[got]] = block[0][at, :, cols].T
            more = ~got & (left > span)
            for v, b in zip(y, block, strict=True):
                v[:, todo[more]] = b[-1][:, more]
            first[todo[more]] += span
            todo, size = todo[more], size * 4
        return found, there

    def _orbit(self, y, span):
        """[A·y, A²·y, ..., A^span·y], each state at most log2(span) + 1 products from y."""
        out = tuple(np.empty((span,) + v.shape) for v in y)
        out[0][0], out[1][0] = _apply(self.powers[0], y)
        filled = 1
        while filled < span:
            take = min(filled, span - filled)
            p = self.powers[filled.bit_length() - 1]  # A^filled: filled is a power of 2
            out[0][filled : filled + take], out[1][filled : filled + take] = _apply(
                p, (out[0][:take], out[1][:take])
            )
            filled += take
        return out

    # --- divergence ---------------------------------------------------------------------------

    def diverged_at(self) -> tuple[np.ndarray, np.ndarray]:
        """The first diverged epoch (−1: none) and a_d there. Until it, the loss stays under
        loss* + ½·Σ_d λ_d·ê_d²·U_d(k)² (U_d ≥ |a_d(j)| for every j ≤ k, see _growth), a bound
        that only grows with k: binary search finds the last epoch it is under the limit; from
        there every epoch is checked."""
        s, k_max = self.start, np.full(self.n, self.iterations)
        out, there = np.full(self.n, -1), np.full((2, self.n), np.nan)
        need = np.flatnonzero(~self._calm_until(k_max))
        if need.size:
            part, k = self._take(need), np.zeros(len(need), dtype=np.int64)
            for j in reversed(range(len(self.powers))):
                cand = k + (1 << j)
                k = np.where((cand <= self.iterations) & part._calm_until(cand), cand, k)
            out[need], there[:, need] = part.scan(part.reach(k), k, k_max[need], s.blowing)
        return out, there

    def _calm_until(self, k):
        """Whether the loss's bound stays finite and within the limit up to epoch k (False
        where the bound overflows or is nan: then it cannot tell)."""
        s = self.start
        u = self._growth(k)
        weight = 0.5 * s.prob.lam * s.e_hat**2
        bound = (s.prob.mom.fit.loss + weight @ (u * u)) * (1 + MARGIN)
        return np.isfinite(bound) & (bound <= s.limit)

    def _growth(self, k):
        """U(k) ≥ |a(j)| for every j ≤ k, growing with k: 1 for a `dec` direction; |a00|^k for
        gd past its limit; min(C·ρ^k, J(k)) when ρ > 1; else sup_k min(C, J) (`calm`: J peaks
        where d/dk log J = 0, at k = 1/(−log ρ) − ρ/(ρ + |a11|))."""
        if not self.climbs.any():
            return self.calm
        k = np.broadcast_to(k, (2, self.n)).astype(np.float64)
        power = np.exp(k * self.log_rho)
        jordan = power * (k + 1 + self.a11 * k / self.rho)
        big = np.where(self.grows, np.exp(k * self.log_a00), np.minimum(self.c * power, jordan))
        return np.where(self.climbs, big, self.calm)

    # --- epochs to 1% -------------------------------------------------------------------------

    def epochs_from(self, k_max, a_last) -> np.ndarray:
        """The first epoch ≤ k_max within 1% of the optimum (inf if none; 0 if θ_0 = θ*), given
        a_d at the run's last epoch (k_max, or k_max + 1 where the run diverged).

        Until that epoch a lower bound on the distance², the larger of g·Σ_d ê_d²·ã_d(k)² and
        (Σ_d ω_d·|a_d(k)|)² (see _Start), is outside too: ã_d = a_d for a `dec` direction, 1 for
        gd past its limit and 0 for an oscillating one (which can pass through 0); the second
        only when every direction is `dec` with the same sign pattern and ω_d ≥ 0. It only falls
        as k grows: a point still outside at its last epoch never gets within 1%; for the others
        binary search finds the last epoch it is outside, and from there every epoch is checked."""
        s = self.start
        if s.radius == 0:
            return np.zeros(self.n)
        outside = self._outside()
        out = np.full(self.n, np.inf)
        maybe = np.flatnonzero(~outside(a_last))
        if not maybe.size:
            return out
        part, k_max = self._take(maybe), k_max[maybe]
        outside = part._outside()
        k = np.zeros(part.n, dtype=np.int64)
        y = (np.ones((2, part.n)), np.zeros((2, part.n)))
        for j in reversed(range(len(part.powers))):
            cand = k + (1 << j)
            yc = _apply(part.powers[j], y)
            ok = (cand <= k_max) & outside(yc[0])
            k, y = np.where(ok, cand, k), _where(ok, yc, y)
        found = part.scan(y, k, k_max, s.inside)[0]
        out[maybe] = np.where(found >= 0, found, np.inf)
        return out

    def _outside(self):
        """outside(a): whether the lower bound on the distance² (see epochs_from) is still
        beyond the radius², for a_d(k) of every point."""
        s = self.start
        w1 = s.g * s.e_hat[:, None] ** 2 * self.dec * (1 - MARGIN)
        w0 = (s.g * s.e_hat[:, None] ** 2 * self.grows).sum(0) * (1 - MARGIN)
        live = s.e_hat[:, None] != 0  # a direction the start has no error along does not count
        sign = np.where(live, self.sign, 0)
        same = ((sign != 0) | ~live).all(0) & ((sign[0] == sign[1]) | ~live.all(0))
        w2 = np.where(same & (s.omega >= 0).all(), s.omega[:, None], 0) * math.sqrt(1 - MARGIN)
        r2 = s.radius**2

        def outside(a):
            w1a = np.where(w1 > 0, w1 * a * a, 0)  # 0, not nan, where a direction blew up
            return np.maximum(w1a.sum(0) + w0, (w2 * np.abs(a)).sum(0) ** 2) > r2

        return outside


def _square(p):
    """[[a, b], [c, d]]² = [[a² + bc, b(a + d)], [c(a + d), d² + bc]], elementwise."""
    a, b, c, d = p
    t, bc = a + d, b * c
    return a * a + bc, b * t, c * t, d * d + bc


def _apply(p, y):
    """p·y for 2×2 matrices p = (p00, p01, p10, p11) and vectors y = (y0, y1), elementwise."""
    return p[0] * y[0] + p[1] * y[1], p[2] * y[0] + p[3] * y[1]


def _where(mask, new, old):
    return tuple(np.where(mask, n, o) for n, o in zip(new, old, strict=True))
