"""The page's explanations (issue 5) through AppTest: the step-size limit against runs just
below and above it, predicted against observed epochs to 1%, pinned and raw-vs-standardized
runs, the math with its numbers, the lessons, the palette and the chart's export button.

References are independent of the page where they can be: the plain per-epoch loop
(tests/reference.py), NumPy's least squares, and lrcore called directly with a link's settings.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrcore.explain import rates
from lrui import figures, lessons, sidebar
from lrui.explain import update
from lrui.text import fmt
from support import reference
from support.page import component_of, figure_of, log_of, widget_keys

TIMEOUT = 60


def open_page(settings: cfg.Settings | dict | None = None, **state) -> AppTest:
    """A first visit to a link (settings, or raw query parameters), with session state set
    first (e.g. why=True opens that expander)."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    params = cfg.to_params(settings) if isinstance(settings, cfg.Settings) else settings or {}
    for key, value in params.items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def data_of(s: cfg.Settings) -> lrcore.Dataset:
    """The settings' data, made by lrcore directly."""
    if getattr(s, "dataset", "generated") not in ("generated", "blog", ""):
        return lrcore.load_builtin(s.dataset, n=s.n, noise=s.noise, seed=s.seed)
    return lrcore.make_data(
        n=s.n,
        slope=s.slope,
        intercept=s.intercept,
        noise=s.noise,
        x_min=s.x_min,
        x_max=s.x_max,
        seed=s.seed,
    )


def lstsq(data) -> tuple[float, float, float]:
    """(W*, b*, loss*) from NumPy's least squares."""
    a = np.column_stack([data.x, np.ones_like(data.x)])
    (w, b), *_ = np.linalg.lstsq(a, data.y, rcond=None)
    return w, b, 0.5 * float(np.mean((w * data.x + b - data.y) ** 2))


def spec_of(at: AppTest) -> dict:
    """The figure as drawn: the chart with the player's run put in."""
    return figure_of(at)


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def limit_shown(at: AppTest) -> float:
    """The limit the sidebar prints under the step-size slider (a caption, or red text when the
    step is above it)."""
    shown = [*at.sidebar.caption, *at.sidebar.markdown]
    texts = [c.value for c in shown if "Largest step that converges" in c.value]
    assert len(texts) == 1, [c.value for c in shown]
    return float(re.search(r"\*\*([\d.,e+-]+)\*\*", texts[0]).group(1).replace(",", ""))


def metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def comparison(at: AppTest):
    """The comparison table as shown (None when nothing is pinned)."""
    tables = [d.value for d in at.dataframe if "final loss" in d.value.columns]
    return tables[0] if tables else None


def first_within_1pct(rows, w_opt, b_opt) -> int | None:
    dist = [math.hypot(r.w - w_opt, r.b - b_opt) for r in rows]
    return next((k for k, d in enumerate(dist) if k and d <= 0.01 * dist[0]), None)


# --- the stability limit ----------------------------------------------------------------------

DATASETS = {
    "blog": {},
    "centred x": {"n": 200, "x_min": -5.0, "x_max": 5.0, "noise": 50.0},
    "x far from 0": {"n": 300, "x_min": 1000.0, "x_max": 1100.0},
}
if "dataset" in cfg.FIELDS:
    DATASETS["anscombe_1"] = {"dataset": "anscombe_1"}


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_limit_shown_is_lrcores_and_splits_converging_from_diverging_runs(optimizer, dataset):
    """The page's limit is lrcore.stable_step_size to 4 digits; a run at 0.99 times the shown
    value converges (no error, no warning, loss down) and one at 1.01 times diverges with the
    error that explains it."""
    s = cfg.DEFAULTS.replace(optimizer=optimizer, **DATASETS[dataset])
    data = data_of(s)
    at = open_page(s)
    assert not at.exception
    shown = limit_shown(at)
    expected = lrcore.stable_step_size(data.x, data.y, optimizer, s.momentum)
    assert shown == pytest.approx(expected, rel=5e-4)
    below = open_page(s.replace(step_size=0.99 * shown))
    assert not below.exception and not below.error and not below.warning
    loss = log_of(below)[:, 3]
    assert loss[-1] < 0.01 * loss[0] or math.isclose(loss[-1], lstsq(data)[2], rel_tol=1e-3)
    above = open_page(s.replace(step_size=1.01 * shown))
    assert not above.exception and len(above.error) == 1
    assert "diverged at epoch" in above.error[0].value
    assert fmt(expected) in above.error[0].value


