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


def as_dataset(x, y, name: str = "data") -> Dataset:
    """Check x, y and return them as a read-only Dataset, or raise DataError saying why not."""
    x = np.array(x, dtype=np.float64).ravel()
    y = np.array(y, dtype=np.float64).ravel()
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} values but y has {len(y)}")
    for label, v in (("x", x), ("y", y)):
        bad = np.flatnonzero(~np.isfinite(v))
        if len(bad):
            raise DataError(f"{label} is not finite at row {bad[0] + 1} ({v[bad[0]]!r})")
    if len(np.unique(x)) < 2:
        raise DataError(f"a line needs at least 2 distinct x values; this data has "
                        f"{len(np.unique(x))} among {len(x)} rows")
    x.setflags(write=False)
    y.setflags(write=False)
    return Dataset(x, y, name)


def make_data(*, n: int = 1000, slope: float = 50.0, intercept: float = 4000.0,
              noise: float = 300.0, x_max: float = 100.0, x_min: float = 0.0,
              seed: int = 0) -> Dataset:
    """The blog post's data: x = x_min, x_min + h, ... (n points, h = (x_max - x_min)/n, x_max
    excluded) and y = intercept + slope*x + N(0, noise), reproducible from seed."""
    if n < 2 or not x_max > x_min:
        raise DataError("make_data needs n >= 2 and x_max > x_min")
    x = x_min + np.arange(n) * ((x_max - x_min) / n)
    y = intercept + slope * x + np.random.default_rng(seed).normal(0.0, noise, n)
    return as_dataset(x, y, "generated")
