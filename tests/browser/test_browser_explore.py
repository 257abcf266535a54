"""The Explore section in a real browser: a click on a point of the sweep (or a cell of the
map) makes that run the one on screen: the address bar, the slider and the player follow, and
the new run plays. Screenshots go to /tmp/explore-shots for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

import lrcore
from support.browser import LONG, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/explore-shots")
PLAYER = ".st-key-player .player"
ERRORS = "[data-testid=stException]"


def live(kind: str) -> str:
    """JS: the Explore chart `kind` (curve, map) of the current run, not a stale one."""
    return (
        f'[...document.querySelectorAll("[class*=st-key-explore_{kind}_] .js-plotly-plot")]'
        '.filter(el => !el.closest("[data-stale=true]") && el._fullLayout).pop()'
    )


# Where on the page one point of a trace is drawn, and its customdata (η, β, limit). Axes are
# log (the curve: l2p takes log10 of the value) or linear (the map: x is log10 η already).
POINT = """([kind, name, i]) => {
  const gd = %s;
  const t = gd._fullData.find((t) => t.name === name);
  const xa = gd._fullLayout[t.xaxis.replace("x", "xaxis")];
  const ya = gd._fullLayout[t.yaxis.replace("y", "yaxis")];
  const at = (ax, v) => ax._offset + ax.l2p(ax.type === "log" ? Math.log10(v) : v);
  const box = gd.getBoundingClientRect();
  return {x: box.left + at(xa, t.x[i]), y: box.top + at(ya, t.y[i]), custom: t.customdata[i],
          count: t.x.length};
}"""


def point(page, kind: str, name: str, pick) -> dict:
    """The page position of the point of trace `name` that pick(customdata list) chooses."""
    page.wait_for_function(f"!!({live(kind)})")
    customs = page.evaluate(
        f"(name) => ({live(kind)})._fullData.find((t) => t.name === name).customdata", name
    )
    i = pick(customs)
    return page.evaluate(POINT % live(kind), [kind, name, i])


def current_run(page) -> str:
    page.locator(f"{PLAYER}[data-playing]").wait_for(state="attached")
    return page.locator(PLAYER).get_attribute("data-run")


def click_and_follow(page, kind: str, at: dict, params: dict[str, str]) -> str:
    """Hover over `at` until Plotly shows the point's label (a click picks the hovered point),
    click; wait until the address bar holds `params` and the player plays a new run; return
    that run's id."""
    before = current_run(page)
    page.mouse.move(at["x"], at["y"])
    page.wait_for_function(f"!!({live(kind)}).querySelector('.hoverlayer .hovertext')")
    page.mouse.click(at["x"], at["y"])
    page.wait_for_function(
        "(want) => { const q = new URLSearchParams(location.search);"
        " return Object.entries(want).every(([k, v]) => q.get(k) === v); }",
        arg=params,
        timeout=LONG,
    )
    player = page.locator(PLAYER)  # (a locator: the player lives in a shadow root)
    expect(player).not_to_have_attribute("data-run", before, timeout=LONG)
    run = player.get_attribute("data-run")
    page.locator(f"{PLAYER}[data-playing='{run}']").wait_for(state="attached", timeout=LONG)
    return run


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    section = page.locator(".st-key-explore")
    section.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    section.screenshot(path=str(SHOTS / f"{name}-section.png"))


def test_a_click_on_the_sweep_makes_that_step_the_run_and_plays_it(page, url):
    page.set_viewport_size({"width": 1400, "height": 2400})  # the views and the section
    page.goto(url + "/?lesson=explore")
    wait_for_chart(page, timeout=LONG * 2)
    # the converging point nearest η = 0.0003 (the run on screen is at 0.0005)
    at = point(
        page, "curve", "loss", lambda cs: min(range(len(cs)), key=lambda i: abs(cs[i][0] - 3e-4))
    )
    eta, _, limit = at["custom"][:3]
    assert at["count"] == 200 and eta < limit
    step = lrcore.rounded_step(eta, limit)
    run = click_and_follow(page, "curve", at, {"step_size": f"{step:g}", "lesson": "explore"})
    assert run
    slider = page.get_by_role("slider", name="Step size (learning rate)")
    expect(slider).to_have_attribute("aria-valuetext", f"{step:g}")
    page.wait_for_function(
        f"(x) => {{ const gd = {live('curve')}; return gd && gd._fullLayout.shapes"
        ".some((s) => s.name === 'current' && Math.abs(s.x0 / x - 1) < 1e-9); }",
        arg=step,
    )
    assert page.locator(ERRORS).count() == 0
    shot(page, "curve-clicked")


def test_a_click_on_a_cell_of_the_map_sets_the_step_and_the_momentum(page, url):
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.goto(url + "/?lesson=explore&optimizer=momentum&momentum=0.5&iterations=20000")
    wait_for_chart(page, timeout=LONG * 2)

    def cell(cs):  # β = 0.95, the step size nearest 0.0008: a cell that converges
        row = [i for i, c in enumerate(cs) if c[1] == 0.95]
        return min(row, key=lambda i: abs(cs[i][0] - 8e-4))

    at = point(page, "map", "runs", cell)
    eta, beta, limit = at["custom"][:3]
    assert beta == 0.95 and eta < limit
    step = lrcore.rounded_step(eta, limit)
    click_and_follow(page, "map", at, {"step_size": f"{step:g}", "momentum": "0.95"})
    page.wait_for_function(
        f"(y) => {{ const gd = {live('map')}; const t = gd && gd._fullData.find("
        "(t) => t.name === 'this run'); return t && Math.abs(t.y[0] - y) < 1e-9; }",
        arg=1.3010299956639813,  # −log10(1 − 0.95)
    )
    assert page.locator(ERRORS).count() == 0
    shot(page, "map-clicked")