def test_step_above_the_limit_warns_before_it_diverges():
    """Too few epochs to diverge yet: a warning with the growth factor |1 − η·λmax|, checked
    against λmax from NumPy."""
    s = cfg.DEFAULTS.replace(step_size=0.0007, iterations=10)
    at = open_page(s)
    assert not at.exception and not at.error
    assert len(at.warning) == 1
    data = data_of(s)
    lam_max = np.linalg.eigvalsh(
        np.array([[np.mean(data.x**2), np.mean(data.x)], [np.mean(data.x), 1.0]])
    )[-1]
    growth = abs(1 - 0.0007 * lam_max)
    assert f"= {fmt(growth)}," in at.warning[0].value
    assert "diverges" in at.warning[0].value
    assert ":red[" in " ".join(c.value for c in at.sidebar.markdown)


def test_diverged_run_is_explained_with_its_numbers():
    s = cfg.DEFAULTS.replace(step_size=0.001)
    at = open_page(s)
    data = data_of(s)
    r = rates(data.x, data.y, 0.001)
    message = at.error[0].value
    assert f"|1 − 0.001 × {fmt(r.lam_max)}| = {fmt(r.growth)}" in message
    assert r.growth == pytest.approx(0.001 * r.lam_max - 1, rel=1e-12)


def test_adam_has_no_sharp_limit():
    at = open_page(cfg.DEFAULTS.replace(optimizer="adam", iterations=100, step_size=1.0))
    assert not at.exception and not at.error and not at.warning
    assert any("no sharp step-size limit" in c.value for c in at.sidebar.caption)


# --- conditioning: predicted and observed epochs to 1% ----------------------------------------

# (settings, allowed |predicted − observed|): gd's prediction is exact up to rounding the
# epoch; heavy-ball momentum is overdamped at these settings and holds to 2%.
EPOCH_CASES = {
    "blog gd": (cfg.DEFAULTS, 1),
    "standardized gd": (cfg.DEFAULTS.replace(standardize=True, step_size=0.5, iterations=100), 1),
    "momentum": (cfg.DEFAULTS.replace(optimizer="momentum", iterations=5000, n=200), 0.02),
}


@pytest.mark.parametrize("case", EPOCH_CASES)
def test_predicted_epochs_to_1pct_match_the_plain_loop(case, blog_reference):
    s, tolerance = EPOCH_CASES[case]
    at = open_page(s, why=True)
    assert not at.exception
    shown = metrics(at)
    predicted = int(shown["Predicted epochs to 1%"].replace(",", ""))
    observed = int(shown["Epochs to 1%, this run"].replace(",", ""))
    data = data_of(s)
    r = rates(data.x, data.y, s.step_size, s.optimizer, s.momentum, s.standardize)
    assert predicted == math.ceil(r.epochs_to_1pct)
    w, b, _ = lstsq(data)
    if case == "blog gd":
        rows = blog_reference
    else:
        rows, _ = reference.run(
            s.optimizer,
            data.x,
            data.y,
            step_size=s.step_size,
            iterations=s.iterations,
            standardize=s.standardize,
        )
    assert observed == first_within_1pct(rows, w, b)
    allowed = tolerance if tolerance >= 1 else tolerance * observed
    assert abs(predicted - observed) <= allowed
    assert float(shown["Condition number κ"].replace(",", "")) == pytest.approx(
        r.condition, rel=1e-3
    )


def test_the_blog_needs_most_of_its_50000_epochs():
    at = open_page(why=True)
    text = " ".join(m.value for m in at.markdown)
    assert "This is why the blog post needed 50,000 epochs." in text
    assert 30_000 < int(metrics(at)["Epochs to 1%, this run"].replace(",", "")) < 50_000


# --- raw vs standardized x, and pinned runs ---------------------------------------------------


