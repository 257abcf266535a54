"""The page as a person sees it: `streamlit run app.py` on 127.0.0.1 and Debian's headless
Chromium driven by Playwright. Every wait is on a change in the page, with generous timeouts."""

from __future__ import annotations

import re

import pytest
from browser import CHART_STATE, LIVE_CHART, LONG, results, wait_for_change, wait_for_chart
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
PLAYER = ".st-key-player"


def open_page(page, url: str, query: str = "") -> dict:
    """Open the page and wait until its run is drawn and the player has started playing it."""
    page.goto(url + "/" + query)
    state = wait_for_chart(page, timeout=LONG * 2)
    page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']").wait_for(state="attached")
    return state


def drawn(page) -> dict:
    """What each view has drawn: data points, the loss curve's path, contour paths."""
    return page.evaluate(f"""(() => {{
      const gd = {LIVE_CHART};
      const count = (sel) => gd.querySelectorAll(sel).length;
      const longest = (sel) => Math.max(0, ...[...gd.querySelectorAll(sel)]
        .map((p) => (p.getAttribute("d") || "").length));
      return {{points: count(".xy .scatterlayer .point"),
               curve: longest(".x2y2 .scatterlayer path.js-line"),
               contours: longest(".x3y3 .scatterlayer path.js-fill")}};
    }})()""")


def readout(page) -> str:
    return page.locator(PLAYER + " .readout").inner_text()


def scrubber(page) -> int:
    return int(page.locator(PLAYER + " input[type=range]").input_value())


def pause(page) -> None:
    button = page.locator(PLAYER + " .play")
    if "Pause" in button.inner_text():
        button.click()
    expect(button).to_have_text(re.compile("Play"))


def expect_epoch(page, epoch: str) -> None:
    """Wait until the player shows this epoch (as written, e.g. '50,000')."""
    expect(page.locator(PLAYER + " .readout")).to_have_text(re.compile(f"^epoch {epoch} "),
                                                            timeout=LONG)


def test_page_loads_with_three_views_and_no_error(page, url):
    state = open_page(page, url)
    assert page.locator(ERRORS).count() == 0
    assert state["frames"] > 100
    views = drawn(page)
    assert views["points"] == 1000
    assert views["curve"] > 100 and views["contours"] > 100


def test_each_new_run_plays_by_itself_to_the_last_epoch(page, url):
    open_page(page, url)
    expect_epoch(page, "50,000")
    assert scrubber(page) == int(page.locator(PLAYER + " input").get_attribute("max"))


def test_keyboard_on_a_slider_changes_the_chart(page, url):
    before = open_page(page, url)
    slider = page.get_by_role("slider", name="Noise standard deviation")
    slider.focus()
    slider.press("ArrowRight")
    after = wait_for_change(page, before, timeout=LONG)
    assert after["traces"][0]["y"] != before["traces"][0]["y"]  # new data drawn
    page.wait_for_function("location.search.includes('noise=500')")  # set as the run ends
    assert page.locator(ERRORS).count() == 0


def test_play_step_and_scrub_move_the_epoch_cursor(page, url):
    open_page(page, url)
    pause(page)
    page.get_by_role("button", name="First epoch").click()
    assert scrubber(page) == 0 and readout(page).startswith("epoch 0 ")
    page.get_by_role("button", name="Step forward").click()
    assert scrubber(page) == 1 and readout(page).startswith("epoch 1 ")
    frame_line = line_at(page)
    page.get_by_role("button", name="Step back").click()
    assert scrubber(page) == 0 and line_at(page) != frame_line
    page.locator(PLAYER + " .play").click()  # Play
    expect(page.locator(PLAYER + " input[type=range]")).not_to_have_value(
        re.compile(r"^[0-5]$"))  # the cursor moves by itself
    pause(page)
    at = scrubber(page)
    assert at > 5
    epoch = int(re.match(r"epoch ([\d,]+) ", readout(page)).group(1).replace(",", ""))
    state = page.evaluate(CHART_STATE)
    assert epoch > 5 and state["active"] is None  # no Plotly slider: the player is the cursor
    scrub = page.locator(PLAYER + " input[type=range]")
    scrub.focus()
    scrub.press("End")
    expect_epoch(page, "50,000")


def line_at(page) -> list:
    """The fitted line as drawn now (trace 'fitted line')."""
    state = page.evaluate(CHART_STATE)
    return next(t["y"] for t in state["traces"] if t["name"] == "fitted line")


def test_a_copied_link_shows_the_same_numbers(browser, page, url):
    before = open_page(page, url)
    slider = page.get_by_role("slider", name="Step size (learning rate)")
    slider.focus()
    slider.press("ArrowLeft")
    wait_for_change(page, before, timeout=LONG)
    page.wait_for_function("location.search.includes('step_size=0.0004')")
    link = page.url
    numbers = results(page)
    other = browser.new_page()
    other.set_default_timeout(LONG)
    try:
        shown = open_page(other, link)
        assert shown["meta"] == page.evaluate(CHART_STATE)["meta"]
        assert results(other) == numbers
        assert other.url == link
    finally:
        other.close()
