"""A student's page in a class (?class=CODE), without a browser: joining, recording each run,
a pause, the end of the class, an unknown code and a store that cannot be reached.

Classes are made with the store's own API on a real SQLite file (LR_CLASS_DB, set before the
page starts); the page's store is another Store on that file, as another worker's would be.
The browser hands the page its token through the token element's state (components v2): here
the test sets that state, as the element's setStateValue does in a browser
(tests/browser/test_browser_student.py runs the element itself). The outcome recorded is
checked against lrcore.train and lrcore.explain.verdict called directly, and the distance
against NumPy's least squares.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrclass import Store, StoreUnavailable, Student
from lrclass.store import FAILURES_PER_MINUTE
from lrcore import explain
from lrcore import settings as cfg
from lrui import student
from lrui.text import escape

TIMEOUT = 60
TOKEN = "t0ken-of-this-browser-0123456789"
LINK = {"standardize": "true", "step_size": "0.1", "iterations": "1000"}  # within 1% early
WAIT = 20.0  # seconds to wait for the store's row to show a run (written within ~1 s)


@pytest.fixture
def db(tmp_path, monkeypatch):
    """The class store on a SQLite file in its own folder, LR_CLASS_DB pointing at it."""
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'class.db'}"
    monkeypatch.setenv("LR_CLASS_DB", url)
    store = Store(url)
    yield store
    store.close()


def open_class(code: str, params: dict | None = None, token: str = TOKEN) -> AppTest:
    """A first visit to the class's link; the browser then hands over its token (a rerun)."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.query_params["class"] = code
    for key, value in (params if params is not None else LINK).items():
        at.query_params[key] = value
    at.run()
    at.session_state["browser_token"] = {"token": token}
    return at.run()


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def protos(at: AppTest):
    """Every element's message as the page sends it to the browser."""

    def walk(node):
        if getattr(node, "proto", None) is not None:
            yield node.proto
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return list(walk(at._tree))


def bar_text(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "In class" in m.value]


def expected(params: dict) -> tuple[dict, dict]:
    """The settings as the link holds them, and the outcome of their run on the blog's data,
    from lrcore directly (train, explain.verdict) and NumPy's least squares."""
    s = cfg.from_params(params)[0]
    data = lrcore.make_data()
    args = cfg.train_args(s)
    states = list(lrcore.train(data.x, data.y, **args, at=[0, s.iterations]))
    del args["iterations"]
    v = explain.verdict(data.x, data.y, states, **args)
    (w, b), *_ = np.linalg.lstsq(np.c_[data.x, np.ones_like(data.x)], data.y, rcond=None)
    last = states[-1]
    outcome = {
        "diverged": last.diverged,
        "epochs_to_1pct": v.epoch if v.outcome == explain.CONVERGED else None,
        "final_loss": None if last.diverged else last.loss,
        "distance": None if last.diverged else math.hypot(last.w - w, last.b - b),
    }
    return cfg.to_params(s), outcome


def row_of(store: Store, code: str, params: dict | None = None, wait: float = WAIT):
    """The class's one student row, once its run has these settings (waited for)."""
    settings = params and expected(params)[0]
    deadline = time.monotonic() + wait
    while True:
        rows = store.students(code)
        if rows and (settings is None or rows[0].settings == settings):
            return rows[0]
        assert time.monotonic() < deadline, f"no row with {params}: {rows}"
        time.sleep(0.05)


def assert_recorded(row, params: dict) -> None:
    settings, outcome = expected(params)
    assert row.settings == settings
    assert row.diverged is outcome["diverged"]
    assert row.epochs_to_1pct == outcome["epochs_to_1pct"]
    for name in ("final_loss", "distance"):
        if outcome[name] is None:
            assert getattr(row, name) is None
        else:
            assert getattr(row, name) == pytest.approx(outcome[name], rel=1e-6, abs=1e-9)


def test_opening_a_class_link_joins_the_class_and_records_the_run(db):
    code, key = db.create_class(LINK)
    at = open_class(code)
    assert not at.exception
    row = row_of(db, code, LINK)  # (written by the store's thread)
    assert bar_text(at) == [f":material/groups: In class **{code}** as **{escape(row.name)}**"]
    assert row.name and len(row.name) <= 24
    assert_recorded(row, LINK)
    assert expected(LINK)[1]["epochs_to_1pct"] is not None  # the run got within 1%
    assert query(at)["class"] == code  # a reload stays in the class
    # the token is nowhere in the address, and nowhere on the page
    assert TOKEN not in str(query(at))
    assert all(TOKEN not in str(proto) for proto in protos(at))
    # the same browser again (a reload, a second tab) is the same student; another is not
    again = open_class(code)
    assert bar_text(again) == bar_text(at)
    open_class(code, token="a-neighbours-token-9876543210")
    assert [r.id for r in db.students(code)] == [row.id, row.id + 1]