def overlay_traces(spec: dict) -> list[dict]:
    return [t for t in spec["data"] if str(t.get("legendgroup")) == "pinned"]


def test_compare_raw_and_standardized_overlays_both_in_the_datas_units(blog_reference, blog):
    at = open_page()
    at.button(key="compare_scaling").click()
    at.run()
    assert not at.exception and not at.error
    assert query(at)["standardize"] == "true"
    traces = overlay_traces(spec_of(at))
    assert {(t["xaxis"], t["yaxis"]) for t in traces} == {("x", "y"), ("x2", "y2"), ("x3", "y3")}
    table = comparison(at)
    assert list(table[""]) == ["pin 1 (blue, dashed)", "this run"]
    assert "raw x" in table["run"][0] and "standardized x" in table["run"][1]
    w, b, loss = lstsq(blog)
    std_rows, _ = reference.run(
        "gd", blog.x, blog.y, step_size=0.0005, iterations=50_000, standardize=True
    )
    for i, rows in enumerate([blog_reference, std_rows]):
        assert table["epochs to 1%"][i] == first_within_1pct(rows, w, b)
        assert table["final loss"][i] == pytest.approx(rows[-1].loss, rel=1e-9)
        assert table["least-squares loss"][i] == pytest.approx(loss, rel=1e-9)
        # W and b in the data's units: the standardized run is reported as W, b too
        assert table["final W"][i] == pytest.approx(rows[-1].w, rel=1e-9)
        assert table["distance from least squares"][i] == pytest.approx(
            math.hypot(rows[-1].w - w, rows[-1].b - b), rel=1e-6
        )
    assert table["epochs to 1%"][1] < table["epochs to 1%"][0]  # standardized gets there first


def test_pinned_run_stays_while_settings_change_and_unpin_clears_it():
    at = open_page()
    assert not overlay_traces(spec_of(at)) and comparison(at) is None
    at.button(key="pin").click()
    at.run()
    pinned = overlay_traces(spec_of(at))
    assert pinned and pinned[0]["name"].startswith("pinned 1: gd, η = 0.0005")
    [w for w in at.select_slider if w.key == "step_size"][0].set_value(0.0003)
    at.run()
    assert overlay_traces(spec_of(at)) == pinned  # the faded copy is the same run
    table = comparison(at)
    assert "η = 0.0005" in table["run"][0] and "η = 0.0003" in table["run"][1]
    assert table["final loss"][1] > table["final loss"][0]  # a smaller step gets less far
    assert len(at.download_button(key="download_comparison").proto.label) > 0
    at.button(key="unpin").click()
    at.run()
    assert not overlay_traces(spec_of(at)) and comparison(at) is None


def test_pinned_overlay_is_the_pinned_runs_last_line_loss_and_path(blog):
    at = open_page()
    at.button(key="pin").click()
    at.run()
    line, curve, path = overlay_traces(spec_of(at))
    *_, last = lrcore.train(blog.x, blog.y, step_size=0.0005, iterations=50_000, every=50_000)
    x_ends = np.array(line["x"])
    np.testing.assert_allclose(line["y"], last.w * x_ends + last.b, rtol=1e-12)
    assert line["line"]["dash"] == "dash" and line["opacity"] < 1
    assert curve["xaxis"] == "x2" and path["xaxis"] == "x3"


# --- the math ---------------------------------------------------------------------------------


def latex(at: AppTest) -> list[str]:
    """The formulas shown, without the $$ around them."""
    return [x.value.strip("$\n") for x in at.latex]


def result(line: str) -> float:
    """The number after a written-out update's last '=' (−1.5×10⁻⁸ and all)."""
    text = line.rsplit(" = ", 1)[1].strip("()").replace("−", "-")
    mantissa, _, power = text.partition("×10")
    power = power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
    return float(f"{mantissa}e{power}" if power else mantissa)


MATH_CASES = {
    "gd": cfg.DEFAULTS.replace(iterations=200),
    "momentum": cfg.DEFAULTS.replace(optimizer="momentum", iterations=200),
    "nesterov": cfg.DEFAULTS.replace(optimizer="nesterov", step_size=0.0003, iterations=200),
    "standardized": cfg.DEFAULTS.replace(standardize=True, step_size=0.1, iterations=30),
}


