"""The built-in datasets: each one small, reproducible from its seed, and chosen to teach one
thing about fitting a line by gradient descent.

    >>> from lrcore.datasets import BUILTINS, load_builtin
    >>> data = load_builtin("anscombe_2")
    >>> BUILTINS["anscombe_2"].lesson
    'A smooth curve: the same line and r as the other three, yet the wrong shape.'

The generated datasets share the blog post's line y = 4000 + 50x with x = 0, 0.1, ..., 99.9 at
n = 1000 (x spans [0, 100) in n equal steps), N(0, noise) scatter from default_rng(seed), and
then bend it one way each. Anscombe's quartet is fixed: his published values (Anscombe 1973,
"Graphs in Statistical Analysis", The American Statistician 27(1), 17-21).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from .data import DataError, Dataset, as_dataset, make_data

GENERATED = ("n", "noise", "seed")  # what load_builtin's generated datasets listen to
BLOG = GENERATED + ("slope", "intercept", "x_min", "x_max")  # make_data's own knobs too
LINE_SLOPE, LINE_INTERCEPT, LINE_X_SPAN = 50.0, 4000.0, 100.0  # the blog post's line


@dataclass(frozen=True)
class Builtin:
    """One built-in dataset: what the page calls it, what it teaches and how to make it."""

    title: str  # a few words for the dataset picker
    lesson: str  # one sentence: what this data shows
    make: Callable[..., Dataset]  # keyword arguments: exactly the names in params
    params: tuple[str, ...] = ()  # which of load_builtin's settings change the data; () = fixed

    @property
    def fixed(self) -> bool:
        """True when the data is always the same points (n, noise and seed do nothing)."""
        return not self.params


# Anscombe's quartet as published: x is shared by the first three sets.
_ANSCOMBE_X = (10.0, 8.0, 13.0, 9.0, 11.0, 14.0, 6.0, 4.0, 12.0, 7.0, 5.0)
ANSCOMBE = {
    "anscombe_1": (
        _ANSCOMBE_X,
        (8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68),
    ),
    "anscombe_2": (_ANSCOMBE_X, (9.14, 8.14, 8.74, 8.77, 9.26, 8.10, 6.13, 3.10, 9.13, 7.26, 4.74)),
    "anscombe_3": (
        _ANSCOMBE_X,
        (7.46, 6.77, 12.74, 7.11, 7.81, 8.84, 6.08, 5.39, 8.15, 6.42, 5.73),
    ),
    "anscombe_4": (
        (8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 19.0, 8.0, 8.0, 8.0),
        (6.58, 5.76, 7.71, 8.84, 8.47, 7.04, 5.25, 12.50, 5.56, 7.91, 6.89),
    ),
}


def _line(n: int, noise: float, rng: np.random.Generator, x_min: float = 0.0):
    """x = x_min + [0, 100) in n equal steps, and the blog's line over x − x_min plus noise."""
    x = x_min + np.arange(n) * (LINE_X_SPAN / n)
    y = LINE_INTERCEPT + LINE_SLOPE * (x - x_min) + rng.normal(0.0, noise, n)
    return x, y


