"""Datasets: the blog post's synthetic line, and checks that any (x, y) can be fitted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DataError(ValueError):
    """Data that cannot be fitted by a line; the message says what is wrong, for a person."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Paired samples x, y (1-D float64, read-only) and a short name for the page."""

    x: np.ndarray
    y: np.ndarray
    name: str = "data"

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, n={len(self.x)})"


LIMIT = 1e100  # |x|, |y| above this: squares and sums of squares could overflow float64


def as_dataset(x, y, name: str = "data") -> Dataset:
    """Check x, y and return them as a read-only Dataset (a view: no copy of float64 input), or
    raise DataError saying what is wrong and where (rows count from 1)."""
    x, y = (np.asarray(v, dtype=np.float64).reshape(-1).view() for v in (x, y))
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} values but y has {len(y)}")
    for label, v in (("x", x), ("y", y)):
        if len(v) and not (v.min() >= -LIMIT and v.max() <= LIMIT):  # NaN fails both
            row = int(np.flatnonzero(~(np.abs(v) <= LIMIT))[0])
            what = (
                "is not a finite number"
                if not np.isfinite(v[row])
                else f"is beyond ±{LIMIT:g} (squaring it would overflow)"
            )
            raise DataError(f"{label} at row {row + 1} ({float(v[row])}) {what}")
    if len(x) < 2 or x.min() == x.max():
        raise DataError(
            f"a line needs at least 2 distinct x values; this data has "
            f"{len(np.unique(x))} among {len(x)} rows"
        )
    x.setflags(write=False)
    y.setflags(write=False)
    return Dataset(x, y, name)


def make_data(
    *,
    n: int = 1000,
    slope: float = 50.0,
    intercept: float = 4000.0,
    noise: float = 300.0,
    x_max: float = 100.0,
    x_min: float = 0.0,
    seed: int = 0,
) -> Dataset:
    """The blog post's data: x = x_min, x_min + h, ... (n points, h = (x_max - x_min)/n, x_max
    excluded) and y = intercept + slope*x + N(0, noise), reproducible from seed."""
    if n < 2 or not x_max > x_min:
        raise DataError("make_data needs n >= 2 and x_max > x_min")
    x = x_min + np.arange(n) * ((x_max - x_min) / n)
    y = intercept + slope * x + np.random.default_rng(seed).normal(0.0, noise, n)
    return as_dataset(x, y, "generated")