@pytest.mark.parametrize("case", MATH_CASES)
def test_the_math_panel_gets_every_frames_update_for_the_players_run(case):
    """Open, the panel keeps its formulas and sends the update at each of the player's frames
    (tests/test_live_math.py checks every number); the last one ends at the plain loop's
    last state, to the 10 digits printed."""
    s = MATH_CASES[case]
    at = open_page(s, math=True)
    assert not at.exception
    assert update.RULE_TEX[s.optimizer] in latex(at)
    assert update.LOSS_TEX in latex(at)
    math_data, player = component_of(at, "live_math"), component_of(at, "player")
    assert math_data["run"] == player["id"]
    assert (
        len(math_data["frames"]) == len(player["names"]) == len(figures.frame_epochs(s.iterations))
    )
    assert math_data["frames"][0][0] == "The update at epoch 0\u00a0→\u00a01, where the player is:"
    heading, *lines = math_data["frames"][-1]
    assert heading.startswith(f"The player is at the run's last epoch, {s.iterations:,}")
    data = data_of(s)
    rows, _ = reference.run(
        s.optimizer,
        data.x,
        data.y,
        step_size=s.step_size,
        iterations=s.iterations,
        standardize=s.standardize,
    )
    names = ("u", "c") if s.standardize else ("W", "b")
    shown = [result(line) for name in names for line in lines if line.startswith(name)]
    last = rows[-1]
    if s.standardize:  # u = W·s and c = b + W·m
        m, sd = float(np.mean(data.x)), float(np.std(data.x))
        expected = [last.w * sd, last.b + last.w * m]
    else:
        expected = [last.w, last.b]
    np.testing.assert_allclose(shown, expected, rtol=1e-9)


def test_the_math_panel_follows_a_new_run_and_computes_only_when_open():
    at = open_page(cfg.DEFAULTS.replace(iterations=200))
    assert component_of(at, "live_math") is None  # closed: nothing computed, nothing sent
    at.session_state["math"] = True
    at.run()
    first = component_of(at, "live_math")
    [w for w in at.select_slider if w.key == "step_size"][0].set_value(0.0003)
    at.run()
    second = component_of(at, "live_math")
    assert second["run"] == component_of(at, "player")["id"] != first["run"]
    assert "0 − 0.0003 × " in second["frames"][0][1]


def test_adams_first_step_is_the_step_size():
    """adam's first step has m̂ = g and ŝ = g²: each parameter moves by η whatever g is."""
    s = cfg.DEFAULTS.replace(optimizer="adam", iterations=50, step_size=0.5)
    at = open_page(s, math=True)
    assert not at.exception
    first = component_of(at, "live_math")["frames"][0]
    assert first[1:] == [
        "W₁ = W₀ − η·m̂/(√ŝ + ε) = 0 − 0.5 × (−1) = 0.5",
        "b₁ = b₀ − η·m̂/(√ŝ + ε) = 0 − 0.5 × (−1) = 0.5",
    ]


# --- lessons ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", lessons.LESSONS)
def test_each_lesson_link_loads_with_no_warning_and_shows_its_prompt(name):
    lesson = lessons.LESSONS[name]
    at = open_page({"lesson": name})
    assert not at.exception and not at.warning and not at.error
    assert len(at.info) == 1 and lesson.prompt in at.info[0].value
    assert query(at)["lesson"] == name
    hidden = set(query(at)["hide"].split(","))
    assert hidden == set(lesson.hide)
    assert not hidden & widget_keys(at)  # the controls it hides are not on the page
    for key, value in lesson.settings.items():
        assert query(at)[key] == value
    for _ in range(2):  # and their values hold, reruns after
        at.run()
        assert all(query(at)[key] == value for key, value in lesson.settings.items())
    at.button(key="leave_lesson").click()
    at.run()
    assert not at.info and "lesson" not in query(at) and "hide" not in query(at)
    folded = {name for _, names in sidebar.FOLDS.values() for name in names}  # folds closed
    assert hidden - folded <= widget_keys(at)  # every control is back
    assert all(query(at)[key] == value for key, value in lesson.settings.items())


