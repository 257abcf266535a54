"""The math panel's live update in a real browser: it follows the player (first, step, last,
play) with no rerun, and fits a 390-pixel phone screen. Screenshots go to /tmp/math-shots for
a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from support.browser import LONG, free_port, serve, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/math-shots")
PLAYER = ".st-key-player"
MATH = ".st-key-live_math"
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
QUERY = "?iterations=2000"  # a short blog run: its frames are single epochs at the start
SUBSCRIPT = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


@pytest.fixture(scope="module")
def url():
    """The page on a free port of this module's range (8700-8749)."""
    with serve(port=free_port(range(8700, 8750))) as address:
        yield address


def open_math(page, url: str) -> None:
    """Open the page, wait for its run to play to the end, and open the math panel."""
    page.goto(url + "/" + QUERY)
    state = wait_for_chart(page, timeout=LONG * 2)
    page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']").wait_for(state="attached")
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Play"), timeout=LONG)
    page.get_by_text("The math, with this run's numbers").click()
    page.locator(f"{MATH} .live[data-run='{state['meta']}']").wait_for(state="attached")


READ = str.maketrans({"−": "-", ",": None})  # a number as the page writes it, for float()


def readout(page) -> tuple[int, float]:
    """(epoch, W) as the player shows them: 'epoch 1,234 · W = 49.6412 · b = …'."""
    text = page.locator(PLAYER + " .readout").inner_text()
    found = re.match(r"epoch ([\d,]+) · W = (−?[\d,.]+) ·", text)
    return int(found.group(1).replace(",", "")), float(found.group(2).translate(READ))


def math_shown(page) -> tuple[str, list[str]]:
    """The panel's heading and its lines, as shown."""
    heading = page.locator(MATH + " .heading").inner_text().replace("\u00a0", " ")
    return heading, [t.replace("\n", " ") for t in page.locator(MATH + " .line").all_inner_texts()]


def w_line(lines: list[str]) -> dict:
    """The W update: its epochs, the W it starts from and the W it gives."""
    line = next(t for t in lines if t.startswith("W"))
    left, _, put_in, result = [part.strip() for part in re.split(r"\s*= ", line)]
    number = re.match(r"\(?(−?[0-9.]+)", put_in).group(1)
    return {
        "to": int(left[1:].translate(SUBSCRIPT)),
        "from": float(number.replace("−", "-")),
        "gives": float(result.replace("−", "-")),
    }


def follows(page, epoch: int, w: float, last: bool = False) -> None:
    """The panel shows the update at the player's epoch (at the last one: the update that led
    there), starting from (or giving) the W the player shows, to its 6 digits."""
    heading, lines = math_shown(page)
    update = w_line(lines)
    if last:
        assert heading.startswith(f"The player is at the run's last epoch, {epoch:,}")
        assert update["to"] == epoch and update["gives"] == pytest.approx(w, rel=5e-6)
    else:
        assert heading == f"The update at epoch {epoch:,} → {epoch + 1:,}, where the player is:"
        assert update["to"] == epoch + 1 and update["from"] == pytest.approx(w, rel=5e-6)


def press(page, go: str) -> None:
    before = page.locator(PLAYER + " .readout").inner_text()
    page.locator(f"{PLAYER} [data-go={go}]").click()
    expect(page.locator(PLAYER + " .readout")).not_to_have_text(before)


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two opaque CSS colours 'rgb(r, g, b)'."""

    def luminance(colour: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", colour)[:3]]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted([luminance(a), luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(MATH).scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.locator(".st-key-math").screenshot(path=str(SHOTS / f"{name}.png"))


def test_the_math_follows_the_player_with_no_rerun(page, url):
    sent = []  # every message the page sends the server: a rerun would be one of them
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    open_math(page, url)
    epoch, w = readout(page)
    assert epoch == 2000
    follows(page, epoch, w, last=True)  # it opened where the player was
    quiet = len(sent)
    press(page, "first")
    assert readout(page)[0] == 0
    follows(page, *readout(page))
    for expected in (1, 2):
        press(page, "forward")
        epoch, w = readout(page)
        assert epoch == expected
        follows(page, epoch, w)
    press(page, "last")
    follows(page, *readout(page), last=True)
    page.locator(f"{PLAYER} input[type=range]").fill("60")  # the scrubber, halfway
    epoch, w = readout(page)
    assert 0 < epoch < 2000
    follows(page, epoch, w)
    page.locator(PLAYER + " .play").click()  # playing: it keeps up frame by frame
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Play"), timeout=LONG)
    follows(page, *readout(page), last=True)
    assert len(sent) == quiet, "the player or the math asked the server for a rerun"
    shot(page, "desktop")
    assert page.locator(ERRORS).count() == 0


def test_a_new_run_brings_its_own_numbers_and_the_math_follows_it(page, url):
    open_math(page, url)
    old = page.locator(MATH + " .live").get_attribute("data-run")
    slider = page.get_by_role("slider", name="Step size (learning rate)")
    slider.focus()
    slider.press("ArrowLeft")  # 0.0005 -> 0.0004: a new run
    page.locator(f"{MATH} .live:not([data-run='{old}'])").wait_for(state="attached")
    new = page.locator(MATH + " .live").get_attribute("data-run")
    page.locator(f"{PLAYER} .player[data-playing='{new}']").wait_for(state="attached")
    expect(page.locator(PLAYER + " .play")).to_have_text(re.compile("Play"), timeout=LONG)
    press(page, "first")
    press(page, "forward")
    follows(page, *readout(page))
    assert "0.0004 × " in math_shown(page)[1][0]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_math_fits_a_phone_screen(browser, url, scheme):
    phone = browser.new_page()
    try:
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.emulate_media(color_scheme=scheme)  # Streamlit's theme follows the system's
        phone.set_default_timeout(LONG)
        open_math(phone, url)
        press(phone, "first")
        follows(phone, *readout(phone))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        box = phone.locator(MATH).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        lines = phone.locator(MATH + " .lines")  # long lines wrap at their "=" signs
        assert lines.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1")
        text, ground = lines.evaluate(
            "(el) => { const s = getComputedStyle(el); return [s.color, s.backgroundColor]; }"
        )
        assert contrast(text, ground) >= 4.5  # WCAG AA for body text
        shot(phone, f"phone-{scheme}")
    finally:
        phone.close()
