"""No update lost: several worker processes, each with its own Store (its own connections),
record runs for their students at once; at the end every student's row equals the last run
recorded for them."""

from __future__ import annotations

import itertools
import multiprocessing
import time

import pytest
from test_store import SETTINGS, token

from lrclass import Outcome, Store

pytestmark = pytest.mark.store

PROCESSES = 4
STUDENTS = 5  # per process
RUNS = 40  # per student


def run(worker: int, student: int, n: int) -> tuple[dict, Outcome]:
    """The n-th run of a student: every field says whose and which it is."""
    step = f"{(worker * 100 + student) * 1000 + n}e-9"
    outcome = Outcome(float(n), n, n % 7 == 0, float(worker))
    return {**SETTINGS, "step_size": step, "seed": str(n)}, outcome


def worker_main(url: str, code: str, worker: int, stepped: bool, deferred) -> None:
    """stepped: the worker's clock moves a second per round, so every run is written at once
    (800 upserts from 4 processes); else the real clock, and most runs wait for their second."""
    seconds = itertools.count()
    store = Store(url, clock=(lambda: 1.8e9 + next(seconds)) if stepped else time.time)
    students = [store.join(code, token(worker * 100 + s)) for s in range(STUDENTS)]
    waited = 0
    for n in range(RUNS):
        for s, student in enumerate(students):
            waited += not store.record(student, *run(worker, s, n))
    store.close()  # writes the runs still waiting for their second
    deferred.put(waited)


@pytest.mark.parametrize("stepped", [True, False], ids=["every run written", "as fast as can"])
def test_concurrent_workers_lose_no_update(db_url, stores, stepped):
    store = stores(clock=lambda: 1.8e9)  # the class ends 12 hours after; the workers are before
    code, _ = store.create_class(SETTINGS)
    context = multiprocessing.get_context("spawn")
    deferred = context.Queue()
    workers = [
        context.Process(target=worker_main, args=(db_url, code, w, stepped, deferred))
        for w in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    waited = sum(deferred.get(timeout=300) for _ in workers)
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert (waited == 0) if stepped else (waited > PROCESSES * STUDENTS * RUNS / 2)
    rows = {row.id: row for row in store.students(code)}
    assert len(rows) == PROCESSES * STUDENTS
    for w, s in itertools.product(range(PROCESSES), range(STUDENTS)):
        row = rows[store.join(code, token(w * 100 + s)).id]
        settings, last = run(w, s, RUNS - 1)
        assert row.settings == settings
        assert (row.final_loss, row.epochs_to_1pct, row.diverged, row.distance) == tuple(
            vars(last).values()
        )
