"""Advice that reaches the answer, on real data: every button the page offers for a run that
diverged or ended short of the answer, when followed, gives a run within 1% of the least-squares
line within the epochs slider's maximum; where plain gd cannot get there, standardized x comes
first and a sentence says why. The step sizes the page sets stay below the limit.

Real data: tables plotly ships (gapminder, the 2013 Montreal election, Montreal car-share, stock
prices), uploaded as a user would, two columns at a time; x in the thousands or beyond. The
reference is independent of the advice: NumPy's least squares for the answer and lrcore.train
for the run the clicked button sets up.
"""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path

import numpy as np
import plotly
import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrcore.explain import rates
from lrui.explain.limit import stable_stop_of, step_stops
from lrui.text import number as text_number

TIMEOUT = 60
TABLES = Path(plotly.__file__).parent / "package_data" / "datasets"
MOST_EPOCHS = cfg.FIELDS["iterations"].metadata["hi"]  # the epochs slider's maximum
ADVICE_KEYS = ("use_standardized", "use_stable_step", "use_more_epochs")
REAL = {  # name: (table, x column, y column); x in the thousands or beyond
    "year_life": ("gapminder", "year", "lifeExp"),  # 1952 ... 2007
    "gdp_life": ("gapminder", "gdpPercap", "lifeExp"),  # 241 ... 113,523
    "pop_life": ("gapminder", "pop", "lifeExp"),  # 60,011 ... 1.3e9
    "votes": ("election", "total", "Joly"),  # 789 ... 11,050 votes per district
    "car_hours": ("carshare", "car_hours", "peak_hour"),  # 33 ... 3,274
    "life_gdp": ("gapminder", "lifeExp", "gdpPercap"),  # x 24 ... 83: y in the thousands
}


def real(name: str) -> tuple[np.ndarray, np.ndarray]:
    table, x_col, y_col = REAL[name]
    with gzip.open(TABLES / f"{table}.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r[x_col]) for r in rows]), np.array([float(r[y_col]) for r in rows])


def dates() -> tuple[np.ndarray, np.ndarray]:
    """plotly's stock prices (weekly, 2018-2019) against the date written YYYYMMDD: x ≈ 2e7."""
    with gzip.open(TABLES / "stocks.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["date"].replace("-", "")) for r in rows]), np.array(
        [float(r["GOOG"]) for r in rows]
    )


def csv_of(x, y) -> bytes:
    rows = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y, strict=True))
    return f"x,y\n{rows}".encode()


def uploaded(x, y, step: float | None = None, **state) -> AppTest:
    """The page with these points uploaded (state set first), then this step on the slider."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.file_uploader(key="upload_file").set_value(("real.csv", csv_of(x, y), "text/csv"))
    at.run()
    return at if step is None else at.select_slider(key="step_size").set_value(step).run()


def settings_of(at: AppTest) -> cfg.Settings:
    return cfg.from_params({k: at.query_params[k] for k in at.query_params})[0]


def within_1pct(x, y, s: cfg.Settings) -> bool:
    """A run of these settings ends within 1% of NumPy's least-squares line: ‖θ − θ*‖ ≤
    0.01·‖θ₀ − θ*‖ (and did not diverge)."""
    (w, b), *_ = np.linalg.lstsq(np.column_stack([x, np.ones_like(x)]), y, rcond=None)
    *_, last = lrcore.train(
        x,
        y,
        step_size=s.step_size,
        iterations=s.iterations,
        optimizer=s.optimizer,
        momentum=s.momentum,
        standardize=s.standardize,
        w0=s.w0,
        b0=s.b0,
        every=s.iterations,
    )
    start = math.hypot(s.w0 - w, s.b0 - b)
    return not last.diverged and math.hypot(last.w - w, last.b - b) <= 0.01 * start


def advice_buttons(at: AppTest) -> list:
    """The advice's buttons under the player, in the order the page draws them."""
    return [b for b in at.button if b.key in ADVICE_KEYS]


