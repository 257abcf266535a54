"""The class on deploy/serve_class.sh, in real browsers, with its store on a real PostgreSQL 15
(tests/support/postgres.py) and on a SQLite file.

- Two class servers on one PostgreSQL ("two machines, as far as this machine can show it"):
  two independent serve_class.sh, each with its own nginx, workers and temporary folder, the
  same LR_CLASS_DB. Students join through server 1 and server 2; the board opened on either
  server shows every student of both, with their runs.
- The store stopped under a running class (PostgreSQL stopped with pg_ctl; the SQLite file made
  not writable, support/readonly.py): the student's page goes on rerunning with exactly one
  notice, the board says the store cannot be reached; once the store is back, the run made
  meanwhile and the student's next run reach the board (its names still shown), with the same
  worker processes (no restart).
- The teacher's key: "Start a class", the board opened from its link, a student on the board's
  own worker, then the board's link opened while its worker is down (nginx logs that error).
  The key is in no worker's, nginx's, supervisord's or PostgreSQL's log (the workers log at
  debug level), in no Referer the board's page sends, in neither students' link, and in nothing
  a student's page holds or receives (its address, its DOM, every websocket message it sent or
  received), while the same capture finds it in what the board's own page sent (the capture
  sees the messages' plain bytes).

Every wait is for a state (a metric, a notice, a row, a point on the board's chart), never for
a time. Ports: this file's share, 8750-8799.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from classserver import class_server, free_ports, healthy, wait_until
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from lrclass import Store
from lrclass.store import ENV
from lrui.board import UNREACHABLE as BOARD_DOWN
from lrui.student import UNREACHABLE as STUDENT_DOWN
from lrui.text import label
from support import postgres
from support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LONG,
    settled,
    start_class,
    wait_for_change,
    wait_for_chart,
    wait_metric,
)
from support.readonly import not_writable

pytestmark = [pytest.mark.serving, pytest.mark.browser]

PG_PORTS = range(8750, 8755)
WORKER_PORTS = range(8755, 8785)
NGINX_PORTS = range(8785, 8800)
LINK = {"standardize": "true", "step_size": "0.1", "iterations": "1000"}
BAR = ".st-key-class_bar"

# The students on the board's chart: {label shown: step size}, from the points of their loss
# (every run that did not diverge), in order of name, or null before the chart is drawn.
ON_BOARD = """() => {
  const gd = [...document.querySelectorAll(".st-key-board_chart .js-plotly-plot")]
    .filter((el) => !el.closest("[data-stale=true]")).pop();
  if (!gd || !gd._fullData) return null;
  const trace = gd._fullData.find((t) => t.name === "students: loss");
  if (!trace) return {};
  return Object.fromEntries(Array.from(trace.x).map((x, i) =>
    [String(trace.hovertext[i]).split("<br>")[0], x]).sort());
}"""
# The page's notices that say the store cannot be reached (not stale ones).
DOWN_NOTICES = """() => [...document.querySelectorAll("[data-testid=stAlert]")]
  .filter((a) => !a.closest("[data-stale=true]") && a.innerText.includes("cannot be reached"))
  .length"""


@pytest.fixture(scope="module")
def pg():
    with postgres.server(durable=False, port=free_ports(PG_PORTS, 1)) as server:
        yield server


@pytest.fixture(scope="module")
def pg_url(pg):
    return pg.create_database("lrclass")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("serve-class-logs")


@pytest.fixture(scope="module")
def servers(pg_url, logs):
    """Two independent class servers (one worker each) on the one PostgreSQL database; their
    workers log at Streamlit's debug level."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV, pg_url)
        patch.setenv("STREAMLIT_LOGGER_LEVEL", "debug")
        with (
            class_server(1, WORKER_PORTS, NGINX_PORTS, log_dir=logs) as one,
            class_server(1, WORKER_PORTS, NGINX_PORTS, log_dir=logs) as two,
        ):
            yield one, two


@pytest.fixture
def store(pg_url):
    made = Store(pg_url)
    yield made
    made.close()


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium; each person (teacher, student) gets a context of their own: no
    cookies or storage shared, as separate browsers."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def person(chromium):
    """person() -> a new page in a browser context of its own; all closed at the end."""
    contexts = []
    expect.set_options(timeout=LONG)

    def make():
        contexts.append(chromium.new_context(viewport={"width": 1400, "height": 1000}))
        page = contexts[-1].new_page()
        page.set_default_timeout(LONG)
        return page

    yield make
    for context in contexts:
        context.close()


def class_link(server_url: str, code: str, **settings: str) -> str:
    return server_url + "?" + urllib.parse.urlencode({"class": code, **LINK, **settings})


def at(server_url: str, link: str) -> str:
    """`link` (which names the network address students reach) at this test's server."""
    here = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlsplit(link)._replace(netloc=here.netloc).geturl()


def address_of(link: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))


