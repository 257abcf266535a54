"""The store stopped under a running class (PostgreSQL down; the SQLite file's folder gone):
one exception the page can catch, runs kept meanwhile, and recording resumes by itself when the
store is back, with the same Store (no restart)."""

from __future__ import annotations

import threading

import pytest
from test_store import RUN, SETTINGS, token, wait_for

from lrclass import Store, StoreUnavailable
from support.readonly import not_writable

pytestmark = pytest.mark.store


def test_a_stopped_store_raises_one_exception_and_recording_resumes(store, clock, outage):
    code, key = store.create_class(SETTINGS)
    student = store.join(code, token(1))
    assert store.record(student, {"step_size": "0.1"}, RUN)
    assert store.recent_status(student) == "open"
    outage.stop()
    assert wait_for(lambda: _answers(lambda: store.recent_status(student)) is None)
    for call in (
        lambda: store.board(code, key),
        lambda: store.join(code, token(2)),
        lambda: store.students(code),
        lambda: store.status(student),
    ):
        with pytest.raises(StoreUnavailable, match="cannot be reached") as caught:
            call()
        assert key not in str(caught.value) and token(1) not in str(caught.value)
    clock.advance(1)
    with pytest.raises(StoreUnavailable):  # the student's page shows one notice, keeps working
        store.record(student, {"step_size": "0.2"}, RUN)
    clock.advance(0.5)
    assert not store.record(student, {"step_size": "0.3"}, RUN)  # kept, to write later
    outage.start()
    clock.advance(1)
    assert wait_for(lambda: store.students(code)[0].step_size == 0.3)  # by itself, no flush()
    assert wait_for(lambda: _answers(lambda: store.recent_status(student)) == "open")
    assert store.board(code, key).code == code
    assert store.join(code, token(2)).name


def test_a_store_opened_while_down_creates_its_schema_when_back(db_url, clock, outage):
    outage.stop()
    store = Store(db_url, clock=clock)  # a worker starting during the outage does start
    try:
        with pytest.raises(StoreUnavailable):
            store.create_class(SETTINGS)
        outage.start()
        code, key = store.create_class(SETTINGS)
        assert store.board(code, key).settings == SETTINGS
    finally:
        store.close()


def test_flush_during_an_outage_keeps_every_waiting_run(store, clock, outage):
    code, _ = store.create_class(SETTINGS)
    students = [store.join(code, token(n)) for n in range(3)]
    for student in students:
        store.record(student, {"step_size": "0.1"}, RUN)
    clock.advance(0.5)
    for n, student in enumerate(students):
        assert not store.record(student, {"step_size": f"0.{n + 2}"}, RUN)
    outage.stop()
    with pytest.raises(StoreUnavailable):
        store.flush()
    outage.start()
    store.flush()
    assert [r.step_size for r in store.students(code)] == [0.2, 0.3, 0.4]


def test_a_sqlite_file_made_read_only_is_an_outage_too(tmp_path, clock):
    """The SQLite file left in place but not writable (support.readonly: chattr +i as root,
    the write bits away otherwise): every call raises StoreUnavailable, not some other error
    (SQLite opens such a file read-only without a word), for a worker that had it open and one
    that opens it meanwhile; the run made meanwhile is written once the file is writable again."""
    path = tmp_path / "class.db"
    store = Store(f"sqlite:///{path}", clock=clock)
    late = None
    try:
        code, key = store.create_class(SETTINGS)
        student = store.join(code, token(1))
        assert store.record(student, {"step_size": "0.1"}, RUN)
        with not_writable(path):
            clock.advance(1)
            with pytest.raises(StoreUnavailable, match="not writable"):
                store.record(student, {"step_size": "0.2"}, RUN)
            for call in (
                lambda: store.board(code, key),
                lambda: store.students(code),
                lambda: store.status(student),
            ):
                with pytest.raises(StoreUnavailable, match="cannot be reached"):
                    call()
            late = Store(f"sqlite:///{path}", clock=clock)  # a worker (re)started meanwhile
            with pytest.raises(StoreUnavailable):
                late.board(code, key)
        clock.advance(1)
        assert wait_for(lambda: store.students(code)[0].step_size == 0.2)  # by itself
        assert late.board(code, key).code == code
    finally:
        store.close()
        if late is not None:
            late.close()


def test_a_store_that_hangs_answers_unavailable_after_its_deadline_and_comes_back(
    postgres_server, clock
):
    """PostgreSQL hung (every process stopped, its connections open: a database host gone
    without closing them): each call the page makes is StoreUnavailable once the deadline has
    passed, instead of holding the student's run; recording resumes once the server answers."""
    store = Store(postgres_server.create_database("hangs"), clock=clock, deadline=0.5)
    try:
        code, key = store.create_class(SETTINGS)
        student = store.join(code, token(1))
        assert store.record(student, {"step_size": "0.1"}, RUN)
        assert store.recent_status(student) == "open"  # watched from now on
        clock.advance(1)  # the student's next run is written at once, not a second later
        answers = []

        def the_pages_calls():  # on a thread of its own: a hang is seen, not waited out
            for call in (
                lambda: store.status(student),
                lambda: store.board(code, key),
                lambda: store.students(code),
                lambda: store.join(code, token(2)),
                lambda: store.record(student, {"step_size": "0.2"}, RUN),
                lambda: store.recent_status(student),  # (its watcher's last read is too old)
            ):
                try:
                    answers.append(call())
                except StoreUnavailable as error:
                    answers.append(error)

        with postgres_server.frozen():
            page = threading.Thread(target=the_pages_calls, daemon=True)
            page.start()
            page.join(60)  # (each call returns within its deadline: 2.5 s in all)
            assert not page.is_alive(), "a call waited on the hung database"
        assert len(answers) == 6
        assert all(isinstance(a, StoreUnavailable) for a in answers), answers
        assert all("cannot be reached" in str(a) for a in answers)
        assert wait_for(lambda: _answers(lambda: store.status(student)) == "open")
        assert wait_for(lambda: _answers(lambda: store.recent_status(student)) == "open")
        clock.advance(1)  # the writer's second is over: the run kept meanwhile is written
        assert wait_for(lambda: store.students(code)[0].step_size == 0.2)
        assert store.board(code, key).code == code
    finally:
        store.close()


def _answers(call):
    try:
        return call()
    except StoreUnavailable:
        return None
