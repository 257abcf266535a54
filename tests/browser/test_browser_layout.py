"""Layout (issue 11, point 5): the chart and its player stay in view together when a lesson's
prompt and an error box are shown; on a phone the player sits right under the data view;
students see no "Deploy" button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from support.browser import LIVE_CHART, LONG, wait_for_chart

pytestmark = pytest.mark.browser

PLAYER = ".st-key-player"
ERROR = "[data-testid=stAlertContentError]"


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def opened(page, url: str, query: str) -> None:
    page.goto(url + "/" + query)
    state = wait_for_chart(page, timeout=LONG * 2)
    page.locator(f"{PLAYER} .player[data-playing='{state['meta']}']").wait_for(state="attached")


def test_the_player_stays_in_view_with_a_lesson_prompt_and_an_error(page, url):
    """A lesson whose run diverges: prompt above, error below, chart and player in between, all
    of the chart and the player inside a 1400 × 1000 window without scrolling."""
    opened(page, url, "?lesson=limit&step_size=0.0008")
    page.locator(ERROR).wait_for()
    page.locator(".st-key-lesson_prompt").wait_for()
    chart, player, error = (box(page, s) for s in (".st-key-views", PLAYER, ERROR))
    assert chart["y"] >= 0 and player["y"] + player["height"] <= 1000, (chart, player)
    assert error["y"] >= player["y"] + player["height"]  # the error is under the player


def test_students_see_no_deploy_button(page, url):
    opened(page, url, "")
    page.locator("[data-testid=stToolbar], [data-testid=stHeader]").first.wait_for()
    assert page.locator("[data-testid=stAppDeployButton]").count() == 0
    assert page.get_by_role("button", name="Deploy").count() == 0


def test_on_a_phone_the_player_sits_right_under_the_data_view(page, url):
    """390 px wide: the views stack, and the data view is the one just above the player (the
    player drives the line a student watches)."""
    page.set_viewport_size({"width": 390, "height": 844})
    if True:
        opened(page, url, "")
        page.wait_for_function(f"{LIVE_CHART}.__lrNarrow === true")
        data_view = page.evaluate(f"""(() => {{
          const r = {LIVE_CHART}.querySelector(".xy .nsewdrag").getBoundingClientRect();
          return {{top: r.top + window.scrollY, bottom: r.bottom + window.scrollY}};
        }})()""")
        others = page.evaluate(f"""(() => [".x2y2", ".x3y3"].map((s) => {{
          const r = {LIVE_CHART}.querySelector(s + " .nsewdrag").getBoundingClientRect();
          return r.top + window.scrollY;
        }}))()""")
        player_top = page.evaluate(f"""(() => document.querySelector("{PLAYER}")
          .getBoundingClientRect().top + window.scrollY)()""")
        assert all(top < data_view["top"] for top in others)  # the data view is the lowest
        assert 0 <= player_top - data_view["bottom"] <= 150  # its axis labels, then the player


@pytest.mark.parametrize("width", [1400, 390])
def test_a_hand_edited_links_warning_is_above_the_chart(page, url, width):
    """A student opening a link with a bad setting sees what the page changed before the chart,
    on a laptop and on a phone, not under the views where nobody scrolls."""
    page.set_viewport_size({"width": width, "height": 1000 if width > 640 else 844})
    opened(page, url, "?n=abc&lesson=limit")
    warning = page.locator("[data-testid=stAlert]").filter(has_text="This link had settings")
    expect(warning).to_contain_text("n: 'abc' is not a number")
    above, chart = warning.bounding_box(), box(page, ".st-key-views")
    assert above["y"] + above["height"] <= chart["y"], (above, chart)
    assert above["y"] >= box(page, ".st-key-lesson_prompt")["y"]  # the prompt stays first
    page.screenshot(path=f"/tmp/layout-link-warning-{width}.png")


def test_on_a_phone_the_charts_toolbar_covers_no_views_title(page, url):
    """390 px wide, the chart touched (Plotly shows its toolbar then): the toolbar, as wide as
    most of the phone, sits above the top view's title instead of on it."""
    page.set_viewport_size({"width": 390, "height": 844})
    opened(page, url, "")
    page.wait_for_function(f"{LIVE_CHART}.__lrNarrow === true")
    page.locator(".st-key-views").hover()
    toolbar = page.locator(".st-key-views .modebar")
    toolbar.wait_for(state="visible")
    bar = toolbar.bounding_box()
    titles = page.evaluate(f"""[...{LIVE_CHART}.querySelectorAll(".annotation")].map((a) => {{
      const r = a.getBoundingClientRect();
      return {{text: a.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}};
    }})""")
    assert {t["text"] for t in titles} >= {"Loss by epoch", "Data and fitted line"}
    for t in titles:
        apart = (
            t["right"] <= bar["x"]
            or t["left"] >= bar["x"] + bar["width"]
            or t["bottom"] <= bar["y"]
            or t["top"] >= bar["y"] + bar["height"]
        )
        assert apart, (t, bar)
    page.locator(".st-key-views").screenshot(path="/tmp/layout-phone-toolbar.png")


