"""scripts/loadtest.py --class against the real page served by deploy/serve_class.sh (2 workers
behind nginx) on a real SQLite class store: tabs join one class through its students' link and
hand over their own browser tokens, the teacher's board is open, and at the end every
student's row in the store is their last run. Also what the class bar asks of the server on its
own: a look every POLL_OPEN seconds while the class is open, every POLL seconds once paused.

The rows are read with the store's own API (lrclass.Store on the same file), and each is
checked against the slider value the tab last sent and the address its page last wrote.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from classserver import class_server
from test_isolation import loadtest

from lrclass import Outcome, Store
from lrui import student as student_page

pytestmark = pytest.mark.serving

WORKER_PORTS = range(8740, 8746)  # this file's share of the machine's ports
NGINX_PORTS = range(8746, 8750)
STUDENTS = 5
RERUNS = 6
WAIT = student_page.POLL_OPEN + 30  # seconds for a state the page reaches on its own


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('classload') / 'class.db'}"


@pytest.fixture(scope="module")
def server(db, tmp_path_factory):
    """serve_class.sh 2 on app.py, its workers on this module's class store (the workers
    inherit the environment)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LR_CLASS_DB", db)
        with class_server(
            2, WORKER_PORTS, NGINX_PORTS, log_dir=tmp_path_factory.mktemp("logs")
        ) as served:
            yield served


def test_every_student_of_a_loaded_class_ends_with_their_last_run_and_the_board_sees_them(
    server, db
):
    """5 tabs join and move the noise slider back to back (so most runs come within a second
    of the one before, which the store writes a second later from its own thread), the board
    open. The loadtest finds no error; then, independently, each student's row is read."""
    args = loadtest.parser().parse_args(
        ["--url", server.url, "--class", "--class-db", db, "--sessions", str(STUDENTS)]
        + ["--reruns", str(RERUNS), "--mode", "fast", "--board-alone", "5", "--seconds", "120"]
    )
    room = loadtest.open_class(args)
    room.alone_seconds = args.board_alone
    try:
        tally = asyncio.run(loadtest.load(args, room))
        assert tally.errors == {}
        assert len(tally.reruns) == STUDENTS * RERUNS
        assert len(tally.first) == 2 * STUDENTS + 1  # the link, the token handed over; the board

        store = Store(db)
        try:
            rows = {row.id: row for row in store.students(room.code)}
            assert len(rows) == len(room.students) == STUDENTS
            tokens = {s.token for s in room.students}
            assert len(tokens) == STUDENTS and all(16 <= len(t) <= 128 for t in tokens)
            for tab in room.students:
                row = rows[store.join(room.code, tab.token).id]  # the same browser: same student
                assert row.settings["noise"] == tab.sent  # the value the tab last sent
                assert row.settings == tab.settings  # ... and the whole run its page last showed
        finally:
            store.close()

        summary = loadtest.summary(tally, room=room)["class"]
        assert summary["students"] == STUDENTS
        assert summary["board_saw"]["Joined"] == str(STUDENTS)
        assert summary["board_saw"]["No run yet"] == "0"
        assert summary["board_alone_refreshes"] >= 1
        assert summary["board_cpu_ms_per_refresh"] > 0
    finally:
        room.store.end(room.code, room.key)
        room.store.close()


def test_a_row_that_is_not_the_students_last_run_is_reported(tmp_path):
    """The check itself: a row the store kept from an earlier run is a lost update."""
    store = Store(f"sqlite:///{tmp_path / 'class.db'}")
    try:
        code, key = store.create_class({"noise": "300"})
        room = loadtest.Classroom(store, code, key, {"noise": "300"})
        for n, noise in enumerate(("20", "2000")):
            tab = loadtest.Student(f"token-of-tab-{n}-0123456789abcdef")
            store.record(store.join(code, tab.token), {"noise": noise}, Outcome(1.0, 1, False, 0))
            tab.settings = {"noise": noise}
            room.students.append(tab)
        room.students[1].settings = {"noise": "0"}  # its last run, which the store never got
        lost, _ = asyncio.run(loadtest.settle(room, 0.5))
        assert lost == [room.students[1]]
    finally:
        store.close()


def test_the_class_bar_looks_every_poll_open_seconds_and_every_poll_once_paused(server, db):
    """What a student's tab asks of the server on its own: its class bar reruns every
    POLL_OPEN s while the class is open; once it finds the class paused (on a look of its
    own: the student touches nothing), it says so and looks every POLL s, so the resume shows
    at its next look."""
    store = Store(db)
    code, key = store.create_class({"noise": "300"})

    async def tab():
        room = loadtest.Classroom(store, code, key, {"noise": "300"})
        session = loadtest.Session(server.url, follow_fragments=True)
        session.query_string = room.link
        await session.connect()
        try:
            assert (await session.run()).ok
            run, _ = await loadtest.join(session, room)
            assert run.ok, (run.status, run.exceptions)
            assert list(session.intervals.values()) == [student_page.POLL_OPEN]
            assert store.pause(code, key)
            await until(lambda: student_page.PAUSED in session.last_run.texts("alert"))
            assert list(session.intervals.values()) == [student_page.POLL]
            assert store.resume(code, key)
            looks = len(session.fragment_runs)
            await until(
                lambda: (
                    len(session.fragment_runs) > looks
                    and student_page.PAUSED not in session.fragment_runs[-1].texts("alert")
                )
            )
        finally:
            await session.close()

    try:
        asyncio.run(tab())
    finally:
        store.end(code, key)
        store.close()


async def until(predicate, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not within the time the page has"
        await asyncio.sleep(0.1)
