"""The board's figures and its CSV, from a class recorded in the real store: counts, the ranking
by the lesson's goal, and a CSV that reads back as written and that no spreadsheet runs."""

from __future__ import annotations

import csv
import io

import pytest
from test_store import SETTINGS, token

from lrclass import Outcome, results

pytestmark = pytest.mark.store

# (name, step size, outcome): two within 1%, one diverged, one not yet, one waiting (no run)
CLASS = [
    ('=HYPERLINK("http://x")', "0.001", Outcome(44000.0, 3000, False, 0.1)),
    ('+Bob, "the" fast', "0.0015", Outcome(44000.0, 2000, False, 0.1)),
    ("-Eve", "0.003", Outcome(None, None, True, None)),
    ("@Ann", "0.00001", Outcome(9e6, None, False, 40.5)),
    ("Dan", None, None),
]


@pytest.fixture
def board(store, clock):
    code, _ = store.create_class(SETTINGS)
    for n, (name, step, outcome) in enumerate(CLASS):
        student = store.rename(store.join(code, token(n)), name)
        if outcome:
            store.record(student, {**SETTINGS, "step_size": step, "w0": "-3"}, outcome)
    clock.advance(200)
    store.join(code, token(0))  # only the first student came back since
    return store.students(code), clock()


def test_counts(board):
    rows, now = board
    assert results.counts(rows, now) == results.Counts(
        joined=5, active=1, diverged=1, within_1pct=2, not_yet=1, waiting=1
    )


def test_ranked_by_the_lessons_goal(board):
    rows, _ = board
    assert [r.name for r in results.ranked(rows, "fastest")] == [CLASS[1][0], CLASS[0][0]]
    assert [r.step_size for r in results.ranked(rows, "largest_step")] == [0.0015, 0.001, 0.00001]
    with pytest.raises(ValueError, match="goal"):
        results.ranked(rows, "slowest")


def test_the_csv_reads_back_and_no_cell_is_a_formula(board):
    rows, _ = board
    table = list(csv.reader(io.StringIO(results.to_csv(rows))))
    header, body = table[0], table[1:]
    assert header == ["name", "step_size", "lesson", "iterations", "w0", *results.OUTCOME]
    assert len(body) == len(CLASS)
    for line, (name, step, outcome) in zip(body, CLASS, strict=True):
        cell = dict(zip(header, line, strict=True))
        assert cell["name"] == ("'" + name if name[0] in "=+-@" else name)
        assert cell["step_size"] == (step or "")
        assert cell["w0"] == ("-3" if outcome else "")  # a negative number stays a number
        if outcome:
            assert cell["diverged"] == ("true" if outcome.diverged else "false")
            epochs = outcome.epochs_to_1pct
            assert cell["epochs_to_1pct"] == ("" if epochs is None else str(epochs))
    formulas = [c for line in body for c in line if c.startswith(results.FORMULA)]
    assert formulas == ["-3"] * 4  # only the numbers
