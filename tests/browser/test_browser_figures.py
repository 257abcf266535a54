"""The chart as drawn in Chromium, on a 390-pixel phone and a 1400-pixel screen: each view's
title is drawn, clear of every other text, and the loss view's tick labels (a logarithmic
axis over many decades, one within a decade, a linear one) do not overlap. Boxes are the
drawn labels' getBoundingClientRect(). Screenshots go to /tmp/figures-shots for a person to
look at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly
import pytest

from lrcore.linkpoints import encode_points
from support.browser import LIVE_CHART, LONG, chromium, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/figures-shots")
TITLES = ["Data and fitted line", "Loss by epoch", "Loss landscape over (W, b)"]
# The drawn texts of the live chart, as boxes: the loss view's tick labels, the views' titles
# and every other text (the other views' tick labels, the axis titles, the legend).
TEXTS = f"""(() => {{
  const gd = {LIVE_CHART};
  const box = (e) => {{
    const r = e.getBoundingClientRect();
    return {{text: e.textContent.replace(/\\u200b/g, ""),
             left: r.left, right: r.right, top: r.top, bottom: r.bottom}};
  }};
  const all = (selector) => [...gd.querySelectorAll(selector)]
    .filter((e) => e.textContent.trim()).map(box);
  return {{
    lossX: all("g.x2tick text"),
    lossY: all("g.y2tick text"),
    titles: all(".annotation-text"),
    others: all("g.xtick text, g.ytick text, g.x3tick text, g.y3tick text, .legendtext, " +
                ".g-xtitle text, .g-ytitle text, .g-x2title text, .g-y2title text, " +
                ".g-x3title text, .g-y3title text"),
    ticks: all("g.xtick text, g.ytick text, g.x2tick text, g.y2tick text, g.x3tick text, " +
               "g.y3tick text"),
    axisTitles: all(".g-xtitle text, .g-ytitle text, .g-x2title text, .g-y2title text, " +
                    ".g-x3title text, .g-y3title text"),
    chart: box(gd),
  }};
}})()"""
CASES = {
    "decades": "",  # the blog's run: the loss falls from 2.2e7 to 4.3e4
    "one decade": "?w0=50&b0=3000",  # 5.9e5 to 4.3e4: Plotly's own ticks, 2 and 5 between
    "within a decade": "?w0=50&b0=3900",  # 4.8e4 to 4.3e4
    "linear": "?loss_scale=linear",
}

TABLES = Path(plotly.__file__).parent / "package_data" / "datasets"


def _link(x, y) -> str:
    return f"?dataset=upload&points={encode_points(np.asarray(x, float), np.asarray(y, float))}"


def real_data() -> dict[str, str]:
    """Links to plotly's real tables whose tick labels are the longest the views draw: the
    views' margins are fixed (automargin off), so these must fit them."""
    gapminder = pd.read_csv(TABLES / "gapminder.csv.gz")
    stocks = pd.read_csv(TABLES / "stocks.csv.gz")
    dates = pd.to_datetime(stocks["date"]).dt.strftime("%Y%m%d").astype(float)  # x ≈ 2e7
    rows = gapminder.iloc[:400]
    return {
        "population by year": _link(rows["year"], rows["pop"]),  # y up to 1.3e9
        "life expectancy by population": _link(rows["pop"], rows["lifeExp"]),
        "stocks by date": _link(dates, stocks["GOOG"]),
        "negative millions": _link(-rows["pop"] / 1000, -rows["gdpPercap"] * 1000),
    }


def overlap(a: dict, b: dict, slack: float = 0.5) -> bool:
    """Whether two boxes overlap by more than `slack` pixels both ways."""
    return (
        a["left"] < b["right"] - slack
        and b["left"] < a["right"] - slack
        and a["top"] < b["bottom"] - slack
        and b["top"] < a["bottom"] - slack
    )


def clashes(boxes: list[dict], others: list[dict] = ()) -> list[tuple[str, str]]:
    """Pairs of overlapping boxes: among `boxes`, and between them and `others`."""
    pairs = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]]
    pairs += [(a, b) for a in boxes for b in others]
    return [(a["text"], b["text"]) for a, b in pairs if overlap(a, b)]


