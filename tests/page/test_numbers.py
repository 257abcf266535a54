"""Numbers that differ look different: a factor near 1 written as its distance from 1, two
values with the digits that tell them apart, and a loss axis whose values agree in their first
digits drawn from an offset. Checked on the formatters, on the figures (the Explore curve, the
views' loss axis) and on the page (AppTest), with data whose x is in the thousands."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrcore
from lrcore import settings as cfg
from lrcore.explain import rates
from lrui import explore_figures as xf
from lrui import figures
from lrui.explain import conditioning, limit
from lrui.text import MINUS, apart, factor, fmt, number
from support.page import number_of

SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def factor_of(text: str) -> float:
    """A factor as factor() writes it ('1 − 3×10⁻⁷', '0.9500') as a float."""
    found = re.fullmatch(r"1 ([+−]) ([\d.]+)×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
    if found is None:
        return float(text.replace(",", ""))
    sign, mantissa, power = found.groups()
    gap = float(mantissa) * 10.0 ** int(power.translate(SUPERSCRIPTS))
    return 1 - gap if sign == MINUS else 1 + gap


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (0.9999997, "1 − 3×10⁻⁷"),
        (1.0000002, "1 + 2×10⁻⁷"),
        (1 - 2.2e-7, "1 − 2.2×10⁻⁷"),
        (1 - 3.8e-11, "1 − 3.8×10⁻¹¹"),
        (0.99996, "1 − 4×10⁻⁵"),  # fmt would write 1.000
        (0.95, "0.9500"),  # fmt tells these from 1: as fmt writes them
        (0.9996, "0.9996"),
        (1.04, "1.040"),
        (2.5, "2.500"),
        (1.0, "1.000"),
    ],
)
def test_factor_writes_a_factor_near_1_as_its_distance_from_1(value, written):
    assert factor(value) == written


@given(st.floats(0.0, 3.0, exclude_min=True))
def test_a_factor_reads_back_and_is_never_written_as_1_unless_it_is(v):
    # Property 1: the text reads back to v within its rounding: 2 significant digits of the
    # distance from 1 when written as 1 ± d, 4 significant digits of v otherwise.
    text = factor(v)
    back = factor_of(text)
    if "×10" in text:
        assert abs(back - v) <= 0.05 * abs(1 - v)
    else:
        assert back == pytest.approx(v, rel=5e-4)
    # Property 2: a factor other than 1 does not read as exactly 1.
    assert (back == 1) == (v == 1)


@pytest.mark.parametrize(
    ("a", "b", "sig"),
    [
        (0.0006008, 0.0006026, 4),
        (5.103708418333117e-07, 5.10370841843213e-07, 11),  # 1/κ apart, κ = 5×10¹⁰
        (98256748.12, 98256755.3, 6),  # 98,256,700 and 98,256,800
        (1.0, 1.0, 4),
        (0.1, 0.1 + 2**-56, 17),  # one ulp: every digit
    ],
)
def test_apart_gives_the_fewest_digits_that_tell_two_values_apart(a, b, sig):
    assert apart(a, b) == sig
    if a != b:
        assert fmt(a, sig) != fmt(b, sig) and number(a, sig) != number(b, sig)
        assert sig == 4 or fmt(a, sig - 1) == fmt(b, sig - 1)


finite = st.floats(-1e300, 1e300, allow_nan=False, allow_subnormal=False)


@given(finite, finite)
def test_two_different_values_print_differently_at_aparts_digits(a, b):
    # Property 3: at apart(a, b) digits, fmt and number write two different floats differently
    # and equal ones alike; one digit fewer (if more than 4) writes them alike.
    sig = apart(a, b)
    assert 4 <= sig <= 17
    assert (fmt(a, sig) != fmt(b, sig)) == (a != b)
    assert (number(a, sig) != number(b, sig)) == (a != b)
    if sig > 4:
        assert fmt(a, sig - 1) == fmt(b, sig - 1)


@given(
    st.floats(1e-6, 1e12),
    st.floats(1e-12, 1e-3, exclude_max=True),
    st.booleans(),
)
def test_close_values_get_ticks_from_an_offset_that_read_back(lo, rel, log):
    # Property 4: for lo..hi that agree in their first 3 digits (or more), the ticks are
    # distinct, short (at most 3 significant digits), start at the offset the title names,
    # read back (offset + text) to where they stand, and 2 to 5 of them fall between lo and
    # hi; the range holds them all, and lo and hi.
    hi = lo * (1 + rel)
    if not hi > lo:
        return
    axis = figures.offset_ticks(lo, hi, "loss", log=log)
    assert axis is not None
    texts, values = axis["ticktext"], axis["tickvals"]
    assert len(set(texts)) == len(texts) >= 2
    assert texts[0] == "0" and all(
        len(re.sub(r"\D", "", t.split("×")[0]).strip("0")) <= 3 for t in texts
    )
    found = re.fullmatch(r"loss − (\S+)", axis["title"]["text"])
    offset = number_of(found.group(1))
    assert offset == pytest.approx(values[0], rel=1e-15) and values[0] <= lo
    for text, value in zip(texts, values, strict=True):
        assert offset + number_of(text) == pytest.approx(value, rel=1e-14)
    low, high = (10.0**v for v in axis["range"]) if log else axis["range"]
    assert low <= values[0] and high >= hi and values[-1] <= high
    assert 2 <= sum(lo <= v <= hi for v in values) <= 5


@pytest.mark.parametrize(
    ("lo", "hi"), [(100.0, 200.0), (1e-3, 1.0), (5.0, 5.0), (45000.0, 45100.0)]
)
def test_values_apart_in_their_first_digits_keep_plotlys_ticks(lo, hi):
    assert figures.offset_ticks(lo, hi, "loss", log=True) is None


# --- the figures, with losses that differ in their eighth digit ----------------------------

FLOOR = 78_190_192.0  # a least-squares loss in the tens of millions (incomes against years)


def stalled_curve() -> dict:
    """The Explore curve of 50 runs whose losses after the epochs span 78,190,192 to
    78,190,197 (every run stalls along the flat direction), and 10 that diverged."""
    eta = np.geomspace(1e-10, 1.5e-6, 60)
    loss = np.r_[FLOOR + np.linspace(5.0, 0.0, 50), np.full(10, np.inf)]
    epochs = np.full(60, np.nan)
    marks = xf.Marks(limit=5.10370841843213e-07, fastest=5.103708418333117e-07)
    return xf.curve(
        eta,
        loss,
        epochs,
        np.r_[np.zeros(50, bool), np.ones(10, bool)],
        iterations=50_000,
        marks=marks,
    )


def test_the_explore_curves_loss_axis_tells_stalled_runs_apart():
    """Losses from 78,190,192 to 78,190,197: the axis is drawn from the offset 78,190,192
    with ticks 0, 2, 4 that read back to where they stand, and the hover text has the digits
    that tell the runs apart."""
    spec = stalled_curve()
    axis = spec["layout"]["yaxis"]
    assert axis["title"]["text"] == "loss − 78,190,192"
    assert axis["ticktext"] == ["0", "2", "4"]
    assert axis["tickvals"] == [FLOOR, FLOOR + 2, FLOOR + 4]
    assert 10 ** axis["range"][0] <= FLOOR and 10 ** axis["range"][1] >= FLOOR + 5
    hover = next(t for t in spec["data"] if t["name"] == "loss")["hovertemplate"]
    sig = int(re.search(r"%\{y:\.(\d+)g\}", hover).group(1))
    assert f"{FLOOR:.{sig}g}" != f"{FLOOR + 1:.{sig}g}"


def test_the_fastest_and_the_limit_marks_print_apart_and_sit_at_different_heights():
    spec = stalled_curve()
    notes = {n["name"]: n for n in spec["layout"]["annotations"]}
    fastest = float(notes["fastest"]["text"].rsplit("= ", 1)[1])
    top = float(notes["limit"]["text"].rsplit("= ", 1)[1])
    assert fastest != top
    assert abs(fastest - 5.103708418333117e-07) < abs(fastest - 5.10370841843213e-07)
    assert abs(top - 5.10370841843213e-07) < abs(top - 5.103708418333117e-07)
    # the labels' rows: limit above the plots, fastest between them, "diverges" inside the lower
    assert notes["limit"]["y"] == 1.0 and notes["limit"]["yref"] == "paper"
    assert notes["fastest"]["y"] == 0.47 and notes["diverges"]["yref"] == "y2 domain"


def test_the_views_loss_axis_tells_apart_a_run_that_starts_near_the_answer():
    """A run from near the least-squares answer on data with x in the thousands: its losses
    agree in their first 9 digits; the loss axis is drawn from an offset with ticks that read
    back, on the log and the linear scale."""
    rng = np.random.default_rng(1)
    x = np.linspace(1950, 2010, 200)
    y = 20 * (x - 1950) + rng.normal(0, 12_000, x.size)
    fit = lrcore.closed_form(x, y)
    states = list(lrcore.train(x, y, iterations=100, step_size=1e-7, w0=fit.w + 1e-4, b0=fit.b))
    for scale in ("log", "linear"):
        one = figures.run(x, y, states, states, loss_scale=scale)
        axis = one["layout"]["yaxis2"]
        assert (
            axis["tickmode"] == "array" and len(set(axis["ticktext"])) == len(axis["ticktext"]) >= 2
        )
        offset = number_of(axis["title"]["text"].removeprefix("loss − "))
        for text, value in zip(axis["ticktext"], axis["tickvals"], strict=True):
            assert offset + number_of(text) == pytest.approx(value, rel=1e-14)
    blog = lrcore.make_data()
    states = list(lrcore.train(blog.x, blog.y, iterations=100, step_size=1e-4))
    one = figures.run(blog.x, blog.y, states, states, loss_scale="log")
    assert one["layout"]["yaxis2"]["title"] == {"text": "loss"}  # a title always: Plotly.update


# --- the page's sentences ------------------------------------------------------------------


def far_data() -> lrcore.Dataset:
    """Incomes against years: x in the thousands, κ about 10¹⁰."""
    rng = np.random.default_rng(0)
    x = np.repeat(np.arange(1952.0, 2008.0, 5.0), 20)
    return lrcore.as_dataset(x, 100 * (x - 1952) + rng.normal(0, 9000, x.size), "incomes")


def test_the_slow_directions_factor_is_written_as_its_distance_from_1():
    data = far_data()
    s = cfg.DEFAULTS.replace(step_size=1e-7)
    r = rates(data.x, data.y, 1e-7)
    mean = data.x.mean()
    lam_min = np.linalg.eigvalsh(np.array([[np.mean(data.x**2), mean], [mean, 1.0]]))[0]
    text = conditioning.conditioning_paragraph(s, r, None, True)
    found = re.search(r"shrinks by a factor (.+?) per epoch", text)
    assert found and found.group(1).startswith("1 − ")
    assert factor_of(found.group(1)) == pytest.approx(1 - 1e-7 * lam_min, abs=0.05e-7 * lam_min)


def test_a_step_just_above_the_limit_grows_by_1_plus_its_distance():
    """η a millionth above 2/λmax: the error grows by |1 − η·λmax| = 1 + 2×10⁻⁶ per epoch and
    the loss by its square, 1 + 4×10⁻⁶: both written so, not as 1.000."""
    data = far_data()
    top = limit.limit_of(cfg.DEFAULTS, data)
    text = limit.growth_text(cfg.DEFAULTS.replace(step_size=top * (1 + 1e-6)), data)
    assert "= 1 + 2×10⁻⁶, and the loss by its square, 1 + 4×10⁻⁶." in text
    assert math.isfinite(top)


def test_the_limit_is_written_with_the_digits_that_put_a_step_above_it():
    """A step size a millionth above the limit: the sidebar's sentence, the diverged run's
    message and the limit paragraph write the limit with the digits that show it below the
    step (at 4 digits, 5.104e-07 would read as above 5.10371e-07)."""
    data = far_data()
    top = limit.limit_of(cfg.DEFAULTS, data)
    s = cfg.DEFAULTS.replace(step_size=float(f"{top * (1 + 1e-6):.6g}"))
    assert s.step_size > top
    text, above = limit.limit_text(s, data)
    assert above
    first = lrcore.State(0, 0.0, 0.0, 1.0, 0.0, 0.0)
    last = lrcore.State(9, 0.0, 0.0, 1e20, 0.0, 0.0, True)
    paragraph = conditioning.limit_paragraph(s, rates(data.x, data.y, s.step_size))
    for said in (
        re.search(r"\*\*(\S+)\*\*", text).group(1),
        re.search(r"converges only below (\S+) ", limit.divergence_text(s, data, last, first))[1],
        re.search(r"the limit is \*\*(\S+)\*\*", paragraph).group(1),
    ):
        assert float(said) == pytest.approx(top, rel=1e-6) and float(said) < s.step_size


def test_the_summary_tells_the_last_loss_from_the_least_squares_one():
    """A run from next to the answer: its losses agree with the least-squares loss in their
    first 7 digits; the summary writes them with the digits that tell them apart."""
    from lrui.explain.summary import summary

    data = far_data()
    fit = lrcore.closed_form(data.x, data.y)
    states = list(
        lrcore.train(data.x, data.y, iterations=10, step_size=1e-8, w0=fit.w + 1e-3, b0=fit.b)
    )
    run = type("Run", (), {"frames": states, "last": states[-1]})
    line = next(t for t in summary(data, run, fit) if t.startswith("Loss:"))
    found = re.fullmatch(
        r"Loss: from (\S+) at epoch 0 to (\S+) at epoch 10 \(least squares (\S+)\)\.", line
    )
    first, last, least = (number_of(v) for v in found.groups())
    assert last != least and first != last
    gap = states[-1].loss - fit.loss  # each reads back nearer its own value than the other's
    assert abs(last - states[-1].loss) < gap / 2 and abs(least - fit.loss) < gap / 2


def test_the_summary_tells_a_pinned_runs_loss_from_this_ones():
    """Two runs that stall at about the same loss (their last losses agree in their first 7
    digits): the summary writes this run's and the pinned run's with the digits that tell
    them apart."""
    from lrui.explain.pinned import Snapshot
    from lrui.explain.summary import summary

    data = far_data()
    fit = lrcore.closed_form(data.x, data.y)

    def run_at(step: float):
        states = list(lrcore.train(data.x, data.y, iterations=2000, step_size=step))
        return type("Run", (), {"frames": states, "last": states[-1]})

    this, other = run_at(2e-7), run_at(4e-7)
    pin = Snapshot("gd, η = 4e-07", "", (0.0, 1.0), tuple(other.frames), (), {})
    lines = summary(data, this, fit, pin)
    mine = number_of(re.search(r"to (\S+) at epoch 2,000", lines[1]).group(1))
    pinned = number_of(re.search(r"loss (\S+) at epoch 2,000\.", lines[3]).group(1))
    gap = abs(this.last.loss - other.last.loss)
    assert 0 < gap < 1e-6 * this.last.loss  # the case in point
    assert abs(mine - this.last.loss) < gap / 2 and abs(pinned - other.last.loss) < gap / 2


def test_the_players_readout_shows_the_loss_moving_in_its_ninth_digit():
    """A run from next to the answer: its first and last frames' losses agree in their first 8
    digits; the readouts write them differently, each nearer its own value than the other."""
    data = far_data()
    fit = lrcore.closed_form(data.x, data.y)
    states = list(
        lrcore.train(data.x, data.y, iterations=100, step_size=1e-7, w0=fit.w + 1e-4, b0=fit.b)
    )
    first, last = states[0].loss, states[-1].loss
    assert 0 < (first - last) < 1e-7 * first  # the case in point
    readouts = figures.run(data.x, data.y, states, states)["readouts"]
    shown = [number_of(text.rsplit("loss = ", 1)[1]) for text in (readouts[0], readouts[-1])]
    gap = first - last
    assert abs(shown[0] - first) < gap / 2 and abs(shown[1] - last) < gap / 2
