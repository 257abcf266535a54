"""The error along each eigen-direction in a real browser (issue 22, point 2): opening "Why it
converges" draws the chart, and its markers follow the player (first, step, last, the scrubber)
to the player's epoch, at the errors the chart's own lines hold there, with no rerun. The
landscape shows the two eigen-directions. Screenshots go to /tmp/directions-shots for a person
to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lrui import figures
from lrui.explain import directions as view
from support.browser import LIVE_CHART, LONG, free_port, serve, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/directions-shots")
PLAYER = ".st-key-player"
READOUT = ".st-key-directions_marker .marker-readout"
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
QUERY = "?iterations=2000"  # a short blog run: its frames are single epochs at the start
CHART = (
    f'[...document.querySelectorAll(".st-key-{view.CHART} .js-plotly-plot")]'
    '.filter(el => !el.closest("[data-stale=true]")).pop()'
)
# The markers as drawn, each direction's line as drawn, and the player's frame.
MARKERS = f"""(() => {{
  const gd = {CHART};
  const trace = (pick) => gd._fullData.find(pick);
  const uids = {list(view.UIDS)!r};
  return {{
    meta: gd._fullLayout.meta,
    frame: window.__lrFrame,
    markers: uids.map((uid) => {{
      const t = trace((t) => t.uid === uid);
      return {{x: t.x[0] ?? null, y: t.y[0] ?? null}};
    }}),
    lines: gd._fullData.filter((t) => t.mode === "lines" && !t.legendgroup)
      .map((t) => ({{name: t.name, x: Array.from(t.x), y: Array.from(t.y)}})),
  }};
}})()"""


@pytest.fixture(scope="module")
def url():
    """The page on a free port of this module's own range (8860-8899): on a machine where
    several test runs start servers, a shared range lets one find another's server healthy."""
    with serve(port=free_port(range(8860, 8900))) as address:
        yield address


def open_directions(page, url: str) -> str:
    """Open the page, wait for its run to play to the end, open the expander and wait for its
    markers to follow the run; the run's id."""
    page.goto(url + "/" + QUERY)
    state = wait_for_chart(page, timeout=LONG * 2)
    run = state["meta"]
    page.locator(f"{PLAYER} .player[data-playing='{run}']").wait_for(state="attached")
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Play"), timeout=LONG)
    page.get_by_text("Why it converges: the error along each direction").click()
    page.locator(f"{READOUT}[data-run='{run}']").wait_for(state="attached")
    return run


def at_frame(page, index: int) -> dict:
    """Wait until the markers were moved to frame `index`, and read the chart."""
    page.locator(f"{READOUT}[data-index='{index}']").wait_for(state="attached")
    return page.evaluate(MARKERS)


def follows(seen: dict) -> None:
    """The markers sit at the player's epoch (none at epoch 0: a log axis has no 0), each on
    its direction's line at that epoch."""
    epoch = seen["frame"]["epoch"]
    for marker, line in zip(seen["markers"], seen["lines"], strict=True):
        if epoch == 0:
            assert marker == {"x": None, "y": None}
            continue
        assert marker["x"] == epoch
        assert marker["y"] == pytest.approx(line["y"][line["x"].index(epoch)], rel=1e-12)


def press(page, go: str) -> dict:
    before = page.locator(PLAYER + " .readout").inner_text()
    page.locator(f"{PLAYER} [data-go={go}]").click()
    expect(page.locator(PLAYER + " .readout")).not_to_have_text(before)
    return at_frame(page, page.evaluate("window.__lrFrame.index"))


def test_the_markers_follow_the_player_with_no_rerun(page, url):
    sent = []  # every message the page sends the server: a rerun would be one of them
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    run = open_directions(page, url)
    last = page.evaluate("window.__lrFrame.index")
    seen = at_frame(page, last)
    assert seen["meta"] == run and seen["frame"]["epoch"] == 2000
    assert [line["name"][:11] for line in seen["lines"]] == ["direction 1", "direction 2"]
    follows(seen)
    quiet = len(sent)
    seen = press(page, "first")
    assert seen["frame"]["epoch"] == 0
    follows(seen)
    for expected in (1, 2, 3):
        seen = press(page, "forward")
        assert seen["frame"]["epoch"] == expected
        follows(seen)
    # the chart drawn again from its figure (a rerun, a resize): markers back at the last
    # frame, and put back where the player is
    page.evaluate(
        f"(() => {{ const gd = {CHART}; const k = {list(view.UIDS)!r}.map((uid) => "
        "gd.data.findIndex((t) => t.uid === uid)); return window.Plotly.restyle(gd, "
        "{x: [[2000], [2000]], y: [[1], [1]]}, k); })()"
    )
    page.wait_for_function(f"{CHART}._fullData.find((t) => t.uid === 'now 1').x[0] === 3")
    follows(page.evaluate(MARKERS))
    page.locator(f"{PLAYER} input[type=range]").fill("60")  # the scrubber, halfway
    seen = at_frame(page, 60)
    assert 0 < seen["frame"]["epoch"] < 2000
    follows(seen)
    text = page.locator(READOUT).inner_text()
    assert text.startswith(f"At the player's epoch, {seen['frame']['epoch']:,}:")
    seen = press(page, "last")
    follows(seen)
    assert len(sent) == quiet, "the player or the markers asked the server for a rerun"
    assert page.get_attribute("[data-testid=stApp]", "data-test-script-state") == "notRunning"
    assert page.locator(ERRORS).count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".st-key-directions").screenshot(path=str(SHOTS / "expander.png"))


def test_the_landscape_shows_the_two_eigen_directions(page, url):
    open_directions(page, url)
    drawn = page.evaluate(
        f"(() => {{ const gd = {LIVE_CHART}; return gd._fullData.filter((t) => "
        f"{list(figures.DIRECTION_NAMES)!r}.includes(t.name)).map((t) => "
        "({name: t.name, axis: t.xaxis, x: Array.from(t.x), y: Array.from(t.y)})); })()"
    )
    assert [t["name"] for t in drawn] == list(figures.DIRECTION_NAMES)
    for t in drawn:
        assert t["axis"] == "x3" and len(t["x"]) == 2
        assert all(v is not None for v in t["x"] + t["y"])
