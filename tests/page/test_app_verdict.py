"""The verdict on every run (issue "Real data, trusted", point 1) through AppTest: one line right
under the player and one by the result, headed with it: converged (at the plain loop's first
epoch within 1%), not yet (the share of the distance left, the epochs rates() predicts) or
diverged (where the plain loop blows up).
"""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore.explain import rates
from lrui import runs
from support import reference
from support.page import block_of

TIMEOUT = 60
LOOK = {  # a verdict's headline in the result's header, its colour and its icon
    "Converged": ("converged", "green", ":material/check_circle:"),
    "Not yet converged": ("not yet converged", "orange", ":material/hourglass_top:"),
    "Diverged": ("diverged", "red", ":material/error:"),
}


def open_page(params: dict | None = None) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def distances(rows, fit) -> list[float]:
    return [math.hypot(row.w - fit.w, row.b - fit.b) for row in rows]


def assert_verdict(at: AppTest, sentence: str) -> None:
    """The sentence, in its colour with its icon, first thing under the player and right under
    the result's header, which names the verdict."""
    assert not at.exception
    headline, colour, icon = next(v for k, v in LOOK.items() if sentence.startswith(k))
    line = f":{colour}-background[{icon} {sentence}]"
    notices, result = block_of(at, "notices"), block_of(at, "result")
    assert notices is not None and result is not None
    assert notices.children[0].value == line
    header, under = result.children[0], result.children[1]
    assert header.value == f"Result: {headline}"
    assert under.value == line


def test_the_blogs_run_converged_at_the_plain_loops_first_epoch_within_1pct(blog, blog_reference):
    fit = lrcore.closed_form(blog.x, blog.y)
    dist = distances(blog_reference, fit)
    first = next(k for k, d in enumerate(dist) if k and d <= 0.01 * dist[0])
    at = open_page()
    assert_verdict(at, f"Converged: within 1% of the least-squares answer at epoch {first:,}.")


def test_a_run_not_yet_converged_says_how_far_and_what_the_rate_predicts(blog):
    rows, _ = reference.run("gd", blog.x, blog.y, step_size=1e-4, iterations=1000)
    dist = distances(rows, lrcore.closed_form(blog.x, blog.y))
    predicted = math.ceil(rates(blog.x, blog.y, 1e-4).epochs_to_1pct)
    at = open_page({"step_size": "0.0001", "iterations": "1000"})
    assert_verdict(
        at,
        f"Not yet converged: after 1,000 epochs the run is still {100 * dist[-1] / dist[0]:.0f}% "
        f"of its starting distance from the answer; the rate predicts {predicted:,} epochs "
        "in all.",
    )


def test_a_diverged_run_says_where_it_diverged(blog):
    rows, diverged = reference.run("gd", blog.x, blog.y, step_size=0.001, iterations=50_000)
    assert diverged
    at = open_page({"step_size": "0.001"})
    assert_verdict(at, f"Diverged at epoch {len(rows) - 1:,}.")


@pytest.mark.parametrize(
    ("dataset", "step", "iterations"),
    [
        ("anscombe_1", 0.1, 450),  # every epoch trained: "at" the first within 1%
        ("blog", 1.0, 10_000),  # epochs skipped: "by" the first trained within 1%
    ],
)
def test_adams_verdict_is_the_first_trained_epoch_within_1pct_and_says_if_epochs_were_skipped(
    dataset, step, iterations
):
    """adam is checked at the epochs the page trained (runs.epochs): the first of them within
    1% on the plain loop; "at" it when the epoch before was trained too, else "by" it."""
    data = lrcore.load_builtin(dataset)
    rows, _ = reference.run("adam", data.x, data.y, step_size=step, iterations=iterations)
    dist = distances(rows, lrcore.closed_form(data.x, data.y))
    trained = runs.epochs(iterations)
    i, first = next((i, k) for i, k in enumerate(trained) if k and dist[k] <= 0.01 * dist[0])
    at = open_page(
        {
            "dataset": dataset,
            "optimizer": "adam",
            "step_size": str(step),
            "iterations": str(iterations),
        }
    )
    when = (
        f"at epoch {first:,}"
        if trained[i - 1] == first - 1
        else f"by epoch {first:,} (not every epoch checked)"
    )
    assert_verdict(at, f"Converged: within 1% of the least-squares answer {when}.")
