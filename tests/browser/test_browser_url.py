"""The address bar, the sliders and the run on screen never disagree, whatever the timing of key
presses: a student holding an arrow key sends bursts of presses 20-60 ms apart, each asking for
a rerun while the last one is still in flight (and while the browser still holds an address
older than the one the run in flight writes).

After each burst, once the page is idle: the slider moved by exactly the net number of presses
(no press lost), the address holds the slider's value, and a fresh tab opened at the address
shows the same run (the player's run id) with the same numbers (the result table).
"""

from __future__ import annotations

import random
import time
import urllib.parse

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from lrui.text import label
from support.browser import LONG, results, serve, wait_for_chart

pytestmark = pytest.mark.browser

LINK = "?optimizer=nesterov&step_size=0.0003&iterations=20000"
SLIDERS = ("step_size", "momentum", "iterations")
BURSTS = 8
QUIET = 500  # ms in which nothing changes, once every rerun asked for has finished: idle

# The run the player holds (its element lives in the component's shadow root).
RUN_ID = """(() => {
  const host = [...document.querySelectorAll(".st-key-player *")].find((e) => e.shadowRoot);
  const player = host && host.shadowRoot.querySelector(".player");
  return player ? player.dataset.run ?? null : null;
})()"""
# Quiet: the script is not running, nothing is stale, and for `quiet` ms nothing has changed:
# not the script's state, the address, the run the player holds, any slider's value, nor the
# messages on the wire (`wire`: a count of them).
QUIET_FOR = f"""([quiet, wire]) => {{
  const app = document.querySelector("[data-testid=stApp]");
  const running = !app || app.dataset.testScriptState !== "notRunning" ||
    !!document.querySelector("[data-stale=true]");
  const sliders = [...document.querySelectorAll("input[type=range]")].map((e) => e.value);
  const now = JSON.stringify([running, location.search, {RUN_ID}, sliders, wire]);
  const seen = window.__quiet ??= {{now: null, since: 0}};
  if (seen.now !== now) {{ seen.now = now; seen.since = performance.now(); }}
  return !running && {RUN_ID} !== null && performance.now() - seen.since >= quiet;
}}"""


@pytest.fixture(scope="module")
def url():
    """The page, served without its file watcher: the server runs the code it started with
    even when files change meanwhile (a fresh tab must get the same code as the first)."""
    with serve(extra=("--server.fileWatcherType", "none")) as address:
        yield address


class Wire:
    """Streamlit's messages on the page's websocket that say whether a run is due: each rerun
    the page asks for, and each run the server finishes (an interrupted run does not count)."""

    def __init__(self, page):
        self.count = 0  # such messages so far
        self.asked = self.finished = 0  # the count at the last of each
        page.on("websocket", self._watch)

    def _watch(self, socket) -> None:
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, bytes):
            msg = BackMsg.FromString(payload)
            if msg.WhichOneof("type") == "rerun_script":
                self.count += 1
                self.asked = self.count

    def _received(self, payload) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg.FromString(payload)
            if (
                msg.WhichOneof("type") == "script_finished"
                and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
            ):
                self.count += 1
                self.finished = self.count

    def idle(self, page) -> None:
        """Wait until every rerun the page asked for has finished and the page has then been
        quiet for QUIET ms (counted from now at the earliest)."""
        page.evaluate("window.__quiet = null")
        deadline = time.monotonic() + LONG / 1000
        while not (self.finished > self.asked and page.evaluate(QUIET_FOR, [QUIET, self.count])):
            assert time.monotonic() < deadline, "the page did not come to rest"
            page.wait_for_timeout(50)  # a poll (Playwright hands over wire events meanwhile)


def address(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def number(text: str) -> float:
    """A slider's shown value ("20,000", "0.0003", "0.900") as a number."""
    return float(text.replace(",", ""))


def open_at(page, link: str) -> None:
    page.goto(link)
    wait_for_chart(page, timeout=LONG * 2)
    page.wait_for_function(f"{RUN_ID} !== null")


def test_bursts_of_key_presses_leave_slider_address_and_run_in_agreement(browser, page, url):
    wire = Wire(page)
    open_at(page, url + "/" + LINK)
    wire.idle(page)
    fresh = browser.new_page()
    fresh.set_default_timeout(LONG)
    rng = random.Random(20261130)
    try:
        for burst in range(BURSTS):
            name = SLIDERS[burst % len(SLIDERS)]
            slider = page.get_by_role("slider", name=label(name))
            step, lo, hi = (float(slider.get_attribute(a)) for a in ("step", "min", "max"))
            before = float(slider.input_value())
            keys = [rng.choice(("ArrowLeft", "ArrowRight")) for _ in range(rng.choice((2, 3)))]
            page.bring_to_front()  # (a tab behind another runs its timers late)
            slider.focus()
            for i, key in enumerate(keys):
                if i:
                    page.wait_for_timeout(rng.randint(20, 60))  # the burst's timing, not a wait
                page.keyboard.press(key)
            wire.idle(page)
            what = f"burst {burst}: {name} {keys} from {before:g}"
            net = keys.count("ArrowRight") - keys.count("ArrowLeft")
            expected = min(max(before + net * step, lo), hi)
            # Property 1: no key press is lost: the slider moved by the net number of presses.
            assert float(slider.input_value()) == pytest.approx(expected, abs=step / 2), what
            # Property 2: the address holds exactly what the slider shows.
            shown = number(slider.get_attribute("aria-valuetext"))
            link = address(page)
            assert float(link[name]) == pytest.approx(shown, rel=1e-12), (what, link)
            # Property 3: the address opens the very run on screen, in a fresh session.
            run, numbers = page.evaluate(RUN_ID), results(page)
            open_at(fresh, page.url)
            assert results(fresh) == numbers, what
            assert fresh.evaluate(RUN_ID) == run, what
            assert address(fresh) == link, what
    finally:
        fresh.close()


def test_back_and_forward_and_a_typed_address_load_their_run(page, url):
    """The address bar still leads: the back and forward buttons bring back the runs they
    name, and an address typed in the same tab loads its settings."""
    wire = Wire(page)
    open_at(page, url + "/" + LINK)
    wire.idle(page)
    slider = page.get_by_role("slider", name=label("step_size"))
    first, start = page.url, slider.get_attribute("aria-valuetext")
    slider.focus()
    page.keyboard.press("ArrowRight")
    wire.idle(page)
    second, moved = page.url, slider.get_attribute("aria-valuetext")
    assert number(moved) > number(start) and address(page)["step_size"] == moved
    page.go_back()
    wire.idle(page)
    assert (page.url, slider.get_attribute("aria-valuetext")) == (first, start)
    page.go_forward()
    wire.idle(page)
    assert (page.url, slider.get_attribute("aria-valuetext")) == (second, moved)
    open_at(page, url + "/?optimizer=nesterov&step_size=0.001&iterations=20000")
    wire.idle(page)
    assert slider.get_attribute("aria-valuetext") == "0.001"
    assert address(page)["step_size"] == "0.001"
