"""The teacher's board in a real browser, on a real SQLite store the server and the test share
(LR_CLASS_DB set before the server starts): the board takes its key out of the address bar once
loaded; a student who joins while it is open appears at its next refresh (the 2 s fragment:
the test waits for the board's state, not for time); "Start a class" gives a students' link
without the key, and the page it opens never holds it. axe-core finds no serious violation on
the board or the class's links. A board of 30 students is screenshot to /tmp/board-shots for a
person (and README) to look at, and its results' CSV downloaded."""

from __future__ import annotations

import math
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

import lrcore
from lrclass import Outcome, Store, results
from lrclass.store import ENV
from support.axe import serious_violations, summary
from support.browser import LONG, serve, settled, start_class, wait_for_chart, wait_metric

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/board-shots")

# the board's chart, and the number of points of its student traces (all but diverged: "loss")
STUDENT_POINTS = """(name) => {
  const gd = [...document.querySelectorAll(".st-key-board_chart .js-plotly-plot")]
    .filter((el) => !el.closest("[data-stale=true]")).pop();
  if (!gd || !gd._fullData) return null;
  const trace = gd._fullData.find((t) => t.name === name);
  return trace ? Array.from(trace.x).length : 0;
}"""
# where the board's chart draws the first point of a trace, in the page's pixels
POINT_AT = """(name) => {
  const gd = [...document.querySelectorAll(".st-key-board_chart .js-plotly-plot")]
    .filter((el) => !el.closest("[data-stale=true]")).pop();
  const trace = gd._fullData.find((t) => t.name === name);
  const xa = gd._fullLayout[trace.xaxis.replace("x", "xaxis")];
  const ya = gd._fullLayout[trace.yaxis.replace("y", "yaxis")];
  const box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.c2p(trace.x[0]),
          y: box.top + ya._offset + ya.c2p(trace.y[0])};
}"""


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """The class store's URL: a SQLite file, named in the environment the server starts with."""
    url = f"sqlite:///{tmp_path_factory.mktemp('class') / 'class.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV, url)
        yield url


@pytest.fixture(scope="module")
def url(db):
    with serve() as address:
        yield address


@pytest.fixture
def store(db):
    made = Store(db)
    yield made
    made.close()


def runs(step_sizes, iterations: int = 50_000) -> list[Outcome]:
    """What gd on the blog's data does at each step size (lrcore.sweep, as a student's page
    would record it)."""
    blog = lrcore.make_data()
    swept = lrcore.sweep(blog.x, blog.y, step_sizes=step_sizes, iterations=iterations)
    out = []
    for loss, epochs, diverged in zip(
        swept.loss[0], swept.epochs[0], swept.diverged[0], strict=True
    ):
        out.append(
            Outcome(
                None if diverged or not math.isfinite(loss) else float(loss),
                None if diverged or not math.isfinite(epochs) else int(epochs),
                bool(diverged),
                None,
            )
        )
    return out


def test_the_board_hides_its_key_and_shows_a_student_who_joins_while_it_is_open(page, url, store):
    code, key = store.create_class({"step_size": "0.0005"})
    page.goto(f"{url}/?board={code}&key={key}")
    wait_metric(page, "Joined", "0")
    page.wait_for_function("() => !location.search.includes('key=')")
    assert key not in page.url and "key=" not in page.url
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query) == {"board": [code]}
    assert key not in page.content()
    # a student joins and runs while the board is open: the board's next refresh shows them
    student = store.join(code, "browser-token-of-a-student-0001")
    [outcome] = runs([0.0005])
    store.record(student, {"step_size": "0.0005"}, outcome)
    store.flush()
    wait_metric(page, "Joined", "1")
    wait_metric(page, "Within 1%", "1")
    page.wait_for_function(f"() => ({STUDENT_POINTS})('students: loss') === 1")
    assert key not in page.url and key not in page.content()
    # a click on the student's point gives the link to their run, to project it
    settled(page)
    page.locator(".st-key-board_chart").scroll_into_view_if_needed()
    at = page.evaluate(f"({POINT_AT})('students: loss')")
    page.mouse.move(at["x"], at["y"])
    page.mouse.click(at["x"], at["y"])
    link = page.get_by_role("link", name="open their run")
    link.wait_for()
    assert urllib.parse.urlsplit(link.get_attribute("href")).query == "step_size=0.0005"
    expect(page.get_by_text("Student 1: open their run")).to_be_visible()


