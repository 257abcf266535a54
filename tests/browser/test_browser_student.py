"""A student's page in a class, in a real browser: the class link joins with no sign-up, each
change of the run reaches the class store, a reload and a second tab are the same student, a
neighbour's browser (another profile) with the same link is another, the browser's token never
shows in the address, and a chosen name shows as text.

The page is served with LR_CLASS_DB on a SQLite file of this module; the test makes the class
and reads the rows with the store's own API, waiting for the state it expects (a run reaches
the store within about a second).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from lrclass import Store
from lrui import student
from lrui.text import label
from support.browser import LONG, profile, serve, settled, wait_for_chart

pytestmark = pytest.mark.browser

LINK = {"standardize": "true", "step_size": "0.1", "iterations": "1000"}
BAR = ".st-key-class_bar"
TOKEN = "localStorage.getItem('lr-class-token')"
WAIT = 20.0  # seconds for a run to reach the store


@pytest.fixture(scope="module")
def db_url():
    folder = Path(tempfile.mkdtemp(prefix="lr-class-"))
    try:
        yield f"sqlite:///{folder / 'class.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def url(db_url):
    """The page, started with LR_CLASS_DB pointing at this module's store."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LR_CLASS_DB", db_url)
        with serve() as address:
            yield address


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    """This student's browser (one profile); the test opens a neighbour's beside it."""
    with profile(playwright) as context:
        yield context


@pytest.fixture
def store(db_url):
    store = Store(db_url)
    yield store
    store.close()


def class_link(url: str, code: str) -> str:
    return f"{url}/?{urllib.parse.urlencode({'class': code, **LINK})}"


def open_class(page, link: str) -> str:
    """Open the class link and wait for the class bar; its text."""
    page.goto(link)
    wait_for_chart(page, timeout=LONG * 2)
    page.wait_for_function(
        f"document.querySelector('{BAR}')?.innerText.includes('In class')", timeout=LONG
    )
    return page.inner_text(BAR)


def rows_when(store: Store, code: str, done, wait: float = WAIT):
    """The class's rows once done(rows) holds (polled)."""
    deadline = time.monotonic() + wait
    while not done(rows := store.students(code)):
        assert time.monotonic() < deadline, f"the store did not get there: {rows}"
        time.sleep(0.1)
    return rows


def address(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def test_a_class_link_joins_records_changes_and_knows_this_browser(
    playwright, browser, page, url, store
):
    code, _ = store.create_class(LINK)
    link = class_link(url, code)
    bar = open_class(page, link)
    (row,) = rows_when(store, code, lambda rows: rows and rows[0].settings is not None)
    assert f"In class {code} as {row.name}" in bar
    assert row.settings["step_size"] == "0.1"
    token = page.evaluate(TOKEN)
    assert token and len(token) >= 32
    assert token not in page.url and address(page)["class"] == code

    # move the step-size slider: the store's row gets the new step
    slider = page.get_by_role("slider", name=label("step_size"))
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("new URLSearchParams(location.search).get('step_size') !== '0.1'")
    settled(page)
    step = address(page)["step_size"]
    assert float(step) > 0.1
    (moved,) = rows_when(store, code, lambda rows: rows[0].settings["step_size"] == step)
    assert moved.id == row.id and moved.step_size == float(step)
    assert token not in page.url and address(page)["class"] == code

    # a reload, and a second tab of this browser: the same student
    page.reload()
    assert f"In class {code} as {row.name}" in open_class(page, page.url)
    second = browser.new_page()
    second.set_default_timeout(LONG)
    try:
        assert f"In class {code} as {row.name}" in open_class(second, link)
    finally:
        second.close()
    assert [r.id for r in store.students(code)] == [row.id]

    # a neighbour's browser (another profile) with the same link: another student
    with profile(playwright) as neighbours:
        other = neighbours.new_page()
        other.set_default_timeout(LONG)
        open_class(other, link)
        assert other.evaluate(TOKEN) != token
    rows = rows_when(store, code, lambda rows: len(rows) == 2)
    assert rows[0].id == row.id and rows[1].id != row.id


def test_a_chosen_name_shows_as_text(browser, page, url, store):
    code, _ = store.create_class(LINK)
    open_class(page, class_link(url, code))
    (row,) = rows_when(store, code, bool)
    name = "**<b>Bo</b>** [x](y) :z:"
    page.get_by_role("button", name="Change name").click()
    field = page.get_by_label("Your name in the class")
    # the field starts from the name they have (once the popover's field has mounted its value)
    expect(field).to_have_value(row.name, timeout=LONG)
    field.fill(name)
    field.press("Enter")
    page.wait_for_function(
        f"document.querySelector('{BAR}')?.innerText.includes({name!r})", timeout=LONG
    )
    assert f"In class {code} as {name}" in page.inner_text(BAR)
    assert not page.query_selector(f"{BAR} b")  # no HTML made from it
    assert rows_when(store, code, lambda rows: rows and rows[0].name == name)


def test_a_pause_from_the_board_holds_the_students_change_until_the_class_resumes(
    browser, page, url, store
):
    """The teacher presses Pause on the board (here on the student's own worker, which sees
    its own pause at once): the student's next change waits, with the message, and the
    address keeps the run on screen; after Resume the message goes at the bar's next look and
    the student's change goes through to the store."""
    code, key = store.create_class(LINK)
    open_class(page, class_link(url, code))
    rows_when(store, code, lambda rows: rows and rows[0].settings is not None)
    board = browser.new_page()
    board.set_default_timeout(LONG)
    try:
        board.goto(f"{url}/?board={code}&key={key}")
        board.get_by_role("button", name="Pause the class").first.click()
        board.get_by_text("Paused: the students' controls wait").first.wait_for()
        assert store.board(code, key).paused

        slider = page.get_by_role("slider", name=label("step_size"))
        slider.focus()
        page.keyboard.press("ArrowRight")
        page.get_by_text(student.PAUSED).first.wait_for()
        settled(page)
        assert address(page)["step_size"] == "0.1"
        expect(slider).to_have_attribute("aria-valuetext", "0.1")

        board.get_by_role("button", name="Resume the class").first.click()
        board.get_by_role("button", name="Pause the class").first.wait_for()
        expect(page.get_by_text(student.PAUSED)).to_have_count(0, timeout=LONG)
    finally:
        board.close()
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("new URLSearchParams(location.search).get('step_size') !== '0.1'")
    settled(page)
    step = address(page)["step_size"]
    rows_when(store, code, lambda rows: rows[0].settings["step_size"] == step)
