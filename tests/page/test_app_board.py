"""The teacher's side of a class, on a real SQLite store (LR_CLASS_DB, set before the page
starts): "Start a class" makes a class from the run on screen and shows its code and links; the
board (`?board=CODE&key=KEY`) takes the key out of the address, answers a wrong or missing key
as an unknown class, and shows the students written here with the Store API: the counts, the
ranking and the CSV as lrclass.results makes them from the store's rows, their points on the
Explore chart with gd's stability limit, names hidden until asked for; its buttons pause,
resume and end the class in the store."""

from __future__ import annotations

import json
import time
import urllib.parse

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrclass import Outcome, Store, codes, results
from lrclass.store import ENV
from lrui import board
from support.page import widget_keys

TIMEOUT = 60
# (step size, outcome) of the students' runs: within 1%, not yet, diverged, and one not run
RUNS = [
    (0.0005, Outcome(45_000.5, 30_000, False, 0.2)),
    (0.0003, Outcome(46_000.25, None, False, 9.0)),
    (0.0006, Outcome(44_990.0, 25_000, False, 0.1)),
    (0.003, Outcome(None, None, True, None)),
    (0.0006, Outcome(44_990.0, 25_000, False, 0.1)),  # a tie: the one who joined first leads
    (0.0001, Outcome(52_000.0, None, False, 40.0)),
    None,  # joined, no run yet
]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The page's store: a fresh SQLite file, named by LR_CLASS_DB before the page starts."""
    (tmp_path / "db").mkdir()
    url = f"sqlite:///{tmp_path / 'db' / 'class.db'}"
    monkeypatch.setenv(ENV, url)
    made = Store(url)
    yield made
    made.close()


