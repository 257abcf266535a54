"""Issue 5 in a real browser: pinning a run, a lesson link, the keyboard, the PNG export and a
390-pixel phone screen. Screenshots go to /tmp/explain-shots for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from support.browser import LIVE_CHART, LONG, wait_for_change, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/explain-shots")
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
PLAYER = ".st-key-player"

# Per subplot: how many drawn traces belong to the pinned run (legendgroup "pinned").
PINNED = f"""(() => {{
  const gd = {LIVE_CHART};
  if (!gd || !gd._fullData) return null;
  const out = {{}};
  gd._fullData.filter((t) => t.legendgroup === "pinned" && t.visible === true)
    .forEach((t) => {{ const k = t.xaxis + t.yaxis; out[k] = (out[k] || 0) + 1; }});
  return out;
}})()"""


def pinned_in_views(page, count: int, timeout: float = LONG) -> None:
    """Wait until the live chart draws the pinned run in `count` views."""
    page.wait_for_function(
        f"(() => {{ const p = {PINNED}; "
        f"return p !== null && Object.keys(p).length === {count}; }})()",
        timeout=timeout,
    )


def open_page(page, url: str, query: str = "") -> dict:
    page.goto(url + "/" + query)
    return wait_for_chart(page, timeout=LONG * 2)


def shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall
    as that for the picture (the width, and so the layout, stays)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size(size)


def test_pinned_run_stays_on_all_three_views_while_a_setting_changes(page, url):
    before = open_page(page, url)
    page.locator(".st-key-pin button:visible").click()
    pinned = wait_for_change(page, before, timeout=LONG)
    pinned_in_views(page, 3)
    assert page.evaluate(PINNED) == {"xy": 1, "x2y2": 1, "x3y3": 1}
    slider = page.get_by_role("slider", name="Step size (learning rate)")
    slider.focus()
    slider.press("ArrowLeft")
    after = wait_for_change(page, pinned, timeout=LONG)
    pinned_in_views(page, 3)
    line = next(t for t in after["traces"] if t["name"].startswith("pinned"))
    assert line["name"].startswith("pinned 1: gd, η = 0.0005")
    table = page.locator("[data-testid=stDataFrame]").first
    expect(table).to_be_visible()
    summary = page.locator(".st-key-chart_summary")
    expect(summary).to_contain_text("Faded and dashed, the pinned run")
    page.wait_for_timeout(6000)  # let the run play to its end before the picture
    shot(page, "pinned")
    page.locator(".st-key-unpin button:visible").click()
    pinned_in_views(page, 0)
    assert page.locator(ERRORS).count() == 0


def test_a_lesson_link_shows_its_prompt_and_hides_the_other_controls(page, url):
    open_page(page, url, "?lesson=limit")
    prompt = page.locator(".st-key-lesson_prompt")
    expect(prompt).to_contain_text("Find the largest step size that converges")
    expect(page.get_by_role("slider", name="Step size (learning rate)")).to_be_visible()
    expect(page.locator(".st-key-optimizer")).to_be_hidden()
    expect(page.locator(".st-key-noise")).to_be_hidden()
    assert "lesson=limit" in page.url
    assert page.locator("[data-testid=stAlertContentWarning]").count() == 0
    shot(page, "lesson")


def test_play_and_step_work_from_the_keyboard_with_a_visible_focus(page, url):
    open_page(page, url)
    play = page.locator(PLAYER + " .play")
    expect(play).to_have_text(re.compile("Play"), timeout=LONG)  # the first play has ended
    play.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus arrives by keyboard: :focus-visible applies
    assert page.evaluate(
        "document.activeElement.shadowRoot ? "
        "document.activeElement.shadowRoot.activeElement.className : "
        "document.activeElement.className"
    ).startswith("play")
    ring = play.evaluate(
        "(el) => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert ring[0] != "none" and float(ring[1].rstrip("px")) >= 2
    page.keyboard.press("Tab")  # |◀ first epoch
    page.keyboard.press("Enter")
    expect(page.locator(PLAYER + " .readout")).to_have_text(re.compile("^epoch 0 "))
    page.keyboard.press("Tab")  # ◀
    page.keyboard.press("Tab")  # ▶ step forward
    page.keyboard.press("Enter")
    page.keyboard.press(" ")
    expect(page.locator(PLAYER + " .readout")).to_have_text(re.compile("^epoch 2 "))
    play.focus()
    page.keyboard.press("Enter")
    expect(play).to_have_text(re.compile("Pause"))
    page.keyboard.press("Enter")
    expect(play).to_have_text(re.compile("Play"))


def test_the_chart_toolbar_downloads_a_png(page, url, tmp_path):
    open_page(page, url)
    chart = page.locator("[data-testid=stPlotlyChart]:not([data-stale=true])").last
    chart.hover()
    button = chart.locator(".modebar-btn[data-title='Download plot as a PNG']")
    expect(button).to_be_visible()
    with page.expect_download() as download:
        button.click()
    path = tmp_path / "chart.png"
    download.value.save_as(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_a_phone_screen_shows_everything_without_sideways_scrolling(browser, url):
    phone = browser.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.set_default_timeout(LONG)
    try:
        open_page(phone, url, "?lesson=scaling")
        phone.wait_for_function(f"{LIVE_CHART}._fullLayout.xaxis.domain[1] === 1")
        expect(phone.locator(".st-key-lesson_prompt")).to_be_visible()
        phone.locator(".st-key-compare_scaling button:visible").click()
        pinned_in_views(phone, 3, LONG * 2)
        phone.wait_for_function(f"{LIVE_CHART}._fullLayout.xaxis.domain[1] === 1")
        expect(phone.locator(".st-key-chart_summary")).to_contain_text("pinned run")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        for key in ("pin", "unpin", "compare_scaling", "chart_summary"):
            box = phone.locator(f".st-key-{key}").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, key
        phone.wait_for_timeout(6000)
        shot(phone, "phone")
        assert phone.locator(ERRORS).count() == 0
    finally:
        phone.close()