def address(page) -> dict[str, str]:
    return address_of(page.url)


def join(page, link: str) -> str:
    """Open a class link and wait until the page is in the class; the student's name."""
    page.goto(link)
    wait_for_chart(page, timeout=LONG * 2)
    page.wait_for_function(
        f"document.querySelector('{BAR}')?.innerText.includes('In class')", timeout=LONG
    )
    return re.search(r"In class \w+ as (.+)", page.inner_text(BAR)).group(1).strip()


def move_step(page) -> str:
    """Press ArrowRight on the step-size slider; the step size of the run it made, once that
    run is on screen."""
    before = wait_for_chart(page)
    step = address(page)["step_size"]
    slider = page.get_by_role("slider", name=label("step_size"))
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(old) => new URLSearchParams(location.search).get('step_size') !== old", arg=step
    )
    wait_for_change(page, before)
    settled(page)
    return address(page)["step_size"]


def open_board(page, server_url: str, code: str, key: str) -> None:
    page.goto(f"{server_url}?board={code}&key={key}")
    page.wait_for_function("() => !location.search.includes('key=')")
    page.locator(".st-key-board_names").wait_for()


def show_names(page) -> None:
    page.locator(".st-key-board_names label").click()
    page.wait_for_function(
        f"() => {{ const s = ({ON_BOARD})(); return s && "
        "!Object.keys(s).some((n) => n.startsWith('Student ')); }"
    )


def wait_on_board(page, students: dict[str, float]) -> None:
    """Wait until the board's chart shows exactly these students (name: step size)."""
    want = dict(sorted(students.items()))
    try:
        page.wait_for_function(
            f"(want) => JSON.stringify(({ON_BOARD})()) === JSON.stringify(want)", arg=want
        )
    except PlaywrightTimeout:
        pytest.fail(f"the board shows {page.evaluate(ON_BOARD)}, not {want}")


def worker_pids(*servers) -> list[int]:
    pids = [server.pid(port) for server in servers for port in server.workers]
    assert all(pid > 1 for pid in pids), pids
    return pids


# --- two machines, one store -------------------------------------------------------------------


def test_two_class_servers_on_one_postgresql_give_one_board(servers, store, person):
    one, two = servers
    code, key = store.create_class(LINK)
    students = {
        join(person(), class_link(one.url, code, step_size="0.1")): 0.1,  # through server 1
        join(person(), class_link(two.url, code, step_size="0.2")): 0.2,  # through server 2
    }
    assert len(students) == 2
    for server in (one, two):  # the board on either server shows both
        board = person()
        open_board(board, server.url, code, key)
        wait_metric(board, "Joined", "2")
        show_names(board)
        wait_on_board(board, students)
    rows = store.students(code)  # one database holds both (no server kept a store of its own)
    assert {r.name: r.step_size for r in rows} == students


# --- the store stopped -------------------------------------------------------------------------


def outage(what: str, student, name: str, board, stop, start, workers) -> None:
    """Stop the store under an open student page and board (names shown); the student reruns
    twice with one notice, the board says the store cannot be reached; start it; the run made
    meanwhile and the next one reach the board, names still shown; the workers are the same
    processes. Prints how long each took (`pytest -s`, for deploy/SCALING.md)."""
    pids, took = workers(), {}
    wait_on_board(board, {name: float(address(student)["step_size"])})
    took["rerun, store up"] = timed(lambda: move_step(student))
    wait_on_board(board, {name: float(address(student)["step_size"])})
    stop()
    try:
        took["board says so"] = timed(lambda: board.get_by_text(BOARD_DOWN).wait_for())
        for _ in range(20):  # until the student's worker has read the store since it stopped
            move_step(student)  # (its watcher reads every WATCH_INTERVAL s; a run before that
            if student.evaluate(DOWN_NOTICES):  # goes through with no notice, and is kept)
                break
        for _ in range(2):
            took["rerun, store down"] = timed(lambda: move_step(student))
            student.get_by_text(STUDENT_DOWN).wait_for()
            assert student.evaluate(DOWN_NOTICES) == 1
            assert not student.query_selector("[data-testid=stException]")
        step = address(student)["step_size"]
    finally:
        start()  # (also when the test failed meanwhile: the store is the module's)
    # the run made meanwhile, recorded by itself
    took["back: run on board"] = timed(lambda: wait_on_board(board, {name: float(step)}))
    expect(board.get_by_text(BOARD_DOWN)).to_have_count(0)
    student.wait_for_function(f"() => ({DOWN_NOTICES})() === 0")
    wait_on_board(board, {name: float(move_step(student))})  # and the next run
    assert not student.query_selector("[data-testid=stException]")
    assert not board.query_selector("[data-testid=stException]")
    assert workers() == pids  # no restart
    print(f"\n{what}: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))


def timed(action) -> float:
    """The seconds `action()` took (a figure to print, never to assert)."""
    start = time.monotonic()
    action()
    return time.monotonic() - start


def test_with_postgresql_stopped_students_work_on_and_recording_resumes(servers, pg, store, person):
    one, two = servers
    code, key = store.create_class(LINK)
    student = person()
    name = join(student, class_link(one.url, code))
    board = person()
    open_board(board, two.url, code, key)  # the board on the other server
    show_names(board)
    outage(
        "PostgreSQL stopped", student, name, board, pg.stop, pg.start, lambda: worker_pids(one, two)
    )


def test_with_the_sqlite_file_not_writable_students_work_on_and_recording_resumes(
    tmp_path, logs, person
):
    db = tmp_path / "class.db"
    setup = Store(f"sqlite:///{db}")
    code, key = setup.create_class(LINK)
    setup.close()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV, f"sqlite:///{db}")
        with class_server(2, WORKER_PORTS, NGINX_PORTS, log_dir=logs) as server:
            student = person()
            name = join(student, class_link(server.url, code))
            board = person()
            open_board(board, server.url, code, key)
            show_names(board)
            readonly = not_writable(db)  # entered by stop(), left by start()
            outage(
                "SQLite file not writable",
                student,
                name,
                board,
                readonly.__enter__,
                lambda: readonly.__exit__(None, None, None),
                lambda: worker_pids(server),
            )