def test_a_settings_change_records_the_new_settings_and_outcome(db):
    code, _ = db.create_class(LINK)
    at = open_class(code)
    row_of(db, code, LINK)
    at.select_slider(key="step_size").set_value(0.5).run()
    params = {**LINK, "step_size": "0.5"}
    assert_recorded(row_of(db, code, params), params)
    at.toggle(key="standardize").set_value(False).run()  # the same step on raw x diverges
    params = {**params, "standardize": "false"}
    assert not at.exception
    assert_recorded(row_of(db, code, params), params)
    assert expected(params)[1]["diverged"] and not expected(LINK)[1]["diverged"]


def test_a_chosen_name_is_stored_clean_and_shown_as_text(db):
    code, _ = db.create_class(LINK)
    at = open_class(code)
    name = "**<b>Bo</b>** [x](y) :z:"
    at.text_input(key=student.NAME).input(name).run()
    assert not at.exception
    shown = name
    assert row_of(db, code).name == shown
    (text,) = bar_text(at)
    shown_part = text.split(" as **", 1)[1].removesuffix("**")
    # every punctuation mark of the name is backslash-escaped: Markdown and HTML show as text
    assert shown_part.replace("\\", "") == shown
    assert all(shown_part[i - 1] == "\\" for i, c in enumerate(shown_part) if c in "*<>[]():")


def test_an_unknown_class_code_says_so_and_the_page_works_as_usual(db):
    db.create_class(LINK)
    at = open_class("ZZZZZZ")
    assert not at.exception
    assert any("There is no class ZZZZZZ" in i.value for i in at.info)
    assert "class" not in query(at)  # the link is the run's own again
    assert query(at)["step_size"] == "0.1"
    assert not bar_text(at) and at.get("plotly_chart")
    at.select_slider(key="step_size").set_value(0.5).run()
    assert not at.exception and query(at)["step_size"] == "0.5"
    assert not any("There is no class" in i.value for i in at.info)  # said once


def test_a_link_with_a_hand_made_code_shows_it_as_text(db):
    at = open_class("<b>x</b>")
    assert not at.exception
    (info,) = [i.value for i in at.info if "There is no class" in i.value]
    assert escape("<b>x</b>") in info
    at = open_class("<i>" * 100)  # a long one is cut short
    (info,) = [i.value for i in at.info if "There is no class" in i.value]
    assert escape("<i>" * 4) + "…:" in info


def seen(code: str, status: str | None) -> None:
    """Wait until the page's store (this process's, as a worker's) has read the class's state
    ("unreachable": that the store cannot be reached): its watcher reads it every
    WATCH_INTERVAL s, so another worker's pause reaches a student's page within that."""

    def found():
        try:
            return student.store().recent_status(Student(code, TOKEN, 0, ""))
        except StoreUnavailable:
            return "unreachable"

    deadline = time.monotonic() + WAIT
    while found() != status:
        assert time.monotonic() < deadline, f"the page's store did not see the class {status}"
        time.sleep(0.05)


def test_a_paused_class_holds_the_settings_until_it_resumes(db):
    code, key = db.create_class(LINK)
    at = open_class(code)
    row_of(db, code, LINK)
    assert db.pause(code, key)
    seen(code, "paused")
    at.run()
    assert [w.value for w in at.warning] == [student.PAUSED]
    at.select_slider(key="step_size").set_value(0.5).run()
    assert not at.exception
    assert at.select_slider(key="step_size").value == 0.1  # the change waits
    assert query(at)["step_size"] == "0.1"
    assert [w.value for w in at.warning] == [student.PAUSED]
    assert db.resume(code, key)
    seen(code, "open")
    at.run()
    assert not at.warning
    at.select_slider(key="step_size").set_value(0.5).run()
    assert query(at)["step_size"] == "0.5"
    params = {**LINK, "step_size": "0.5"}
    assert_recorded(row_of(db, code, params), params)