def drawn(page, url: str, query: str, narrow: bool) -> dict:
    """Open the page, wait for the run in the chart (on a phone, stacked), and read its texts
    once the page's fonts are in."""
    page.goto(url + "/" + query)
    wait_for_chart(page, timeout=LONG * 2)
    if narrow:
        page.wait_for_function(f"{LIVE_CHART}._fullLayout.xaxis.domain[1] === 1")
    else:
        assert page.evaluate(f"{LIVE_CHART}._fullLayout.xaxis.domain[1]") < 0.5  # side by side
    page.evaluate("document.fonts.ready.then(() => true)")
    return page.evaluate(TEXTS)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    chart = page.locator("[data-testid=stPlotlyChart]:not([data-stale=true])").last
    chart.screenshot(path=str(SHOTS / f"{name}.png"))


def assert_readable(texts: dict) -> None:
    """Every view's title drawn inside the chart, clear of all other text; the loss view's tick
    labels clear of each other."""
    assert [t["text"] for t in texts["titles"]] == TITLES
    chart = texts["chart"]
    for title in texts["titles"]:
        assert title["right"] - title["left"] > 20 and title["bottom"] - title["top"] > 5
        assert chart["left"] <= title["left"] and title["right"] <= chart["right"] + 0.5
        assert chart["top"] <= title["top"] and title["bottom"] <= chart["bottom"] + 0.5
    labels = texts["lossX"] + texts["lossY"]
    assert len(texts["lossX"]) >= 2 and len(texts["lossY"]) >= 2, labels
    assert not clashes(labels), clashes(labels)
    assert not clashes(texts["titles"], labels + texts["others"])


@pytest.fixture(scope="module")
def context():
    """Chromium with a phone-wide window (390 px); a test may widen its own tab."""
    with chromium(width=390, height=844) as browser:
        yield browser


@pytest.fixture(scope="module")
def phone(context):
    page = context.new_page()
    page.set_default_timeout(LONG)
    yield page
    page.close()


@pytest.mark.parametrize("case", CASES)
def test_on_a_phone_titles_are_drawn_and_loss_labels_do_not_overlap(phone, url, case):
    texts = drawn(phone, url, CASES[case], narrow=True)
    shot(phone, f"phone-{case.replace(' ', '-')}")
    assert_readable(texts)
    if case == "decades":  # a label per decade, in powers of ten
        assert [t["text"] for t in texts["lossY"]] == ["105", "106", "107"]


def assert_inside(texts: dict) -> None:
    """Every text (ticks, titles, legend) inside the chart, and no axis title on a tick label."""
    chart = texts["chart"]
    everything = texts["ticks"] + texts["titles"] + texts["others"]
    outside = [
        t["text"]
        for t in everything
        if t["left"] < chart["left"] - 0.5
        or t["right"] > chart["right"] + 0.5
        or t["top"] < chart["top"] - 0.5
        or t["bottom"] > chart["bottom"] + 0.5
    ]
    assert not outside, outside
    assert not clashes(texts["axisTitles"], texts["ticks"])


@pytest.mark.parametrize("width", [390, 1400])
@pytest.mark.parametrize("case", real_data())
def test_real_datas_long_tick_labels_fit_the_views_fixed_margins(context, url, case, width):
    page = context.new_page()
    page.set_default_timeout(LONG)
    page.set_viewport_size({"width": width, "height": 1000 if width > 400 else 844})
    try:
        texts = drawn(page, url, real_data()[case], narrow=width < 400)
        shot(page, f"real-{width}-{case.replace(' ', '-')}")
        assert_inside(texts)
    finally:
        page.close()


def test_on_a_wide_screen_titles_are_drawn_and_loss_labels_do_not_overlap(context, url):
    page = context.new_page()
    page.set_default_timeout(LONG)
    page.set_viewport_size({"width": 1400, "height": 1000})
    try:
        texts = drawn(page, url, "", narrow=False)
        shot(page, "wide")
        assert_readable(texts)
        assert [t["text"] for t in texts["lossY"]] == ["105", "106", "107"]
    finally:
        page.close()