def page(params: dict[str, str], kept: str = "") -> AppTest:
    """The page opened at `params` in a tab that keeps `kept` as the board's key (a new tab:
    none; components/board_key answers from the tab's sessionStorage)."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.session_state["board_key"] = {"key": kept}
    return at.run()


def enrol(store: Store, code: str, runs=RUNS, lesson: str = "") -> list:
    """Students who join the class and record one run each (None: no run)."""
    students = []
    for i, run in enumerate(runs):
        student = store.join(code, f"browser-token-{i:04d}-of-a-test")
        if run is not None:
            step, outcome = run
            settings = {"step_size": repr(step), **({"lesson": lesson} if lesson else {})}
            assert store.record(student, settings, outcome)
        students.append(student)
    store.flush()
    return students


def labels(rows) -> dict[int, str]:
    """How the board names students with names hidden: by the order they joined."""
    return {row.id: f"Student {i}" for i, row in enumerate(rows, start=1)}


def shown_text(at: AppTest) -> list[tuple[str, str]]:
    """Every piece of text on the page, in order, with what kind of element it is in."""
    kinds = ("title", "header", "markdown", "caption", "error", "warning", "success", "info")
    return [(kind, str(e.value)) for kind in kinds for e in at.get(kind)] + [
        ("widgets", ",".join(sorted(widget_keys(at))))
    ]


# --- Start a class -----------------------------------------------------------------------------


def test_start_a_class_makes_a_class_of_the_run_on_screen_with_its_code_and_links(store):
    at = page({"lesson": "limit", "step_size": "0.0004"})
    on_screen = {k: at.query_params[k] for k in at.query_params}  # the address: the run shown
    assert on_screen["lesson"] == "limit"
    at.session_state["lessons"] = True  # "Lessons for teachers" open
    at.run()
    at.button(key="start_class").click().run()
    assert not at.exception
    [code] = [m.value for m in at.metric if m.label == "Class code"]
    assert codes.normalise(code) == code and len(code) == 6
    [students] = [c.value for c in at.code if "?class=" in c.value]
    [board] = [c.value for c in at.code if "?board=" in c.value]
    # both are links on the page too
    assert any(f"]({students})" in m.value for m in at.markdown)
    assert any(f"]({board})" in m.value for m in at.markdown)
    board_query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(board).query))
    assert board_query["board"] == code and len(board_query["key"]) >= 22  # ≥ 128 bits
    key = board_query["key"]
    info = store.board(code, key)
    assert info is not None and info.settings == on_screen  # the class starts from the run
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(students).query))
    assert query == {"class": code, **on_screen}
    assert key not in students
    assert urllib.parse.urlsplit(students)[:3] == urllib.parse.urlsplit(board)[:3]
    assert "class_qr" in at.session_state  # the students' link as a QR code, to project


def test_start_a_class_says_so_when_the_store_cannot_be_reached(tmp_path, monkeypatch):
    folder = tmp_path / "gone"  # a SQLite file in a folder that does not exist
    monkeypatch.setenv(ENV, f"sqlite:///{folder / 'class.db'}")
    at = page({})
    at.session_state["lessons"] = True
    at.run()
    at.button(key="start_class").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "The class store cannot be reached right now: try again in a moment."
    ]
    assert not [c for c in at.code if "?board=" in c.value]


# --- the board: its key ------------------------------------------------------------------------


def test_the_board_takes_its_key_out_of_the_address(store):
    code, key = store.create_class({"step_size": "0.0005"})
    at = page({"board": code, "key": key})
    assert not at.exception
    assert {k: at.query_params[k] for k in at.query_params} == {"board": code}
    assert [m.label for m in at.metric][:1] == ["Joined"]
    at.run()  # the next refresh: the key is kept in the session, not in the address
    assert [m.label for m in at.metric][:1] == ["Joined"]


def test_a_wrong_or_missing_key_is_answered_as_an_unknown_class(store):
    code, key = store.create_class({"step_size": "0.0005"})
    other, _ = store.create_class({"step_size": "0.0005"})
    unknown = next(c for c in ("ABCDEF", "GHJKMN") if c not in (code, other))
    wrong = page({"board": code, "key": key[:-1] + ("A" if key[-1] != "A" else "B")})
    missing = page({"board": code})
    someone_elses = page({"board": code, "key": store.create_class({})[1]})
    nothing = page({"board": unknown, "key": key})
    right = page({"board": code, "key": key})
    for at in (wrong, missing, someone_elses, nothing, right):
        assert not at.exception
    answers = [shown_text(at) for at in (wrong, missing, someone_elses, nothing)]
    assert all(answer == answers[0] for answer in answers)
    assert (
        "error",
        "There is no running class with this code and key. Check the board's "
        "link, or start a class under **Lessons for teachers**.",
    ) in answers[0]
    assert not wrong.metric and not wrong.dataframe and not wrong.button
    assert shown_text(right) != answers[0] and right.dataframe


def test_a_reloaded_board_tab_opens_the_class_with_the_key_it_kept(store):
    """A reload: the address has no key (the board took it out), the tab kept it."""
    code, key = store.create_class({"step_size": "0.0005"})
    reloaded = page({"board": code}, kept=key)
    assert not reloaded.exception
    assert [m.label for m in reloaded.metric][:1] == ["Joined"]
    assert {k: reloaded.query_params[k] for k in reloaded.query_params} == {"board": code}
    kept_wrong = page({"board": code}, kept=key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert shown_text(kept_wrong) == shown_text(page({"board": code}))
    assert not kept_wrong.metric


# --- the board: the students ------------------------------------------------------------------


@pytest.mark.parametrize("lesson, goal", [("", "fastest"), ("limit", "largest_step")])
def test_the_board_counts_and_ranks_the_students_as_lrclass_results_does(store, lesson, goal):
    code, key = store.create_class({"lesson": lesson} if lesson else {})
    enrol(store, code, lesson=lesson)
    at = page({"board": code, "key": key})
    assert not at.exception
    rows = store.students(code)
    assert len(rows) == len(RUNS)
    counts = results.counts(rows, time.time())
    shown = {m.label: int(m.value) for m in at.metric}
    assert shown == {
        "Joined": counts.joined,
        "Active": counts.active,
        "Within 1%": counts.within_1pct,
        "Not yet": counts.not_yet,
        "Diverged": counts.diverged,
        "No run yet": counts.waiting,
    }
    assert (counts.joined, counts.diverged, counts.within_1pct, counts.waiting) == (7, 1, 3, 1)
    table = at.dataframe[0].value
    best = results.ranked(rows, goal)
    names = labels(rows)
    assert list(table["student"][: len(best)]) == [names[r.id] for r in best]
    assert list(table["step size"][: len(best)]) == [r.step_size for r in best]
    assert list(table["rank"][: len(best)]) == list(range(1, len(best) + 1))
    assert table["rank"][len(best) :].isna().all()  # everyone else after, unranked
    assert sorted(table["student"]) == sorted(names.values())
    # by hand: fastest = fewest epochs (the tie to the one who joined first); limit = largest
    expected = ["Student 3", "Student 5", "Student 1"]
    if goal == "largest_step":
        expected = ["Student 3", "Student 5", "Student 1", "Student 2", "Student 6"]
    assert list(table["student"][: len(best)]) == expected
    # each student's run opens from the table: a link to their settings
    first = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(table["run"][0]).query))
    assert first == best[0].settings


def test_names_are_hidden_until_the_teacher_shows_them_and_stay_text(store):
    code, key = store.create_class({})
    students = enrol(store, code, RUNS[:3])
    store.rename(students[1], "<b>Ada</b> *x*")
    at = page({"board": code, "key": key})
    rows = store.students(code)
    real = {row.name for row in rows}
    assert "<b>Ada</b> *x*" in real
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    hover = " ".join(" ".join(t.get("hovertext") or []) for t in chart["data"])

    def everything(at):
        return json.dumps(shown_text(at)) + at.dataframe[0].value.to_json() + hover

    assert not any(name in everything(at) for name in real)
    assert sorted(at.dataframe[0].value["student"]) == ["Student 1", "Student 2", "Student 3"]
    at.toggle(key="board_names").set_value(True).run()
    assert sorted(at.dataframe[0].value["student"]) == sorted(real)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    hover = " ".join(" ".join(t.get("hovertext") or []) for t in chart["data"])
    assert "&lt;b&gt;Ada&lt;/b&gt; *x*" in hover and "<b>Ada" not in hover  # text, not HTML


def test_every_student_is_a_point_on_the_explore_chart_with_the_limit(store):
    code, key = store.create_class({})
    enrol(store, code)
    at = page({"board": code, "key": key})
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = {t["name"]: t for t in chart["data"]}
    rows = store.students(code)
    ran = [r for r in rows if r.diverged is not None]
    assert traces["students: loss"]["x"] == [r.step_size for r in ran if not r.diverged]
    assert traces["students: loss"]["y"] == [r.final_loss for r in ran if not r.diverged]
    assert traces["students: diverged"]["x"] == [r.step_size for r in ran if r.diverged]
    within = [r for r in ran if r.epochs_to_1pct is not None]
    assert traces["students: epochs to 1%"]["y"] == [r.epochs_to_1pct for r in within]
    upper = ("students: loss", "students: diverged")  # everyone who ran, once
    ids = [c[1] for name in upper for c in traces[name]["customdata"]]
    assert sorted(ids) == sorted(r.id for r in ran)
    # the limit 2/λmax of the blog's data: λmax of the Hessian [[mean x², mean x], [mean x, 1]]
    blog = lrcore.make_data()
    hessian = [[np.mean(blog.x**2), np.mean(blog.x)], [np.mean(blog.x), 1.0]]
    [limit] = [s["x0"] for s in chart["layout"]["shapes"] if s.get("name") == "limit"]
    assert limit == pytest.approx(2 / np.linalg.eigvalsh(hessian)[-1], rel=1e-9)


def test_momentum_classes_put_students_on_the_step_size_by_beta_map(store):
    code, key = store.create_class({"optimizer": "momentum", "momentum": "0.9"})
    student = store.join(code, "browser-token-momentum-test")
    store.record(
        student,
        {"optimizer": "momentum", "step_size": "0.0002", "momentum": "0.99"},
        Outcome(44_990.0, 2_000, False, 0.1),
    )
    store.flush()
    at = page({"board": code, "key": key})
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = {t["name"]: t for t in chart["data"]}
    assert "stability boundary" in traces
    assert traces["students"]["x"] == pytest.approx([np.log10(0.0002)])
    assert traces["students"]["y"] == pytest.approx([2.0])  # −log10(1 − 0.99)


def test_the_board_says_in_one_line_when_the_store_cannot_be_reached_and_comes_back(
    store, tmp_path
):
    code, key = store.create_class({})
    enrol(store, code, RUNS[:2])
    at = page({"board": code, "key": key})
    assert [m.value for m in at.metric][:1] == ["2"]
    (tmp_path / "db").rename(tmp_path / "away")  # every fresh open of the file fails
    try:
        at.run()  # the board's next look
        assert not at.exception
        assert [w.value for w in at.warning] == [
            "The class store cannot be reached: the board tries again every 2 s."
        ]
        assert not at.metric and not at.error
    finally:
        (tmp_path / "away").rename(tmp_path / "db")
    at.run()
    assert [m.value for m in at.metric][:1] == ["2"] and not at.warning


def test_names_shown_stay_shown_after_the_store_was_unreachable(store, tmp_path):
    """The teacher's "Show names" outlives an outage: while the store cannot be reached the
    board draws nothing but its notice (no toggle), and Streamlit forgets the state of a
    widget a run does not draw."""
    code, key = store.create_class({})
    enrol(store, code, RUNS[:2])
    at = page({"board": code, "key": key})
    at.toggle(key="board_names").set_value(True).run()
    real = sorted(row.name for row in store.students(code))
    assert sorted(at.dataframe[0].value["student"]) == real
    (tmp_path / "db").rename(tmp_path / "away")
    try:
        at.run()
        assert not at.toggle and len(at.warning) == 1
    finally:
        (tmp_path / "away").rename(tmp_path / "db")
    at.run()
    assert at.toggle(key="board_names").value
    assert sorted(at.dataframe[0].value["student"]) == real


# --- the board: its buttons -------------------------------------------------------------------


def test_the_csv_download_is_made_on_click_from_the_stores_rows(store, tmp_path):
    """Made when the teacher clicks (not at every refresh): the store's rows then; the rows on
    the board if the store cannot be reached or the class has ended meanwhile. (Here, with no
    server, nothing is registered for a click: tests/browser/test_browser_board.py downloads
    the file.)"""
    code, key = store.create_class({})
    enrol(store, code)
    at = page({"board": code, "key": key})
    button = at.get("download_button")[0].proto
    assert button.label == "Download results (CSV)"
    assert not button.url  # no file made with the page's run
    shown = store.students(code)
    late = store.join(code, "browser-token-of-a-late-student")
    store.record(late, {"step_size": "0.0002"}, RUNS[0][1])
    csv = board._csv(store, code, shown)
    assert csv == results.to_csv(store.students(code))
    assert csv.count("\n") == len(RUNS) + 2  # the header, the rows, the late student's
    unreachable = Store(f"sqlite:///{tmp_path / 'gone' / 'class.db'}")
    assert board._csv(unreachable, code, shown) == results.to_csv(shown)
    unreachable.close()
    assert store.end(code, key)
    assert board._csv(store, code, shown) == results.to_csv(shown)


def test_pause_resume_and_end_change_the_class_in_the_store(store):
    code, key = store.create_class({})
    enrol(store, code, RUNS[:2])
    at = page({"board": code, "key": key})
    assert store.board(code, key).paused is False
    at.button(key="board_pause").click().run()
    assert store.board(code, key).paused is True
    assert any(w.value.startswith("Paused") for w in at.warning)
    at.button(key="board_resume").click().run()
    assert store.board(code, key).paused is False
    at.button(key="board_end").click().run()
    assert store.board(code, key) is not None  # asked first
    at.button(key="board_end_no").click().run()
    assert store.board(code, key) is not None and not at.button(key="board_end").disabled
    at.button(key="board_end").click().run()
    at.button(key="board_end_yes").click().run()
    assert not at.exception
    assert store.board(code, key) is None and store.students(code) == []
    assert [s.value for s in at.success] == [
        f"Class {code} has ended: its students' runs are deleted."
    ]