def test_a_lesson_link_keeps_the_settings_it_names():
    at = open_page({"lesson": "limit", "step_size": "0.0006"})
    assert not at.warning and query(at)["step_size"] == "0.0006"


@pytest.mark.parametrize(
    ("params", "kept", "says"),
    [
        ({"lesson": "nonsense"}, "", "lesson: 'nonsense' is not one of blog, limit, scaling,"),
        ({"hide": "step_size,<script>x</script>,n"}, "n,step_size", "hide: '<script>x</script>'"),
    ],
)
def test_hand_edited_lesson_and_hide_are_lenient(params, kept, says):
    at = open_page(params)
    assert not at.exception and len(at.warning) == 1
    assert says in at.warning[0].value
    key = next(iter(params))
    assert query(at).get(key, "") == kept  # an empty link-only setting leaves the link


def test_lesson_names_agree_with_the_settings_table():
    assert tuple(lessons.LESSONS) == cfg.LESSONS
    for lesson in lessons.LESSONS.values():
        assert set(lesson.hide) <= set(cfg.FIELDS) - set(cfg.LINK_ONLY)


# --- the chart: summary, palette, export ------------------------------------------------------


def test_summary_says_what_each_view_shows(blog):
    at = open_page()
    text = [c.value for c in at.caption if c.value.startswith("Data and line")][0]
    *_, last = lrcore.train(blog.x, blog.y, step_size=0.0005, iterations=50_000, every=50_000)
    w, b, loss = lstsq(blog)
    assert f"epoch 50,000: 1,000 points and the line y = {last.w:.2f}x + {last.b:,.1f}" in text
    assert f"least squares {loss:,.0f}" in text
    assert f"to {last.loss:,.0f} at epoch 50,000" in text


OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}


def colours(value) -> list[str]:
    """Every colour named anywhere in a figure dict."""
    if isinstance(value, dict):
        return [
            c
            for k, v in value.items()
            for c in ([v] if "color" in k.lower() and isinstance(v, str) else colours(v))
        ]
    if isinstance(value, list):
        return [c for v in value for c in colours(v)]
    return []


def hue(colour: str) -> str:
    """'#rrggbb' or 'rgba(r,g,b,a)' as '#RRGGBB', or 'grey' for any neutral grey."""
    if colour in ("white", "black"):
        return "grey"
    if colour.startswith("rgba"):
        r, g, b = (int(float(v)) for v in colour[5:-1].split(",")[:3])
    else:
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "grey" if max(r, g, b) - min(r, g, b) <= 40 else f"#{r:02X}{g:02X}{b:02X}"


def test_every_colour_is_okabe_ito_or_grey(blog):
    at = open_page()
    at.button(key="pin").click()
    at.run()
    frames = list(
        lrcore.train(
            blog.x, blog.y, step_size=0.0005, iterations=1000, at=figures.frame_epochs(1000)
        )
    )
    run = figures.run(blog.x, blog.y, frames, frames)
    found = {hue(c) for c in colours(spec_of(at)) + colours(run)}
    assert found <= OKABE_ITO | {"grey"}, found - OKABE_ITO
    assert len(found - {"grey"}) >= 4


def test_chart_toolbar_keeps_the_png_export():
    config = json.loads(open_page().get("plotly_chart")[0].proto.config)
    assert config.get("displayModeBar", True) is not False
    assert "toImage" not in config.get("modeBarButtonsToRemove", [])
    assert config["toImageButtonOptions"]["format"] == "png"


def test_a_pinned_diverged_run_neither_breaks_nor_stretches_the_views(blog):
    at = open_page(cfg.DEFAULTS.replace(step_size=0.001))
    at.button(key="pin").click()
    at.run()
    [w for w in at.select_slider if w.key == "step_size"][0].set_value(0.0005)
    at.run()
    assert not at.exception and not at.error
    table = comparison(at)
    assert list(table["diverged"]) == [True, False]
    assert table["epochs to 1%"].isna().tolist() == [True, False]
    loss0 = 0.5 * float(np.mean(blog.y**2))  # the loss at W = b = 0
    top = spec_of(at)["layout"]["yaxis2"]["range"][1]
    assert top <= math.log10(10 * loss0)
