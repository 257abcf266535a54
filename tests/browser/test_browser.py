"""The page as a person sees it: `streamlit run app.py` on 127.0.0.1 and Debian's headless
Chromium driven by Playwright. Every wait is on a change in the page, with generous timeouts."""

from __future__ import annotations

import contextlib
import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from support.browser import CHART_STATE, LIVE_CHART, LONG, results, wait_for_change, wait_for_chart

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
    expect(page.locator(PLAYER + " .readout")).to_have_text(
        re.compile(f"^epoch {epoch} "), timeout=LONG
    )


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
    state = page.evaluate(CHART_STATE)
    path, now = (
        next(t for t in state["traces"] if t["name"] == name) for name in ("path", "W, b now")
    )
    assert len(path["x"]) == len(path["y"]) == state["frames"]  # every frame's (W, b)
    assert path["x"][-1] == pytest.approx(now["x"][0], rel=1e-6)  # (the path is float32)
    assert path["y"][-1] == pytest.approx(now["y"][0], rel=1e-6)


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
    wait_for_path(page, 1)  # Plotly draws the frame a moment after the player shows it
    page.get_by_role("button", name="Step forward").click()
    assert scrubber(page) == 1 and readout(page).startswith("epoch 1 ")
    wait_for_path(page, 2)
    frame_line = line_at(page)
    page.get_by_role("button", name="Step back").click()
    assert scrubber(page) == 0
    wait_for_path(page, 1)
    assert line_at(page) != frame_line
    page.locator(PLAYER + " .play").click()  # Play
    expect(page.locator(PLAYER + " input[type=range]")).not_to_have_value(
        re.compile(r"^[0-5]$")
    )  # the cursor moves by itself
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


def wait_for_path(page, points: int) -> None:
    """Wait until the landscape's path, as drawn, has this many points (the frame is in)."""
    page.wait_for_function(
        f"(() => {{ const gd = {LIVE_CHART}; const t = gd && gd._fullData.find("
        f"(t) => t.name === 'path'); return !!t && t.y.length === {points}; }})()",
        timeout=LONG,
    )


def line_at(page) -> list:
    """The fitted line as drawn now."""
    return trace_at(page, "fitted line")


def trace_at(page, name: str) -> list:
    """The y values of the trace called `name` as drawn now."""
    state = page.evaluate(CHART_STATE)
    return next(t["y"] for t in state["traces"] if t["name"] == name)


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


# What happens around a rerun: each frame Plotly draws, with the page's script state then, and
# each change of that state with the frames Plotly has left to play (observed after the
# player's own observer of the same change).
HELD = """(() => {
  const app = document.querySelector("[data-testid='stApp']");
  const gd = CHART, log = window.__held = {frames: [], states: []};
  gd.on("plotly_animatingframe", (e) => log.frames.push([e.name, app.dataset.testScriptState]));
  new MutationObserver(() => log.states.push([app.dataset.testScriptState,
                                              (gd._transitionData._frameQueue || []).length]))
    .observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
})()"""


def plays_on(page, before: int, timeout: float = LONG) -> tuple:
    """Wait (at most `timeout` ms) until the player is past frame `before` and playing, or at
    its last frame; (frame, last frame, playing) as last seen."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        at = scrubber(page)
        last = int(page.locator(PLAYER + " input[type=range]").get_attribute("max"))
        playing = "Pause" in page.locator(PLAYER + " .play").inner_text()
        if (at > before and (playing or at == last)) or time.monotonic() > deadline:
            return at, last, playing
        page.wait_for_timeout(50)


def test_a_rerun_holds_the_run_still_and_it_plays_on_from_where_it_was(page, url):
    """Opening a panel reruns the page but keeps the run: while the page reruns, the run holds
    still (its frames would take the browser's time from the page), then it plays on."""
    open_page(page, url)
    page.evaluate(HELD.replace("CHART", LIVE_CHART))
    expect(page.locator(PLAYER + " input[type=range]")).not_to_have_value(re.compile(r"^[0-9]$"))
    before = scrubber(page)
    for _ in range(8):  # a rerun quicker than a render never shows as running: open, close...
        page.get_by_text("Why this run behaves as it does").click()  # a rerun: the same run
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(
                "window.__held.states.length > 1 && "
                "window.__held.states.at(-1)[0] === 'notRunning'",
                timeout=3_000,
            )
            break
    expect(page.locator(PLAYER + " input[type=range]")).not_to_have_value(str(before), timeout=LONG)
    log = page.evaluate("window.__held")
    running = [left for state, left in log["states"] if state == "running"]
    assert running and all(left == 0 for left in running), log["states"]  # held at once
    during = [name for name, state in log["frames"] if state == "running"]
    assert len(during) <= 1, f"frames drawn while the page reran: {during}"
    # it plays on from where it was: on, or already at its last frame (waited for: once, in CI,
    # it was read while held, at 16 of 103 and 4 frames on, as if a rerun was still under way)
    at, last, playing = plays_on(page, before)
    assert at > before and (playing or at == last), (before, at, last, playing)


def test_touching_a_sidebar_control_holds_the_run_and_it_plays_on_if_no_rerun_came(page, url):
    """A key or a press in the sidebar most likely starts a rerun: the run holds at once (the
    page says it reruns only when the server answers), and plays on when none came."""
    open_page(page, url)
    expect(page.locator(PLAYER + " input[type=range]")).not_to_have_value(re.compile(r"^[0-9]$"))
    # frames left to play (Plotly makes its queue at the first animation: none yet is none left)
    left = f"({LIVE_CHART}._transitionData._frameQueue || []).length"
    # played again from its first frame (in CI the wait below once timed out: most likely the
    # run had played out by then)
    pause(page)
    page.locator(f"{PLAYER} [data-go=first]").click()
    page.locator(PLAYER + " .play").click()
    page.wait_for_function(f"{left} > 0")  # playing
    page.get_by_role("heading", name="Training", exact=True).click()  # sidebar; no rerun
    assert page.evaluate(left) == 0  # held
    held_at = scrubber(page)
    page.wait_for_timeout(500)
    assert scrubber(page) == held_at
    expect(page.locator(PLAYER + " input[type=range]")).not_to_have_value(str(held_at))
    assert "Pause" in page.locator(PLAYER + " .play").inner_text()
