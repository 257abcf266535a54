"""The update rules, one small pure step each (g is the gradient, η the step size).

    gd:        θ ← θ − η·g
    momentum:  v ← β·v + g;            θ ← θ − η·v
    nesterov:  v ← β·v + g;            θ ← θ − η·(g + β·v)
    adam:      m ← β1·m + (1−β1)·g;    s ← β2·s + (1−β2)·g²;
               θ ← θ − η·m̂/(√ŝ + ε),   m̂ = m/(1−β1ᵗ), ŝ = s/(1−β2ᵗ)
    sgd:       θ ← θ − η·g_B for each mini-batch B of a shuffled pass

gd, momentum and nesterov on this quadratic loss are linear maps. Along an eigenvector of the
Hessian H (eigenvalue λ), with e the error θ − θ* and v the velocity in that direction,
one update is (e, v) ← A·(e, v), where g = λ·e and

    gd:        A = [[1 − ηλ, 0], [λ, 0]]             (v holds the last gradient)
    momentum:  A = [[1 − ηλ, −ηβ], [λ, β]]
    nesterov:  A = [[1 − ηλ(1+β), −ηβ²], [λ, β]]

so epoch k is A^k·(e0, v0): no need to step through the epochs in between.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

LINEAR = ("gd", "momentum", "nesterov")
WITH_MOMENTUM = ("momentum", "nesterov")  # the optimizers that read β (settings.momentum)
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


def linear_update(optimizer: str, step_size: float, lam: float, beta: float) -> np.ndarray:
    """A, the 2×2 map of (error, velocity) along one eigen-direction for one epoch."""
    eta = step_size
    if optimizer == "gd":
        return np.array([[1 - eta * lam, 0.0], [lam, 0.0]])
    if optimizer == "momentum":
        return np.array([[1 - eta * lam, -eta * beta], [lam, beta]])
    if optimizer == "nesterov":
        return np.array([[1 - eta * lam * (1 + beta), -eta * beta * beta], [lam, beta]])
    raise ValueError(f"{optimizer!r} is not a linear update rule")


def spectrum(a: np.ndarray) -> tuple[float, bool]:
    """ρ, the spectral radius of one 2×2 map A, and whether |(Aᵏ)₀₀| provably never grows with
    k (sweep.py's `dec`, the same expressions for one map): gd within its limit (a01 = 0,
    |a00| ≤ 1), or real eigenvalues 0 ≤ r2 ≤ r1 ≤ 1 with r1 ≥ a11 and (a11 ≥ r2 or a00 ≤ 1)."""
    (a00, a01), (a10, a11) = a.tolist()
    delta, trace = a00 - a11, a00 + a11
    det, disc = a00 * a11 - a01 * a10, delta * delta + 4 * a01 * a10
    if disc < 0:  # complex eigenvalues: (Aᵏ)₀₀ oscillates
        return math.sqrt(abs(det)), False
    root = math.sqrt(disc)
    rho = 0.5 * abs(trace) + 0.5 * root
    if a01 == 0:  # (Aᵏ)₀₀ = a00ᵏ
        return rho, abs(a00) <= 1
    r1 = 0.5 * trace + math.copysign(0.5 * root, trace)  # the eigenvalue of largest |r|
    r2 = det / r1 if r1 != 0 else 0.0
    return rho, 0 <= r2 <= r1 <= 1 and r1 >= a11 and (a11 >= r2 or a00 <= 1)


def power(a: np.ndarray, k: int) -> np.ndarray:
    """a^k for a stack of square matrices, by repeated squaring (about log2 k products)."""
    result = np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
    while k:
        if k & 1:
            result = result @ a
        k >>= 1
        if k:
            a = a @ a
    return result


def orbit(a: np.ndarray, s0: np.ndarray, count: int) -> np.ndarray:
    """[s0, a·s0, a²·s0, ..., a^(count−1)·s0] for a stack of matrices a (d, 2, 2) and states
    s0 (d, 2), by doubling: each state is at most log2(count) products away from s0."""
    out = np.empty((count,) + s0.shape)
    out[0] = s0
    filled, a_pow = 1, a
    while filled < count:
        take = min(filled, count - filled)
        out[filled : filled + take] = np.einsum("dij,tdj->tdi", a_pow, out[:take])
        filled += take
        a_pow = a_pow @ a_pow
    return out


def reach(a: np.ndarray, s0: np.ndarray, ks) -> np.ndarray:
    """[a^k·s0 for k in ks] for a stack of matrices a (d, 2, 2) and states s0 (d, 2), all at
    once: each state takes the squares a, a², a⁴, ... that its k's binary digits name, so it
    is at most log2(k) + 1 products away from s0, whatever the gaps between the ks."""
    ks = np.asarray(ks, dtype=np.int64)
    out = np.broadcast_to(s0, ks.shape + s0.shape).copy()
    while ks.any():
        take = (ks & 1).astype(bool)
        out[take] = np.einsum("dij,tdj->tdi", a, out[take])
        ks, a = ks >> 1, a @ a
    return out


class AdamState(NamedTuple):
    m: tuple[float, float]  # first moment of the gradient
    s: tuple[float, float]  # second moment of the gradient
    t: int  # updates so far


def adam_init() -> AdamState:
    return AdamState((0.0, 0.0), (0.0, 0.0), 0)


def adam_update(g: tuple[float, float], state: AdamState, step_size: float):
    """One adam update of the two parameters: returns (Δθ, new state)."""
    (gw, gb), (mw, mb), (sw, sb), t = g, state.m, state.s, state.t + 1
    mw, mb = ADAM_BETA1 * mw + (1 - ADAM_BETA1) * gw, ADAM_BETA1 * mb + (1 - ADAM_BETA1) * gb
    sw = ADAM_BETA2 * sw + (1 - ADAM_BETA2) * gw * gw
    sb = ADAM_BETA2 * sb + (1 - ADAM_BETA2) * gb * gb
    c1, c2 = 1 - ADAM_BETA1**t, 1 - ADAM_BETA2**t
    dw = -step_size * (mw / c1) / (math.sqrt(sw / c2) + ADAM_EPS)
    db = -step_size * (mb / c1) / (math.sqrt(sb / c2) + ADAM_EPS)
    return (dw, db), AdamState((mw, mb), (sw, sb), t)
