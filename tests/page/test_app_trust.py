"""Trust what you see (issue 11): real data whose stability limit is far below 1e-6 can
converge on the page, adam and sgd say why they look as they do, the "Why" panel does not pass
gd's limit off as theirs, a reset control, and no orphan caption in a lesson."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrui.explain.limit import step_stops
from support.page import results_of

TIMEOUT = 60


def open_page(params: dict | None = None) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def csv_of(x, y, names=("year", "lifeExp")) -> bytes:
    rows = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y, strict=True))
    return f"{names[0]},{names[1]}\n{rows}".encode()


def years_data():
    """Like gapminder's year -> lifeExp: x in the thousands, a limit near 5e-7."""
    rng = np.random.default_rng(3)
    x = np.repeat(np.arange(1952.0, 2008.0, 5.0), 12)
    return x, 50 + 0.3 * (x - 1952) + rng.normal(0, 5, x.size)


def incomes_data():
    """Like gapminder's gdpPercap -> lifeExp: x up to 1e5, a limit near 1e-8."""
    rng = np.random.default_rng(4)
    x = rng.uniform(300, 50_000, 150)
    return x, 45 + 0.0006 * x + rng.normal(0, 6, x.size)


def upload(raw: bytes) -> AppTest:
    at = open_page()
    at.file_uploader(key="upload_file").set_value(("real.csv", raw, "text/csv"))
    return at.run()


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


@pytest.mark.parametrize("make", [years_data, incomes_data], ids=["years", "incomes"])
def test_real_data_with_a_tiny_limit_can_converge_from_the_advice(make):
    """The blog's step diverges on x in the thousands; the slider reaches a thousandth of the
    limit, and the advice button sets a step below the limit that converges."""
    x, y = make()
    limit = lrcore.stable_step_size(x, y)
    assert limit < 1e-6  # the case: below the old slider's lowest stop
    at = upload(csv_of(x, y))
    assert not at.exception
    assert results_of(at)["this run"]["loss"] is not None
    assert any("diverged" in e.value for e in at.error)
    options = [float(o) for o in at.select_slider(key="step_size").options]
    assert min(options) <= limit / 1000
    at.button(key="use_stable_step").click().run()
    step = float(query(at)["step_size"])
    assert limit / 1.6 < step < limit  # the largest stop below the limit (stops ≤ 1.5× apart)
    assert at.select_slider(key="step_size").value == step
    assert not at.error and not [h for h in at.header if "(diverged)" in h.value]
    first, last = lrcore.train(x, y, step_size=step, iterations=50_000, every=50_000)
    assert results_of(at)["this run"]["loss"] == pytest.approx(last.loss, rel=1e-5)
    assert not last.diverged and last.loss < first.loss / 2  # it converges: the loss falls


def test_standardized_x_is_one_press_away_from_a_diverged_run():
    x, y = incomes_data()
    at = upload(csv_of(x, y))
    at.button(key="use_standardized").click().run()
    assert query(at)["standardize"] == "true" and not at.error
    fit = lrcore.closed_form(x, y)
    assert results_of(at)["this run"]["loss"] == pytest.approx(fit.loss, rel=1e-3)


@pytest.mark.parametrize("step", ["1e-10", "3e-11"])
def test_a_link_keeps_a_step_size_far_below_1e_6(step):
    at = open_page({"step_size": step})
    assert not at.exception and not at.warning
    assert query(at)["step_size"] == step
    assert at.select_slider(key="step_size").value == float(step)


def test_the_slider_always_reaches_a_thousandth_of_the_limit():
    for limit in (2.0, 1e-3, 5.3e-7, 1.3e-8, 2e-200):
        stops = step_stops(limit)
        assert min(stops) <= limit / 1000 and stops == sorted(stops)
        assert all(b / a <= 2.5 + 1e-12 for a, b in zip(stops, stops[1:], strict=False))
    assert step_stops(1.0)[0] == 1e-6  # ordinary data keeps the page's stops


def test_adam_says_why_its_line_is_out_of_view():
    """Adam at the blog's step moves about η per epoch: 50,000 epochs take W and b about 25
    from the start, far from (50, 4000). The page says so, with those numbers."""
    at = open_page({"optimizer": "adam"})
    last = results_of(at)["this run"]
    assert abs(last["b"]) <= 0.0005 * 50_000 * 1.01  # the fact the sentence explains
    notes = [box.value for box in at.info]
    assert any("about η per epoch" in n and "25" in n for n in notes), notes


def test_sgd_names_its_noise_floor():
    at = open_page({"optimizer": "sgd", "step_size": "0.0001", "iterations": "2000"})
    data = lrcore.make_data()
    fit = lrcore.closed_form(data.x, data.y)
    loss = results_of(at)["this run"]["loss"]
    ratio = loss / fit.loss
    notes = " ".join(box.value for box in at.info)
    assert "noise floor" in notes and "batch" in notes
    assert f"{ratio:.2g}×" in notes or f"{ratio:.3g}×" in notes


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_why_panel_does_not_show_gds_limit_as_theirs(optimizer):
    """adam and sgd have no sharp limit: the panel names gd's limit as gd's, never as theirs."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.query_params.update(optimizer=optimizer, iterations="500")
    at.session_state["why"] = True  # the expander open
    at.run()
    labels = [m.label for m in at.metric]
    assert "Largest stable step" not in labels and "gd's largest stable step" in labels
    text = " ".join(m.value for m in at.markdown)
    assert f"For {optimizer} on this data the limit is" not in text
    assert "no sharp step-size limit" in text


def test_reset_brings_back_the_blogs_run():
    at = open_page({"optimizer": "momentum", "step_size": "0.0001", "noise": "50"})
    at.button(key="reset").click().run()
    assert query(at) == cfg.to_params(cfg.DEFAULTS)
    blog = results_of(open_page())
    assert results_of(at) == blog


def test_a_lesson_that_hides_the_step_size_leaves_no_caption_of_it():
    at = open_page({"lesson": "outliers"})
    assert "step_size" in at.query_params["hide"]
    assert not [c for c in at.sidebar.caption if "step that converges" in c.value]
    shown = open_page({"lesson": "blog"})
    assert [c for c in shown.sidebar.caption if "step that converges" in c.value]
