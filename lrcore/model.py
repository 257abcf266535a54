"""The model y ≈ w·x + b, its loss and gradient, and what the data alone decides.

    loss(w, b) = ½·mean((w·x + b − y)²)
    dw = mean((w·x + b − y)·x),   db = mean(w·x + b − y)

The loss is a quadratic in θ = (w, b). With θ* the least-squares optimum and e = θ − θ*,

    loss = loss* + ½·eᵀHe,   gradient = H·e,   H = [[mean x², mean x], [mean x, 1]].

Everything here is computed from centred data, so x far from zero (x ≈ 1e6, y ≈ 1e9) still gets
the right answer.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import NamedTuple

import numpy as np

from .data import DataError, as_dataset


class Fit(NamedTuple):
    """The least-squares line and how well it fits."""

    w: float  # slope
    b: float  # intercept
    loss: float  # ½·mean(residual²) at (w, b): the lowest loss any run can reach
    r2: float  # 1 − SS_res/SS_tot (1.0 when y is constant)
    rmse: float  # √mean(residual²)

    def __repr__(self) -> str:
        return f"Fit(w={self.w:.6g}, b={self.b:.6g}, loss={self.loss:.6g}, r2={self.r2:.4f})"


class Moments(NamedTuple):
    """What the loss depends on: x's mean and variance, and the optimum."""

    x_mean: float
    x_var: float  # mean((x − x_mean)²) > 0
    fit: Fit

    @property
    def hessian(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return hessian(self.x_mean, self.x_var)

    def gradient(self, ew: float, eb: float) -> tuple[float, float]:
        """(dw, db) = H·e for e = (w − w*, b − b*), written so x far from 0 loses no digits."""
        db = eb + self.x_mean * ew
        return self.x_var * ew + self.x_mean * db, db


def hessian(mean: float, var: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """H = [[mean x², mean x], [mean x, 1]] of feature values with this mean and variance."""
    return (var + mean * mean, mean), (mean, 1.0)


def moments(x, y) -> Moments:
    """The moments of (x, y) and the least-squares fit; DataError for data a line cannot fit."""
    data = as_dataset(x, y)
    n = len(data.x)
    x_mean, y_mean = float(data.x.sum()) / n, float(data.y.sum()) / n
    xc, yc = data.x - x_mean, data.y - y_mean
    x_var = float(xc @ xc) / n
    if not x_var > 0:  # distinct x so close together that the variance underflows to 0
        raise DataError(f"x varies too little (by {np.ptp(data.x):.3g}) for a line to be fitted")
    w = float(xc @ yc) / n / x_var
    b = y_mean - w * x_mean
    resid = np.multiply(xc, w)
    np.subtract(yc, resid, out=resid)
    mse = float(resid @ resid) / n
    y_var = float(yc @ yc) / n
    r2 = 1.0 - mse / y_var if y_var > 0 else 1.0
    return Moments(x_mean, x_var, Fit(w, b, 0.5 * mse, r2, math.sqrt(mse)))


def closed_form(x, y) -> Fit:
    """The least-squares optimum (w*, b*) with its loss, R² and RMSE."""
    return moments(x, y).fit


def eigen(h) -> tuple[tuple[float, float], tuple[tuple[float, float], tuple[float, float]]]:
    """Eigenvalues (largest first) and orthonormal eigenvectors (as columns) of a symmetric
    positive-definite 2×2 matrix. The small eigenvalue is det/λmax, which keeps its digits when
    H is badly conditioned."""
    (a, c), (_, d) = h
    lam_max = 0.5 * (a + d + math.hypot(a - d, 2.0 * c))
    lam_min = (a * d - c * c) / lam_max
    vx, vy = (lam_max - d, c) if a >= d else (c, lam_max - a)
    norm = math.hypot(vx, vy)
    if norm == 0.0:  # H is a multiple of the identity
        vx, vy, norm = 1.0, 0.0, 1.0
    vx, vy = vx / norm, vy / norm
    return (lam_max, lam_min), ((vx, -vy), (vy, vx))


def stable_step_size(x, y, optimizer: str = "gd", momentum=0.9, standardize: bool = False):
    """The largest step size η for which full-batch training converges on this data.

    gd: η < 2/λmax;  momentum: η < 2(1+β)/λmax;  nesterov: η < 2(1+β)/((1+2β)·λmax),
    with λmax the largest eigenvalue of H (H = I on standardized x). adam and sgd have no such
    sharp limit; for them the gd limit is returned as a guide. `momentum` may be an array of
    β (for momentum and nesterov the limits are then an array: one pass over the data)."""
    mom = moments(x, y)
    lam_max = 1.0 if standardize else eigen(mom.hessian)[0][0]
    beta = momentum if isinstance(momentum, (int, float)) else np.asarray(momentum, np.float64)
    factor = {"momentum": 2 * (1 + beta), "nesterov": 2 * (1 + beta) / (1 + 2 * beta)}
    return factor.get(optimizer, 2.0) / lam_max


def rounded_step(eta: float, limit: float | None = None, digits: int = 3) -> float:
    """η as the page shows and sets it: `digits` significant digits, on the same side of the
    stability `limit` as η itself. Below the limit η is rounded down, to more digits where
    `digits` (or the 4 the page writes the limit with) would read as the limit: under a limit of
    5.1012e-15, 5.1009e-15 becomes 5.1e-15 (5.100, not 5.10: the limit to 3 digits). At or
    above the limit η is rounded up."""
    if not (math.isfinite(eta) and eta > 0):
        return eta
    if limit is None or not math.isfinite(limit):
        return float(f"{eta:.{digits}g}")
    if eta >= limit:  # a diverging step stays one
        return _to_digits(eta, digits, ROUND_CEILING)
    shown = float(f"{limit:.4g}")  # the limit as the page writes it
    for d in range(digits, 17):
        step = _to_digits(eta, d, ROUND_FLOOR)  # ≤ η < limit
        if step not in (float(f"{limit:.{d}g}"), shown):
            return step
    return _to_digits(eta, 17, ROUND_FLOOR)


def _to_digits(v: float, digits: int, rounding: str) -> float:
    """v's shortest decimal (repr: the digits people see) rounded down (ROUND_FLOOR) or up to
    `digits` significant digits. float() keeps the order: down stays ≤ v, up stays ≥ v."""
    shown = Decimal(repr(float(v)))
    return float(shown.quantize(Decimal(1).scaleb(shown.adjusted() - digits + 1), rounding))


def condition_number(x, standardize: bool = False) -> float:
    """λmax/λmin of H: how much slower the slowest direction converges than the fastest."""
    if standardize:
        return 1.0
    x = np.asarray(x, dtype=np.float64)
    x_mean = float(np.mean(x))
    x_var = float(np.mean((x - x_mean) ** 2))
    lam_max, lam_min = eigen(hessian(x_mean, x_var))[0]
    return lam_max / lam_min