# The result table and the training log, found by their header rows.
TABLES = {"result": "run|W|b|loss|dW|db", "log": "epoch|W|b|loss|dW|db"}
TABLE_OF = """(head) => [...document.querySelectorAll("[data-testid=stMarkdown] table")].find((t) =>
  [...t.querySelectorAll("th")].map((th) => th.innerText.trim()).join("|") === head)"""


@pytest.mark.parametrize("name", TABLES)
def test_on_a_phone_the_tables_scroll_sideways_to_their_last_column(page, url, name):
    """390 px wide, the result table and the log are wider than the page: swiping sideways
    over one brings its last column (db) into view, where it used to be cut off, and moves
    that table alone (not the whole page sideways)."""
    page.set_viewport_size({"width": 390, "height": 844})
    opened(page, url, "")
    head = TABLES[name]
    page.wait_for_function(f"(head) => !!({TABLE_OF})(head)", arg=head)
    table = page.locator("[data-testid=stMarkdown] table").filter(
        has=page.locator("th", has_text=head.split("|")[0])
    )
    table.scroll_into_view_if_needed()
    last = f"(head) => ({TABLE_OF})(head).querySelector('th:last-child').getBoundingClientRect()"
    box = f"(head) => ({TABLE_OF})(head).parentElement.getBoundingClientRect()"
    assert page.evaluate(last, head)["right"] > 390  # wider than the phone
    left = page.evaluate(box, head)["left"]
    table.hover()
    page.mouse.wheel(1000, 0)  # a sideways swipe
    page.wait_for_function(
        f"""([head, left]) => {{ const r = ({last})(head);
          return r.left >= 0 && r.right <= 390 && ({box})(head).left === left; }}""",
        arg=[head, left],
    )
    page.screenshot(path=f"/tmp/layout-phone-{name}-table.png")


def test_on_a_phone_a_lesson_says_where_its_slider_is_and_that_is_where_it_is(page, url):
    """390 px wide, the sidebar is closed: the limit lesson says its slider is in the sidebar,
    opened with » at the top left; that button is there, and it shows the slider."""
    page.set_viewport_size({"width": 390, "height": 844})
    opened(page, url, "?lesson=limit")
    prompt = page.locator(".st-key-lesson_prompt [data-testid=stAlert]")
    expect(prompt).to_contain_text(
        "Move only the step-size slider in the sidebar (on a phone, open it with » at the top left)"
    )
    slider = page.locator("[data-testid=stSlider]").filter(has_text="Step size")
    expect(slider).not_to_be_in_viewport()
    button = page.locator("[data-testid=stExpandSidebarButton]")
    where = button.bounding_box()
    assert where["x"] + where["width"] < 390 / 4 and where["y"] < 100, where  # top left
    expect(button).to_contain_text("keyboard_double_arrow_right")  # the » icon
    button.click()
    expect(slider).to_be_in_viewport()
    page.screenshot(path="/tmp/layout-phone-lesson-sidebar.png")
