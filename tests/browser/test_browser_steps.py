"""The step on the landscape in a real browser: the arrows of the update at the player's epoch
(−η∇L, the velocity's part, the step taken) follow the player, frame by frame, with no rerun.
They are read from the chart as drawn (gd._fullData, by the arrows' names) and compared with
the point the chart shows at that frame and the player's readout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lrui import figures
from support.browser import LIVE_CHART, LONG, free_port, serve, wait_for_chart

pytestmark = pytest.mark.browser

PLAYER = ".st-key-player"
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
NAMES = {key: name for key, name, *_ in figures.STEPS}
POINT = "W, b now"  # the current point's trace
# The landscape's traces as drawn, by name: x, y, the hover text and whether in the legend.
DRAWN = f"""(() => {{
  const gd = {LIVE_CHART};
  return Object.fromEntries(gd._fullData.filter((t) => t.xaxis === "x3").map((t) => [t.name,
    {{x: Array.from(t.x), y: Array.from(t.y), text: t.text ?? null, legend: t.showlegend}}]));
}})()"""


@pytest.fixture(scope="module")
def url():
    """The page on a free port of this module's range (8860-8879)."""
    with serve(port=free_port(range(8860, 8880))) as address:
        yield address


def open_run(page, url: str, query: str) -> None:
    """Open the page at `query` and wait until its run has played to the end."""
    page.goto(url + "/" + query)
    state = wait_for_chart(page, timeout=LONG * 2)
    page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']").wait_for(state="attached")
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Play"), timeout=LONG)


def press(page, go: str) -> None:
    before = page.locator(PLAYER + " .readout").inner_text()
    page.locator(f"{PLAYER} [data-go={go}]").click()
    expect(page.locator(PLAYER + " .readout")).not_to_have_text(before)


def shown_epoch(page) -> tuple[int, float, float]:
    """(epoch, W, b) as the player's readout shows them (6 digits)."""
    text = page.locator(PLAYER + " .readout").inner_text().replace("−", "-").replace(",", "")
    found = re.match(r"epoch (\d+) · W = (\S+) · b = (\S+) ·", text)
    return int(found.group(1)), float(found.group(2)), float(found.group(3))


def arrows_at_point(page, momentum: bool, last: bool = False) -> dict:
    """The arrows as drawn, once the chart's point is the readout's: each starts where it
    should (the gradient and the step at the point, the velocity at the gradient's tip), the
    step taken ends where the velocity does, and each hover says its change. At the run's
    `last` epoch they are the update that led there, as the math panel's: they end at the
    point instead."""
    epoch, w, b = shown_epoch(page)
    page.wait_for_function(  # the frame is drawn: the point is the readout's, to its 6 digits
        f"([w, b]) => {{ const t = {DRAWN}[{POINT!r}];"
        " return Math.abs(t.x[0] - w) <= 5e-6 * Math.abs(w) + 1e-9 &&"
        " Math.abs(t.y[0] - b) <= 5e-6 * Math.abs(b) + 1e-9; }",
        arg=[w, b],
    )
    drawn = page.evaluate(DRAWN)
    point = (drawn[POINT]["x"][0], drawn[POINT]["y"][0])
    gradient = drawn[NAMES["gradient"]]
    velocity, step = drawn[NAMES["velocity"]], drawn[NAMES["step"]]
    if last:  # the update's tip (the step taken's; gd's gradient's) is the point
        ends = step if momentum else gradient
        assert (ends["x"][1], ends["y"][1]) == pytest.approx(point, rel=1e-9)
        point = (ends["x"][0], ends["y"][0])
    assert (gradient["x"][0], gradient["y"][0]) == pytest.approx(point, rel=1e-9)
    assert gradient["legend"] and re.match(r"ΔW = \S+, Δb = \S+$", gradient["text"])
    if momentum:
        assert (velocity["x"][0], velocity["y"][0]) == (gradient["x"][1], gradient["y"][1])
        assert (step["x"][0], step["y"][0]) == pytest.approx(point, rel=1e-9)
        assert (step["x"][1], step["y"][1]) == pytest.approx(
            (velocity["x"][1], velocity["y"][1]), rel=1e-9
        )
        assert velocity["legend"] and step["legend"]
    else:  # gd: its step is its gradient's; nothing else is drawn or named
        assert velocity["x"] == [None] and step["x"] == [None]
        assert not velocity["legend"] and not step["legend"]
    return drawn


@pytest.mark.parametrize(
    ("query", "momentum"),
    [("?iterations=2000", False), ("?optimizer=momentum&iterations=2000&standardize=true", True)],
)
def test_the_arrows_follow_the_player_with_no_rerun(page, url, query, momentum):
    sent = []  # every message the page sends the server: a rerun would be one of them
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    open_run(page, url, query)
    quiet = len(sent)
    press(page, "first")
    assert shown_epoch(page)[0] == 0
    seen = [arrows_at_point(page, momentum)]
    for expected in (1, 2):
        press(page, "forward")
        assert shown_epoch(page)[0] == expected
        seen.append(arrows_at_point(page, momentum))
        # moved: the gradient's arrow starts at the new point (a frame is one epoch here)
        before, now = seen[-2][NAMES["gradient"]], seen[-1][NAMES["gradient"]]
        assert (now["x"][0], now["y"][0]) != (before["x"][0], before["y"][0])
        if momentum:  # the step taken k−1 → k ended where this frame's point is
            last_step = seen[-2][NAMES["step"]]
            assert (now["x"][0], now["y"][0]) == pytest.approx(
                (last_step["x"][1], last_step["y"][1]), rel=1e-9
            )
    page.locator(f"{PLAYER} input[type=range]").fill("60")  # the scrubber, halfway
    assert 0 < shown_epoch(page)[0] < 2000
    arrows_at_point(page, momentum)
    page.locator(PLAYER + " .play").click()  # playing: the arrows keep up frame by frame
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Play"), timeout=LONG)
    assert shown_epoch(page)[0] == 2000
    arrows_at_point(page, momentum, last=True)
    assert len(sent) == quiet, "the player asked the server for a rerun"
    assert page.locator(ERRORS).count() == 0
