"""The work budget (issue 6): whatever a link asks for, one page run trains at most about
WORK_BUDGET seconds, and the page is told when a run was cut short."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lrcore import settings as cfg


@given(optimizer=st.sampled_from(cfg.OPTIMIZERS), iterations=st.integers(1, 1_000_000),
       batch_size=st.integers(1, 100_000), n=st.integers(2, 100_000))
def test_bounded_runs_fit_the_budget_and_say_so_when_cut(optimizer, iterations, batch_size, n):
    """Property 1: a bounded run's estimated cost is within the budget (or it is one epoch);
    settings are cut only when they were over it, only in iterations, and then with a note
    that names the epoch where the run stops."""
    s = cfg.Settings(optimizer=optimizer, iterations=iterations, batch_size=batch_size)
    cut, note = cfg.bounded(s, n)
    assert cut.replace(iterations=s.iterations) == s
    assert cfg.work_seconds(cut, n) <= cfg.WORK_BUDGET or cut.iterations == 1
    over = cfg.work_seconds(s, n) > cfg.WORK_BUDGET
    assert (note is not None) == over == (cut.iterations < s.iterations or over)
    if over:
        assert f"epoch {cut.iterations:,}" in note


def test_the_blog_run_and_linear_optimizers_are_never_cut():
    for optimizer in ("gd", "momentum", "nesterov"):
        s = cfg.Settings(optimizer=optimizer, iterations=1_000_000, n=100_000)
        assert cfg.bounded(s, 100_000) == (s, None)
    assert cfg.bounded(cfg.DEFAULTS, 1000) == (cfg.DEFAULTS, None)


def test_the_worst_link_is_cut_to_a_few_seconds():
    worst = cfg.Settings(optimizer="sgd", batch_size=1, iterations=1_000_000)
    cut, note = cfg.bounded(worst, 100_000)
    assert cut.iterations < 200 and "would take" in note


def test_the_page_cuts_a_huge_link_and_says_why():
    """Through the page: a link asking for 10^6 epochs of one-point sgd on 2,000 points is
    trained only to the budget's epoch, and an info box says where it stopped and why."""
    from page import log_of
    from streamlit.testing.v1 import AppTest

    link = cfg.DEFAULTS.replace(optimizer="sgd", batch_size=1, iterations=1_000_000, n=2000,
                                step_size=1e-5)
    at = AppTest.from_file("../app.py", default_timeout=60)
    for key, value in cfg.to_params(link).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    cut, note = cfg.bounded(link, 2000)
    assert note and any(note == box.value for box in at.info)
    log = log_of(at)
    assert log[-1, 0] == cut.iterations < link.iterations