def _outliers(*, n: int, noise: float, seed: int) -> Dataset:
    """The blog's line with 2% of the points (at least one) dragged 4000 to 6000 below it,
    all among the largest x, where they have the most leverage on the slope."""
    rng = np.random.default_rng(seed)
    x, y = _line(n, noise, rng)
    count = max(1, n // 50)
    rows = rng.choice(np.arange(n - max(count, n // 5), n), size=count, replace=False)
    y[rows] -= rng.uniform(4000.0, 6000.0, count)
    return as_dataset(x, y, "outliers")


def _heteroscedastic(*, n: int, noise: float, seed: int) -> Dataset:
    """The blog's line with noise whose standard deviation grows from 0 at x = 0 to
    2·noise at x = 100 (noise on average)."""
    rng = np.random.default_rng(seed)
    x, _ = _line(n, 0.0, rng)
    spread = noise * 2.0 * x / LINE_X_SPAN
    y = LINE_INTERCEPT + LINE_SLOPE * x + rng.normal(0.0, 1.0, n) * spread
    return as_dataset(x, y, "heteroscedastic")


def _curve(*, n: int, noise: float, seed: int) -> Dataset:
    """y = 4000 + x²/2 plus noise: the blog's y range (4000 to 9000), but bent."""
    rng = np.random.default_rng(seed)
    x, _ = _line(n, 0.0, rng)
    y = LINE_INTERCEPT + 0.5 * x * x + rng.normal(0.0, noise, n)
    return as_dataset(x, y, "curve")


def _far_x(*, n: int, noise: float, seed: int) -> Dataset:
    """The blog's data moved to x = 1000 ... 1100 (same y): y = 4000 + 50(x − 1000) + noise."""
    x, y = _line(n, noise, np.random.default_rng(seed), x_min=1000.0)
    return as_dataset(x, y, "far_x")


def _blog(**settings) -> Dataset:
    return dataclasses.replace(make_data(**settings), name="blog")


_QUARTET = (
    "Anscombe's quartet, {}: four sets of 11 points that share y ≈ 3.00 + 0.500x and r ≈ 0.816. {}"
)
BUILTINS: dict[str, Builtin] = {
    "blog": Builtin(
        "Blog post line",
        "The blog post's data, y = 4000 + 50x plus noise: the intercept takes gradient "
        "descent tens of thousands of epochs.",
        _blog,
        BLOG,
    ),
    "anscombe_1": Builtin(
        "Anscombe I: a noisy line",
        "A plain noisy line: here the fitted line is a fair summary.",
        partial(as_dataset, *ANSCOMBE["anscombe_1"], name="anscombe_1"),
    ),
    "anscombe_2": Builtin(
        "Anscombe II: a curve",
        "A smooth curve: the same line and r as the other three, yet the wrong shape.",
        partial(as_dataset, *ANSCOMBE["anscombe_2"], name="anscombe_2"),
    ),
    "anscombe_3": Builtin(
        "Anscombe III: one outlier",
        "A perfect line but for one point, which tilts the least-squares fit.",
        partial(as_dataset, *ANSCOMBE["anscombe_3"], name="anscombe_3"),
    ),
    "anscombe_4": Builtin(
        "Anscombe IV: one point decides",
        "Ten points share x = 8; the one point at x = 19 alone decides the slope.",
        partial(as_dataset, *ANSCOMBE["anscombe_4"], name="anscombe_4"),
    ),
    "outliers": Builtin(
        "A few gross outliers",
        "Squaring the errors lets a handful of far-off points pull the whole line.",
        _outliers,
        GENERATED,
    ),
    "heteroscedastic": Builtin(
        "Noise that grows with x",
        "The line is still right on average, but its errors are small on the left and "
        "large on the right.",
        _heteroscedastic,
        GENERATED,
    ),
    "curve": Builtin(
        "A curve",
        "A straight line follows the trend, but its errors bend in a U: the model is wrong, "
        "not the optimizer.",
        _curve,
        GENERATED,
    ),
    "far_x": Builtin(
        "x far from zero",
        "x from 1000 to 1100 makes the loss a long narrow valley: raw gradient descent "
        "crawls, and standardizing x fixes it.",
        _far_x,
        GENERATED,
    ),
}


def load_builtin(
    name: str,
    *,
    n: int = 1000,
    noise: float = 300.0,
    seed: int = 0,
    slope: float = 50.0,
    intercept: float = 4000.0,
    x_min: float = 0.0,
    x_max: float = 100.0,
) -> Dataset:
    """The built-in dataset `name`, made with the settings it listens to (its `params`); the
    others are ignored. DataError for an unknown name, n < 2, a negative noise or seed."""
    if name not in BUILTINS:
        raise DataError(
            f"there is no built-in dataset {name!r}; choose one of {', '.join(BUILTINS)}"
        )
    if int(n) != n or n < 2:
        raise DataError(f"a dataset needs a whole number n >= 2 of points, not {n!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise DataError(f"noise must be a finite number >= 0, not {noise!r}")
    if int(seed) != seed or seed < 0:
        raise DataError(f"seed must be a whole number >= 0, not {seed!r}")
    given = {
        "n": int(n),
        "noise": float(noise),
        "seed": int(seed),
        "slope": slope,
        "intercept": intercept,
        "x_min": x_min,
        "x_max": x_max,
    }
    builtin = BUILTINS[name]
    return builtin.make(**{key: given[key] for key in builtin.params})
