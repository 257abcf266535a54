"""The built-in datasets: Anscombe's published values, each dataset's lesson visible in its
numbers, reproducibility, and that every one of them trains."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import lrcore
from lrcore.datasets import BUILTINS, load_builtin

ANSCOMBE = [f"anscombe_{k}" for k in (1, 2, 3, 4)]
GENERATED = [name for name, builtin in BUILTINS.items() if not builtin.fixed]

# Each set's least-squares line and correlation to 7 significant digits, as printed by
# independent sources (e.g. R's lm() and cor() on its built-in `anscombe` data frame). They
# catch a mistyped value, which the rounded textbook statistics below would not.
PUBLISHED_FITS = {  # name: (intercept, slope, r)
    "anscombe_1": (3.000091, 0.5000909, 0.8164205),
    "anscombe_2": (3.000909, 0.5000000, 0.8162365),
    "anscombe_3": (3.002455, 0.4997273, 0.8162867),
    "anscombe_4": (3.001727, 0.4999091, 0.8165214),
}


@pytest.mark.parametrize("name", ANSCOMBE)
def test_anscombe_has_the_quartets_shared_statistics(name):
    data = load_builtin(name)
    x, y = data.x, data.y
    (b, w), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)
    assert len(data) == 11
    assert np.mean(x) == 9.0 and np.var(x, ddof=1) == pytest.approx(11.0, abs=1e-12)
    assert np.mean(y) == pytest.approx(7.50, abs=0.005)
    assert np.var(y, ddof=1) == pytest.approx(4.125, abs=0.005)
    assert w == pytest.approx(0.500, abs=0.0005)
    assert b == pytest.approx(3.00, abs=0.005)
    assert np.corrcoef(x, y)[0, 1] == pytest.approx(0.816, abs=0.0006)
    b_pub, w_pub, r_pub = PUBLISHED_FITS[name]
    assert (b, w, np.corrcoef(x, y)[0, 1]) == pytest.approx((b_pub, w_pub, r_pub), abs=1e-6)


@pytest.mark.parametrize("name", ANSCOMBE)
def test_closed_form_matches_lstsq_on_anscombe(name):
    data = load_builtin(name)
    (b, w), *_ = np.linalg.lstsq(np.column_stack([np.ones(11), data.x]), data.y, rcond=None)
    fit = lrcore.closed_form(data.x, data.y)
    assert (fit.w, fit.b) == pytest.approx((w, b), rel=1e-12)


def test_anscombe_4_has_one_x_apart_and_ignores_generation_settings():
    data = load_builtin("anscombe_4", n=50, noise=1.0, seed=7)
    assert np.count_nonzero(data.x == 8.0) == 10 and sorted(set(data.x)) == [8.0, 19.0]
    assert BUILTINS["anscombe_4"].fixed and BUILTINS["anscombe_4"].params == ()
    assert np.array_equal(data.y, load_builtin("anscombe_4").y)


def test_blog_is_make_data_with_the_same_settings():
    settings = {
        "n": 300,
        "noise": 12.5,
        "seed": 4,
        "slope": -3.0,
        "intercept": 7.0,
        "x_min": -5.0,
        "x_max": 5.0,
    }
    data, reference = load_builtin("blog", **settings), lrcore.make_data(**settings)
    assert np.array_equal(data.x, reference.x) and np.array_equal(data.y, reference.y)
    default = load_builtin("blog")
    assert np.array_equal(default.y, lrcore.make_data().y) and default.name == "blog"


@pytest.mark.parametrize("name", GENERATED)
def test_generated_follow_n_and_are_reproducible_from_seed(name):
    first, again = load_builtin(name, n=250, seed=3), load_builtin(name, n=250, seed=3)
    other = load_builtin(name, n=250, seed=4)
    assert len(first) == 250 and len(load_builtin(name, n=2)) == 2
    assert np.array_equal(first.x, again.x) and np.array_equal(first.y, again.y)
    assert not np.array_equal(first.y, other.y)
    assert not first.x.flags.writeable and first.name == name


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_fits_and_trains(name):
    data = load_builtin(name, n=200)
    fit = lrcore.closed_form(data.x, data.y)
    step = 0.5 * lrcore.stable_step_size(data.x, data.y)
    *_, last = lrcore.train(data.x, data.y, step_size=step, iterations=2000, every=2000)
    assert np.isfinite([fit.w, fit.b, fit.loss]).all()
    assert not last.diverged and last.epoch == 2000
    start = lrcore.train(data.x, data.y, step_size=step, iterations=0)
    assert fit.loss <= last.loss <= next(start).loss


def test_far_x_is_far_worse_conditioned_than_blog_and_gd_crawls_on_it():
    blog, far = load_builtin("blog"), load_builtin("far_x")
    assert far.x.min() == 1000.0 and far.x.max() < 1100.0
    assert lrcore.condition_number(far.x) > 1e4 * lrcore.condition_number(blog.x)
    runs = {}
    for standardize in (False, True):
        step = 0.9 * lrcore.stable_step_size(far.x, far.y, standardize=standardize)
        *_, runs[standardize] = lrcore.train(
            far.x, far.y, step_size=step, iterations=50_000, every=50_000, standardize=standardize
        )
    fit = lrcore.closed_form(far.x, far.y)
    assert runs[False].loss > 10 * fit.loss  # 50,000 epochs and still far from the fit
    assert runs[True].loss == pytest.approx(fit.loss, rel=1e-9)


def test_outliers_are_few_gross_and_at_large_x():
    n, noise = 1000, 300.0
    data = load_builtin("outliers", n=n, noise=noise)
    residual = data.y - (4000 + 50 * data.x)
    far = np.flatnonzero(np.abs(residual) > 10 * noise)
    assert len(far) == n // 50 and (data.x[far] >= 80).all()
    assert lrcore.closed_form(data.x, data.y).w < 50 - 2  # they pull the slope down
    tiny = load_builtin("outliers", n=2, noise=0.0)  # still one outlier, at the larger x
    assert np.array_equal(tiny.y - (4000 + 50 * tiny.x) < -3000, [False, True])


def test_heteroscedastic_noise_grows_with_x():
    data = load_builtin("heteroscedastic", n=3000, noise=300.0)
    residual = data.y - (4000 + 50 * data.x)
    low, high = residual[data.x < 20], residual[data.x >= 80]
    assert np.std(high) > 4 * np.std(low)
    assert np.std(residual) == pytest.approx(300 * np.sqrt(4 / 3), rel=0.1)  # E[(2x/100)²] = 4/3


def test_curve_leaves_u_shaped_residuals():
    data = load_builtin("curve", noise=0.0)
    assert np.array_equal(data.y, 4000 + 0.5 * data.x**2)
    fit = lrcore.closed_form(load_builtin("curve").x, load_builtin("curve").y)
    residual = load_builtin("curve").y - (fit.w * data.x + fit.b)
    ends, middle = residual[(data.x < 10) | (data.x >= 90)], residual[np.abs(data.x - 50) < 10]
    assert np.mean(ends) > 300 and np.mean(middle) < -300


@pytest.mark.parametrize(
    "kwargs", [{"n": 1}, {"n": 2.5}, {"noise": -1.0}, {"noise": float("nan")}, {"seed": -1}]
)
def test_bad_generation_settings_are_refused(kwargs):
    with pytest.raises(lrcore.DataError):
        load_builtin("curve", **kwargs)


def test_unknown_name_is_refused_with_the_choices():
    with pytest.raises(lrcore.DataError, match="anscombe_1"):
        load_builtin("anscombe")


def test_every_builtin_has_a_url_key_a_title_and_a_one_line_lesson():
    assert next(iter(BUILTINS)) == "blog"
    for name, builtin in BUILTINS.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert builtin.title and "\n" not in builtin.title
        assert builtin.lesson.endswith(".") and "\n" not in builtin.lesson
        assert len(builtin.lesson) < 140


def test_datasets_imports_only_numpy_the_standard_library_and_lrcore():
    tree = ast.parse(Path(lrcore.__file__).with_name("datasets.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots = [] if node.level else [node.module.split(".")[0]]
        else:
            continue
        for root in roots:
            assert root == "numpy" or root in sys.stdlib_module_names, root