# --- the key ----------------------------------------------------------------------------------


def captured(page, frames: list[bytes], requests: list | None = None) -> list[bytes]:
    """Every websocket message the page sends or receives from now on, as bytes, into
    `frames` (and every HTTP request it makes into `requests`)."""

    def keep(payload) -> None:
        frames.append(payload if isinstance(payload, bytes) else payload.encode())

    def on_socket(ws) -> None:
        ws.on("framesent", keep)
        ws.on("framereceived", keep)

    page.on("websocket", on_socket)
    if requests is not None:
        page.on("request", lambda request: requests.append(request))
    return frames


def refused(url: str) -> int:
    """The HTTP status of a GET of `url` that is expected to fail."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def log_files(servers, logs: Path, pg) -> list[Path]:
    """Every log the servers wrote: each worker's, supervisord's and nginx's (in each server's
    temporary folder), serve_class.sh's own output, and PostgreSQL's."""
    found = [pg.folder / "pg.log", *logs.iterdir()]
    for server in servers:
        found += [p for p in server.tmp.rglob("*.log") if p.is_file()]
        found += [server.tmp / "supervisord.out"]
    return found


def test_the_key_reaches_no_students_page_no_log_and_no_students_link(
    servers, pg, logs, store, person
):
    one, two = servers
    teacher = person()
    students_link, board_link = start_class(teacher, one.url + "?lesson=limit")
    code, key = (address_of(board_link.get_attribute("href"))[k] for k in ("board", "key"))
    assert len(key) >= 22 and key not in students_link

    board_frames: list[bytes] = []
    board_requests: list = []
    teacher.context.on("page", lambda page: captured(page, board_frames, board_requests))
    with teacher.context.expect_page() as opened:  # the teacher opens the board's link
        board_link.click()
    board = opened.value
    board.set_default_timeout(LONG)
    board.wait_for_function("() => !location.search.includes('key=')")
    wait_metric(board, "Joined", "0")
    assert key not in board.url

    student = person()
    frames = captured(student, [])
    join(student, at(one.url, students_link))  # on the board's own worker
    move_step(student)
    wait_metric(board, "Joined", "1")
    board.locator(".st-key-board_link summary").click()
    shown = board.locator(".st-key-board_link a[href*='class=']").first.get_attribute("href")
    assert key not in shown

    assert key not in student.url and key not in student.content()
    assert frames and not [f for f in frames if key.encode() in f]
    assert any(key.encode() in f for f in board_frames)  # the capture would have seen it
    # the board's own requests name no referrer with the key (nginx would log it with an error)
    assert board_requests
    assert not [r.url for r in board_requests if key in r.all_headers().get("referer", "")]

    # the board's link opened while its worker is down: nginx answers 502 and logs the error,
    # without the key (the same request without a key is logged with its query)
    worker = one.workers[0]
    one.ctl("stop", f"worker:worker-{worker}")
    try:
        assert refused(f"{one.url}?board={code}&key={key}") == 502
        assert refused(f"{one.url}?board={code}&logged=yes") == 502
    finally:
        one.ctl("start", f"worker:worker-{worker}")
    wait_until(lambda: healthy(one.worker_url(worker)), 60)
    assert f"board={code}&logged=yes".encode() in (one.tmp / "nginx" / "error.log").read_bytes()

    texts = {p: p.read_bytes() for p in log_files(servers, logs, pg)}
    board_worker = texts[one.tmp / f"worker-{one.workers[0]}.log"]
    assert b"AppSession initialized" in board_worker  # Streamlit's debug level, and sessions
    assert not [p for p, t in texts.items() if key.encode() in t]