@pytest.mark.parametrize("name", ["year_life", "gdp_life", "pop_life", "votes", "car_hours"])
def test_a_diverged_run_on_real_data_is_one_press_from_the_answer(name):
    """The blog's step diverges on x in the thousands; plain gd would then need more epochs than
    the slider has (κ from 7e6 to 1e16), so the first button is standardized x, a sentence
    says why, and following it ends within 1% of the least-squares line."""
    x, y = real(name)
    at = uploaded(x, y)
    assert not at.exception and any("diverged" in e.value for e in at.error)
    kappa = lrcore.condition_number(x)
    need = math.log(0.01) / math.log1p(-2 / (1 + kappa))  # gd at its fastest step: (κ−1)/(κ+1)
    assert need > MOST_EPOCHS  # the case: no step of plain gd gets there on the slider
    first = advice_buttons(at)[0]
    assert first.key == "use_standardized"
    why = [c.value for c in at.caption if "κ" in c.value]
    assert len(why) == 1 and "standardized x" in why[0] and f"{MOST_EPOCHS:,}" in why[0]
    first.click().run()
    s = settings_of(at)
    assert s.standardize and s.iterations <= MOST_EPOCHS
    assert not at.error and within_1pct(x, y, s)


@pytest.mark.parametrize("step", [1e-8, 5e-9])
def test_a_tiny_step_that_cannot_get_there_is_told_what_will(step):
    """The issue's case: the step the old advice set (the largest stop below the limit, 1e-8)
    on incomes (gdpPercap) ends far from the answer after 50,000 epochs. The page says so, and
    its first button gets there."""
    x, y = real("gdp_life")
    assert step < lrcore.stable_step_size(x, y)
    at = uploaded(x, y, step)
    assert not at.exception and not at.error
    assert not within_1pct(x, y, settings_of(at))  # the case: it ends short
    first = advice_buttons(at)[0]
    assert first.key == "use_standardized"
    first.click().run()
    s = settings_of(at)
    assert s.standardize and not at.error and within_1pct(x, y, s)


def test_a_run_that_needs_more_epochs_gets_them_from_the_first_button():
    """gapminder's life expectancy (x 24 to 83) against income: the blog's step is below the
    limit but needs about 205,000 epochs, more than the 50,000 set and fewer than the slider's
    1,000,000: the first button sets the epochs, and the run then ends within 1%."""
    x, y = real("life_gdp")
    at = uploaded(x, y)
    assert not at.exception and not at.error
    assert not within_1pct(x, y, settings_of(at))
    first = advice_buttons(at)[0]
    assert first.key == "use_more_epochs"
    first.click().run()
    s = settings_of(at)
    assert s.step_size == 0.0005 and not s.standardize
    assert 50_000 < s.iterations <= MOST_EPOCHS and within_1pct(x, y, s)
    assert advice_buttons(at) == []  # nothing left to advise


def test_a_diverged_run_that_a_stable_step_fixes_gets_the_step_and_the_epochs():
    """life expectancy against income diverges at 0.001 (the limit is 0.00054); the largest
    stop below it, 0.0005, needs more than the 50,000 epochs set: the button sets both."""
    x, y = real("life_gdp")
    at = uploaded(x, y, 0.001)
    assert any("diverged" in e.value for e in at.error)
    first = advice_buttons(at)[0]
    assert first.key == "use_stable_step"
    first.click().run()
    s = settings_of(at)
    assert s.step_size < lrcore.stable_step_size(x, y) and s.iterations > 50_000
    assert not at.error and within_1pct(x, y, s)


@pytest.mark.parametrize("name", ["year_life", "votes"])
def test_the_sidebar_button_under_the_limit_is_the_first_advice(name):
    x, y = real(name)
    at = uploaded(x, y)
    at.button(key="use_standardized_sidebar").click().run()
    s = settings_of(at)
    assert s.standardize and not at.error and within_1pct(x, y, s)


