"""Issue 4 in a real browser: a CSV file through the page's own file input, points left out by
dragging a box on the data view (and brought back the same way), and a bad file. Screenshots
go to /tmp/data-shots for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

import lrcore
from lrcore.csvdata import load_csv
from support.browser import CHART_STATE, LIVE_CHART, LONG, results, wait_for_change
from support.browser import wait_for_chart as chart_ready

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/data-shots")
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
PLAYER = ".st-key-player"
# A rerun that replaces the chart while the player animates it can leave Plotly's frame loop
# running on the old, purged chart (the player's, not this feature's; reported): not counted.
PURGED = "setting '_currentFrame'"
CSV = b"hours,score\n1,52\n2,61\n3,60\n4,70\n5,77\n6,75\n7,83\n8,90\n"
# The page coordinates of a data point (x, y) on the data view.
TO_PAGE = f"""([x, y]) => {{
  const gd = {LIVE_CHART}, box = gd.getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return [box.left + xa._offset + xa.d2p(x), box.top + ya._offset + ya.d2p(y)];
}}"""


@pytest.fixture
def page(browser, url):
    SHOTS.mkdir(exist_ok=True)
    page = browser.new_page()
    page.set_default_timeout(LONG)
    page.on("pageerror", lambda error: PURGED in str(error) or page.errors.append(str(error)))
    page.errors = []
    yield page
    page.close()


def open_page(page, url: str, query: str = "") -> dict:
    page.goto(url + "/" + query)
    state = chart_ready(page, timeout=LONG * 2)
    page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']").wait_for(state="attached")
    return state


def trace(state: dict, name_start: str) -> dict:
    return next(t for t in state["traces"] if str(t["name"]).startswith(name_start))


def least_squares_w(page) -> float:
    """W of the least-squares answer, as the result table shows it."""
    return float(results(page)["least squares"]["W"].replace("−", "-"))


def drag_box(page, state: dict, corner: tuple[float, float], other: tuple[float, float]) -> None:
    """Drag a selection box on the data view between two points given in data units, with the
    run paused (a drag while the run plays is not what this test is about). `state`: the chart
    as last seen; its run must be in the chart and started first, or it would start playing
    (and the chart be drawn again) in the middle of the drag."""
    page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']").wait_for(state="attached")
    button = page.locator(PLAYER + " .play")
    if "Pause" in button.inner_text():
        button.click()
    expect(button).to_have_text(re.compile("Play"))
    start, end = page.evaluate(TO_PAGE, corner), page.evaluate(TO_PAGE, other)
    page.mouse.move(*start)
    page.mouse.down()
    for k in range(1, 9):
        page.mouse.move(
            start[0] + (end[0] - start[0]) * k / 8, start[1] + (end[1] - start[1]) * k / 8
        )
    page.mouse.up()


def upload(page, raw: bytes, name: str) -> None:
    """Open the sidebar's "Your own data" section and give the file input a file."""
    section = page.locator("[data-testid=stExpander]").filter(has_text="Your own data")
    if not section.locator("input[type=file]").is_visible():
        section.locator("summary").click()
    section.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": raw}]
    )


def test_an_uploaded_file_is_drawn_fitted_and_put_in_the_link(page, url):
    before = open_page(page, url)
    upload(page, CSV, "scores.csv")
    after = wait_for_change(page, before, timeout=LONG)
    expected = load_csv(CSV).data
    data = trace(after, "data")
    assert data["x"] == expected.x.tolist() and data["y"] == expected.y.tolist()
    page.wait_for_function("location.search.includes('dataset=upload')")
    assert "points=v1." in page.url
    sidebar = page.locator("[data-testid=stSidebar]")
    expect(sidebar).to_contain_text("8 points from scores.csv")
    w = lrcore.closed_form(expected.x, expected.y).w
    assert least_squares_w(page) == pytest.approx(w, rel=1e-5)
    page.screenshot(path=SHOTS / "uploaded.png", full_page=True)
    assert page.locator(ERRORS).count() == 0 and page.errors == []


def test_a_box_leaves_points_out_and_a_second_box_brings_them_back(page, url):
    data = lrcore.load_builtin("anscombe_3")  # the outlier is row 2: (13, 12.74)
    before = open_page(page, url, "?dataset=anscombe_3")
    w_all = least_squares_w(page)
    drag_box(page, before, (12.5, 13.0), (13.5, 12.4))
    out = wait_for_change(page, before, timeout=LONG)
    assert trace(out, "left out")["x"] == [13.0] and trace(out, "left out")["y"] == [12.74]
    assert len(trace(out, "data")["x"]) == 10
    page.wait_for_function("location.search.includes('exclude=2')")
    keep = np.arange(len(data)) != 2
    (w, _), *_ = np.linalg.lstsq(
        np.column_stack([data.x[keep], np.ones(10)]), data.y[keep], rcond=None
    )
    expect(page.get_by_text("1 of 11 points are left out")).to_be_visible()
    assert least_squares_w(page) == pytest.approx(w, rel=1e-5) and least_squares_w(page) != w_all
    legend = page.evaluate(
        f"[...{LIVE_CHART}.querySelectorAll('.legendtext')].map((t) => t.textContent)"
    )
    assert "left out (1)" in legend
    page.screenshot(path=SHOTS / "left-out.png", full_page=True)
    drag_box(page, out, (12.5, 13.0), (13.5, 12.4))  # the hollow point again: it comes back
    back = wait_for_change(page, out, timeout=LONG)
    assert trace(back, "left out")["x"] == [None] and len(trace(back, "data")["x"]) == 11
    page.wait_for_function("!location.search.includes('exclude=')")
    assert least_squares_w(page) == w_all
    assert page.locator(ERRORS).count() == 0 and page.errors == []


def test_a_bad_file_says_why_in_plain_text_and_keeps_the_data(page, url):
    before = open_page(page, url, "?dataset=anscombe_1")
    name = "<img src=x onerror=window.pwned=1>.csv"
    upload(page, b"x,y\n1,2\n", name)
    error = page.locator("[data-testid=stAlertContentError]")
    expect(error).to_contain_text(
        f"{name} cannot be used: a line needs at least 2 rows of data, and this file has 1."
    )
    assert page.evaluate("window.pwned") is None
    assert page.evaluate(CHART_STATE)["traces"][0]["x"] == before["traces"][0]["x"]
    assert "dataset=anscombe_1" in page.url
    page.screenshot(path=SHOTS / "bad-file.png", full_page=True)
    assert page.locator("[data-testid=stException]").count() == 0 and page.errors == []


def test_the_column_boxes_show_each_column_name_whole(page, url):
    """Side by side, each box had half the sidebar and cut a name like "final exam score
    (percent)" short: each box's text must fit it (the input scrolls nothing)."""
    names = ("hours studied per week", "final exam score (percent)")
    raw = (",".join(names) + "\n1,52\n2,61\n5,77\n7,83\n8,84\n").encode()
    before = open_page(page, url)
    upload(page, raw, "exam.csv")
    wait_for_change(page, before, timeout=LONG)
    for label, name in zip(("x column", "y column"), names, strict=True):
        box = page.get_by_role("combobox", name=label)
        expect(box).to_have_value(name)
        fits = box.evaluate("(el) => el.scrollWidth <= el.clientWidth")
        assert fits, f"the {label} box cuts {name!r}"
    page.locator("[data-testid=stSidebar]").screenshot(path=SHOTS / "columns.png")
    assert page.locator(ERRORS).count() == 0 and page.errors == []
