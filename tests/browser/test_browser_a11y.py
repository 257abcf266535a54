"""Accessibility as axe-core (the npm package pinned in package.json) judges it in Chromium: the
default page and every lesson link, in the light and the dark colour scheme (Streamlit follows
the system's), with no serious or critical violation. One Chromium per scheme, one server.

Each check runs once the chart is drawn and the player has started, on a window as tall as the
page: axe leaves text outside the viewport unchecked ("incomplete"), so a short window would
hide a failing caption at the bottom of the sidebar. Screenshots go to /tmp/a11y-shots for a
person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lrui.lessons import LESSONS
from support.axe import serious_violations, summary
from support.browser import LONG, chromium, settled, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/a11y-shots")
PLAYER = ".st-key-player"
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
# the default page, every lesson, and a diverged run (its red notes and advice buttons)
QUERIES = ["", *(f"?lesson={name}" for name in LESSONS), "?step_size=0.001"]

# Left out of the check, each for a reason that is not the page's to fix:
EXCLUDE = (
    # The label of a disabled widget (Streamlit marks it `disabled`), drawn faded on purpose:
    # WCAG 1.4.3 exempts the text of an inactive control, but axe cannot tell for a slider,
    # whose visible label is an aria-hidden span not tied to the disabled input (a number
    # input's is, and axe skips it). Streamlit draws it in textColor at 40%, which no text
    # colour brings to 4.5:1 (black at 40% on the sidebar is 3.0:1).
    "[data-testid=stWidgetLabel][disabled]",
)
# Plotly's SVG texts (ticks, titles, legend) need no exclusion: its drag layer lies over them,
# so axe reports them as "incomplete" (colour not measurable), never as violations. Their colour
# (figures.TEXT) is therefore not checked here.

# The page's heights: Streamlit scrolls the main block and the sidebar inside a 100vh app.
CONTENT_HEIGHT = (
    "Math.max(...[...document.querySelectorAll("
    "'[data-testid=stMain], [data-testid=stSidebarUserContent]')].map((e) => e.scrollHeight))"
)

# The panels that build their content only when opened, and what shows they have.
PANELS = {
    "why": ".st-key-why [data-testid=stMetric]",
    "math": ".st-key-live_math .live[data-run]",
    "lessons": ".st-key-hide_picker",
    "share": ".st-key-download_log",
}


@pytest.fixture(scope="module", params=["light", "dark"])
def scheme(request) -> str:
    """The system's colour scheme, which Streamlit's theme follows."""
    return request.param


@pytest.fixture(scope="module")
def browser(scheme):
    """One headless Chromium per colour scheme (in place of conftest's light one)."""
    with chromium(color_scheme=scheme) as context:
        yield context


def open_page(page, url: str, query: str = "") -> None:
    """Open the page and wait until its run is drawn and the player has started playing it."""
    page.goto(url + "/" + query)
    state = wait_for_chart(page, timeout=LONG * 2)
    page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']").wait_for(state="attached")


def open_panels(page) -> None:
    """Open every panel that builds its content on opening (each a rerun), one at a time."""
    for key, content in PANELS.items():
        page.locator(f".st-key-{key} summary").click()
        page.locator(f"{content}, {ERRORS}").first.wait_for(state="attached")
        errors = page.locator(ERRORS).all_inner_texts()
        assert not errors, f"opening {key!r} shows an error: {errors}"
    settled(page)
    wait_for_chart(page)


def check(page, name: str) -> None:
    """Make the window as tall as the page, take a picture, and run axe on what is there."""
    size = page.viewport_size
    height = page.evaluate(CONTENT_HEIGHT)
    page.set_viewport_size({"width": size["width"], "height": max(height + 100, size["height"])})
    wait_for_chart(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    found = serious_violations(page, exclude=EXCLUDE)
    page.set_viewport_size(size)
    assert not found, f"axe finds on {name}:\n{summary(found)}"


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.removeprefix("?") or "default")
def test_page_and_lessons_have_no_serious_violation(page, scheme, url, query):
    open_page(page, url, query)
    check(page, f"{scheme}-{query.removeprefix('?lesson=').replace('=', '-') or 'default'}")


def test_open_panels_have_no_serious_violation(page, scheme, url):
    open_page(page, url)
    open_panels(page)
    check(page, f"{scheme}-panels")


# Every chart text Plotly paints in the neutral colour (ticks, axis titles, legend, the views'
# titles): its colour as drawn (fill and fill-opacity blended over the page's background) and
# the WCAG contrast ratio against that background.
CHART_TEXT_CONTRAST = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bg = rgb(getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor);
  const out = [];
  for (const t of document.querySelectorAll('.js-plotly-plot text')) {
    const cls = (t.getAttribute('class') || '') + ' ' + (t.parentNode.getAttribute('class') || '');
    if (!/tick|title|legendtext|annotation-text/.test(cls) || !t.textContent.trim()) continue;
    const style = getComputedStyle(t);
    if (style.fill.startsWith('url')) continue;
    const a = Number(style.fillOpacity) * Number(style.opacity);
    const drawn = rgb(style.fill).slice(0, 3).map((v, i) => a * v + (1 - a) * bg[i]);
    const [hi, lo] = [lum(drawn), lum(bg)].sort((p, q) => q - p);
    out.push({text: t.textContent, cls: cls.trim(), ratio: (hi + 0.05) / (lo + 0.05)});
  }
  return out;
}"""


def test_chart_text_reaches_4_5_to_1_in_both_themes(page, scheme, url):
    """Axis and tick text, axis titles, legends and the views' titles, in the views and the
    Explore charts, reach WCAG's 4.5:1 against the page in the light and the dark theme (the
    neutral grey they are drawn in gives 3.6:1 on white)."""
    open_page(page, url, "?lesson=explore")
    page.locator(".st-key-explore .js-plotly-plot").first.wait_for(state="attached")
    texts = page.evaluate(CHART_TEXT_CONTRAST)
    kinds = {t["cls"].split()[-1] for t in texts}
    assert {"xtick", "ytick", "g-xtitle", "traces"} <= kinds, kinds  # the check saw them
    low = [(t["text"], t["cls"], round(t["ratio"], 2)) for t in texts if t["ratio"] < 4.5]
    assert not low, f"{scheme}: chart text under 4.5:1: {low[:10]}"