def test_a_reloaded_board_opens_again_and_another_tab_without_the_key_does_not(page, url, store):
    code, key = store.create_class({"step_size": "0.0005"})
    page.goto(f"{url}/?board={code}&key={key}")
    wait_metric(page, "Joined", "0")
    page.wait_for_function("() => !location.search.includes('key=')")
    page.reload()  # the projector's tab, reloaded: its address has no key any more
    wait_metric(page, "Joined", "0")
    assert "key=" not in page.url and key not in page.content()
    other = page.context.new_page()  # the same link, without the key, in another tab
    try:
        other.goto(f"{url}/?board={code}")
        unknown = other.get_by_text("There is no running class with this code and key")
        expect(unknown).to_be_visible()
        expect(other.locator("[data-testid=stMetric]")).to_have_count(0)
    finally:
        other.close()


def test_start_a_class_gives_a_students_link_without_the_key(page, url, store):
    students, board_link = start_class(page, url + "/?lesson=limit")
    board = board_link.evaluate("(a) => a.href")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(board).query))
    code, key = query["board"], query["key"]
    assert store.board(code, key) is not None
    assert key not in students
    found = serious_violations(page)  # the class's code and links, as a teacher reads them
    assert not found, summary(found)
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(students).query))["class"] == code
    # the students' link at this test server (the page links to the network address)
    here = urllib.parse.urlsplit(url)
    student_page = page.context.new_page()
    student_page.set_default_timeout(LONG)
    student_page.goto(urllib.parse.urlsplit(students)._replace(netloc=here.netloc).geturl())
    wait_for_chart(student_page, timeout=LONG * 2)
    settled(student_page)
    assert key not in student_page.url and key not in student_page.content()
    student_page.close()


def test_a_board_of_thirty_students(page, url, store):
    """30 students of the "limit" lesson, step sizes around the limit (some diverged, one not
    run yet): every one is on the board; screenshots for README."""
    code, key = store.create_class({"lesson": "limit", "step_size": "0.0005"})
    rng = np.random.default_rng(21)
    steps = [float(f"{s:.2g}") for s in np.geomspace(2e-5, 1.3e-3, 29)]
    rng.shuffle(steps)
    for i, (step, outcome) in enumerate(zip(steps, runs(steps), strict=True)):
        student = store.join(code, f"browser-token-of-student-{i:04d}")
        store.record(student, {"lesson": "limit", "step_size": repr(step)}, outcome)
    store.join(code, "browser-token-of-student-late")
    store.flush()
    rows = store.students(code)
    diverged = sum(bool(r.diverged) for r in rows)
    assert len(rows) == 30 and 0 < diverged < 29
    page.set_viewport_size({"width": 1400, "height": 1500})
    page.goto(f"{url}/?board={code}&key={key}")
    wait_metric(page, "Joined", "30")
    wait_metric(page, "Diverged", str(diverged))
    page.wait_for_function(f"() => ({STUDENT_POINTS})('students: loss') === {29 - diverged}")
    page.wait_for_function(f"() => ({STUDENT_POINTS})('students: diverged') === {diverged}")
    settled(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "board-30.png"), full_page=True)
    found = serious_violations(page)
    assert not found, summary(found)
    # the results as CSV, made when the teacher clicks: the store's rows
    with page.expect_download() as download:
        page.get_by_text("Download results (CSV)").click()
    assert download.value.suggested_filename == f"class-{code}.csv"
    csv = Path(download.value.path()).read_text(encoding="utf-8")
    assert csv == results.to_csv(store.students(code)) and csv.count("\n") == 31
