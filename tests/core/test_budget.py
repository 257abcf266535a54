"""The work budget (issue 6): whatever a link asks for, one page run trains at most about
WORK_BUDGET seconds, and the page is told when a run was cut short."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lrcore import settings as cfg


@given(
    optimizer=st.sampled_from(cfg.OPTIMIZERS),
    iterations=st.integers(1, 1_000_000),
    batch_size=st.integers(1, 100_000),
    n=st.integers(2, 100_000),
)
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
