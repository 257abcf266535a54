"""The player over a chart that is drawn again: a run is taken up where it was, never played
again from the start (issue 11, point 8: "after opening every expander, a finished run played
again")."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from support.browser import LIVE_CHART, LONG, wait_for_chart

pytestmark = pytest.mark.browser

PLAYER = ".st-key-player"


def test_a_finished_run_stays_finished_when_the_chart_loses_its_frames(page, url):
    """Plotly drops a chart's frames when Streamlit hands it the figure again (a resize, an
    expander opening): the player puts the run in again, and a run that had finished (here:
    sent to its last epoch) stays there, paused, instead of playing again."""
    page.goto(url + "/")
    state = wait_for_chart(page, timeout=LONG * 2)
    player = page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']")
    player.wait_for(state="attached")
    page.locator(f"{PLAYER} [data-go=last]").click()
    scrub = page.locator(PLAYER + " input[type=range]")
    last = scrub.get_attribute("max")
    expect(scrub).to_have_value(last)
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Play"))
    frames = page.evaluate(f"{LIVE_CHART}._transitionData._frames.length")
    # what Plotly does to the chart when it is drawn again: its frames are gone
    player.evaluate("(el) => el.removeAttribute('data-playing')")
    page.evaluate(f"""(() => {{
      const gd = {LIVE_CHART};
      window.__animated = 0;
      gd.on("plotly_animatingframe", () => window.__animated++);
      return window.Plotly.deleteFrames(gd, [0]);  // (one is enough to lose the run)
    }})()""")
    player.wait_for(state="attached")  # the player took the run up again
    # read at once (a run played again would be back at its last epoch some seconds later)
    assert page.evaluate(f"{LIVE_CHART}._transitionData._frames.length") == frames
    assert "Play" in page.locator(PLAYER + " .play").inner_text()
    assert scrub.input_value() == last
    assert page.evaluate("window.__animated") <= 1  # the last frame drawn again, no more
    assert page.evaluate("window.__lrFrame.index") == int(last)


def test_a_run_playing_plays_on_when_the_chart_loses_its_frames(page, url):
    page.goto(url + "/")
    state = wait_for_chart(page, timeout=LONG * 2)
    player = page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']")
    player.wait_for(state="attached")
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Pause"))
    player.evaluate("(el) => el.removeAttribute('data-playing')")
    page.evaluate(f"window.Plotly.deleteFrames({LIVE_CHART}, [0])")
    player.wait_for(state="attached")
    scrub = page.locator(PLAYER + " input[type=range]")
    expect(scrub).to_have_value(scrub.get_attribute("max"), timeout=LONG)  # it played on