def test_dates_yyyymmdd_explore_never_sets_a_diverging_fastest_step():
    """x = dates written YYYYMMDD (≈ 2e7): the fastest step 2/(λmin+λmax) equals the limit
    2/λmax in floats (κ ≈ 7e21). Explore's button must not set a step at or above the limit:
    here it offers standardized x, and the run it sets gets within 1%."""
    x, y = dates()
    at = uploaded(x, y, explore=True)
    assert not at.exception
    limit = lrcore.stable_step_size(x, y)
    keys = [b.key for b in at.button if b.key in ("explore_fastest", "explore_standardized")]
    assert len(keys) == 1
    at.button(key=keys[0]).click().run()
    s = settings_of(at)
    assert s.standardize or s.step_size < limit
    assert not at.error and within_1pct(x, y, s)


@pytest.mark.parametrize("name", ["year_life", "gdp_life", "life_gdp"])
def test_explore_on_real_data_offers_a_run_that_gets_there(name):
    """Explore's button under the curve, on real data at too few epochs (100), makes a run that
    ends within 1%: the fastest step with more epochs, or standardized x."""
    x, y = real(name)
    at = uploaded(x, y, explore=True, iterations=100)
    button = next(b for b in at.button if b.key in ("explore_fastest", "explore_standardized"))
    button.click().run()
    s = settings_of(at)
    assert not at.error and within_1pct(x, y, s)


# Property 1: the step the slider's advice offers, the largest stop below the limit, is below
# the limit for every limit from 1e-16 to 10.
@given(st.floats(-16, 1))
def test_property_1_the_stable_stop_is_below_the_limit(log_limit):
    limit = 10.0**log_limit
    stop = stable_stop_of(limit)
    assert stop < limit and stop in step_stops(limit)
    assert all(v >= limit for v in step_stops(limit) if v > stop)


@pytest.mark.parametrize(
    "state",
    [
        {"iterations": 10_000},  # gd below the limit, too few epochs: the button adds them
        {"optimizer": "momentum", "step_size": 0.005},  # above momentum's limit 0.00114
        {"optimizer": "nesterov", "step_size": 0.001, "iterations": 1000},
    ],
    ids=["gd_short", "momentum_diverged", "nesterov_diverged"],
)
def test_the_first_button_gets_there_on_the_blogs_generated_data(state):
    """The blog's data (generated, x from 0 to 100): whatever the first button is, the run it
    sets ends within 1% of the least-squares line."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in state.items():  # a link with these settings
        at.query_params[key] = str(value)
    at.run()
    data = lrcore.load_builtin("blog")
    assert not within_1pct(data.x, data.y, settings_of(at))  # the case: diverged or short
    advice_buttons(at)[0].click().run()
    s = settings_of(at)
    assert s.iterations <= MOST_EPOCHS and not at.error
    assert within_1pct(data.x, data.y, s)


def test_why_writes_dates_huge_and_tiny_numbers_short_and_a_factor_that_rounds_to_1_as_such():
    """On dates written YYYYMMDD (κ ≈ 7e21), a step below the limit shrinks the slow
    direction's error by 1 − η·λmin, which rounds to exactly 1 in float64: the panel says so
    (it said the error 'grows by a factor 1.000'), and its metrics fit a quarter of the page,
    in powers of ten, with the values rates() gives."""
    x, y = dates()
    at = uploaded(x, y, 1e-15, why=True)
    assert not at.exception
    r = rates(x, y, 1e-15)
    assert r.growth == 1 and r.limit > 1e-15  # the case: below the limit, a factor of 1
    shown = {m.label: m.value for m in at.metric}
    assert all(len(value) <= 12 for value in shown.values()), shown
    assert read_power(shown["Largest stable step"]) == pytest.approx(r.limit, rel=1e-3)
    assert read_power(shown["Condition number κ"]) == pytest.approx(r.condition, rel=1e-3)
    text = " ".join(m.value for m in at.markdown)
    assert "grows by a factor" not in text
    gap = f"1 − η·λmin = 1 − {text_number(1e-15 * r.lam_min, 2)}"
    assert gap in text and "rounds to exactly 1" in text


def read_power(text: str) -> float:
    """'4.908×10⁻¹⁵' (or a plain number) as a float."""
    mantissa, _, power = text.replace(",", "").partition("×10")
    exponent = power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")) or "0"
    return float(mantissa) * 10.0 ** int(exponent)