def test_a_pause_holds_the_very_next_change_without_waiting_for_a_look(db):
    """The bar looks at an open class only every POLL_OPEN seconds on its own; a pause must
    hold the student's next change all the same (the page reads the class's state at the
    start of every run, as its worker's store last read it), and say why."""
    code, key = db.create_class(LINK)
    at = open_class(code)
    row_of(db, code, LINK)
    assert db.pause(code, key)
    seen(code, "paused")
    at.select_slider(key="step_size").set_value(0.5).run()  # no run of the page in between
    assert not at.exception
    assert at.select_slider(key="step_size").value == 0.1
    assert query(at)["step_size"] == "0.1"
    assert [w.value for w in at.warning] == [student.PAUSED]
    student.store().flush()
    assert db.students(code)[0].settings == expected(LINK)[0]  # the held change is not recorded


def test_an_ended_class_says_so_once_and_the_page_carries_on(db):
    code, key = db.create_class(LINK)
    at = open_class(code)
    assert db.end(code, key)
    seen(code, None)
    at.run()
    assert not at.exception
    assert [i.value for i in at.info if "has ended" in i.value] == [
        f"Class {code} has ended. The page carries on as usual."
    ]
    assert "class" not in query(at) and not bar_text(at)
    at.select_slider(key="step_size").set_value(0.5).run()
    assert not at.exception and query(at)["step_size"] == "0.5"
    assert not [i for i in at.info if "has ended" in i.value]


def test_leaving_drops_the_class_and_keeps_the_run(db):
    code, _ = db.create_class(LINK)
    at = open_class(code)
    row = row_of(db, code, LINK)
    at.button(key="leave_class").click().run()
    assert not at.exception
    assert "class" not in query(at) and not bar_text(at)
    at.select_slider(key="step_size").set_value(0.5).run()
    student.store().flush()  # the page's store: a run recorded would be written now
    assert db.students(code) == [row]  # the run stays; the new one is not the class's


def test_an_unreachable_store_gives_one_notice_and_recording_resumes(db, tmp_path):
    code, _ = db.create_class(LINK)
    at = open_class(code)
    row_of(db, code, LINK)
    folder, away = tmp_path / "db", tmp_path / "moved-away"
    folder.rename(away)  # every fresh open of the file fails (as root, permissions would not)
    seen(code, "unreachable")
    try:
        for step in (0.5, 0.2):
            at.select_slider(key="step_size").set_value(step).run()
            assert not at.exception
            assert [w.value for w in at.warning] == [student.UNREACHABLE]
            assert query(at)["step_size"] == str(step) and at.get("plotly_chart")
    finally:
        away.rename(folder)
    deadline = time.monotonic() + WAIT
    while [w.value for w in at.warning] == [student.UNREACHABLE]:  # the next look finds it
        assert time.monotonic() < deadline
        time.sleep(0.2)
        at.run()
    assert not at.exception and not at.warning
    params = {**LINK, "step_size": "0.2"}
    assert_recorded(row_of(db, code, params), params)


def test_a_run_made_while_the_store_was_down_is_recorded_with_no_further_look(db, tmp_path):
    """The bar of an open class looks on its own only once a minute: the run made during the
    outage goes to the store's writer thread, which records it once the store answers,
    with no run of the page meanwhile."""
    code, _ = db.create_class(LINK)
    at = open_class(code)
    row_of(db, code, LINK)
    folder, away = tmp_path / "db", tmp_path / "moved-away"
    folder.rename(away)
    seen(code, "unreachable")
    try:
        for step in (0.5, 0.2):
            at.select_slider(key="step_size").set_value(step).run()
            assert [w.value for w in at.warning] == [student.UNREACHABLE]
    finally:
        away.rename(folder)
    params = {**LINK, "step_size": "0.2"}
    assert_recorded(row_of(db, code, params), params)  # waited for; the page does not run


def test_too_many_failed_look_ups_from_here_say_so_and_keep_the_link(db):
    code, _ = db.create_class(LINK)
    # the store counts failures per minute of the wall clock (the page's store reads the real
    # time): start early in a minute, so that the count cannot start afresh mid-test
    if time.time() % 60 > 40:
        time.sleep(60.5 - time.time() % 60)
    for n in range(FAILURES_PER_MINUTE):  # unknown codes tried from this client (AppTest's "")
        assert db.join("ZZZZZZ", f"another-token-{n:04d}-0123456789") is None
    at = open_class(code)
    for _ in range(2):  # and the next run, while the minute lasts
        assert not at.exception
        assert [w.value for w in at.warning] == [student.TOO_MANY]
        assert query(at)["class"] == code and not db.students(code)  # a reload later joins
        at.select_slider(key="step_size").set_value(0.5).run()
