"""The verdict on a run as a person sees it (issue "Real data, trusted", point 1): a link to a run
that has not converged and one that diverged each show one line right under the player, in the
verdict's colour with its icon, and the same line by the result under a header that names it.
The sentences' numbers come from the plain loop (tests/support/reference.py) and rates()."""

from __future__ import annotations

import math
import re

import pytest
from playwright.sync_api import expect

import lrcore
from lrcore.explain import rates
from support import reference
from support.browser import LONG, wait_for_chart

pytestmark = pytest.mark.browser

LINE = ".stMarkdownColoredBackground"  # a verdict's line: its words on the verdict's colour


def not_yet(blog) -> str:
    rows, _ = reference.run("gd", blog.x, blog.y, step_size=1e-4, iterations=1000)
    fit = lrcore.closed_form(blog.x, blog.y)
    first, last = (math.hypot(r.w - fit.w, r.b - fit.b) for r in (rows[0], rows[-1]))
    predicted = math.ceil(rates(blog.x, blog.y, 1e-4).epochs_to_1pct)
    return (
        f"Not yet converged: after 1,000 epochs the run is still {100 * last / first:.0f}% of its "
        f"starting distance from the answer; the rate predicts {predicted:,} epochs in all."
    )


def diverged(blog) -> str:
    rows, blew_up = reference.run("gd", blog.x, blog.y, step_size=0.001, iterations=50_000)
    assert blew_up
    return f"Diverged at epoch {len(rows) - 1:,}."


def shown(page, url: str, query: str, sentence: str, header: str, icon: str) -> str:
    """Open the link; check the line under the player and by the result; return its colour."""
    page.goto(url + "/" + query)
    wait_for_chart(page, timeout=LONG * 2)
    under = page.locator(f".st-key-notices {LINE}").first
    expect(under).to_contain_text(sentence, timeout=LONG)
    expect(under.locator(f'[role="img"][aria-label="{icon} icon"]')).to_be_visible()
    player = page.locator(".st-key-player").bounding_box()
    line = under.bounding_box()
    explore = page.locator(".st-key-explore").bounding_box()
    assert player["y"] + player["height"] <= line["y"] < explore["y"]  # under the player
    result = page.locator(".st-key-result")
    expect(result.locator("h2")).to_have_text(re.compile(f"^{header}"), timeout=LONG)
    by_result = result.locator(LINE)
    expect(by_result).to_contain_text(sentence)
    expect(by_result.locator(f'[role="img"][aria-label="{icon} icon"]')).to_be_visible()
    return under.evaluate("e => getComputedStyle(e).backgroundColor")


def test_a_run_not_converged_and_a_diverged_run_say_so_under_the_player_and_by_the_result(
    page, url, blog
):
    orange = shown(
        page,
        url,
        "?step_size=0.0001&iterations=1000",
        not_yet(blog),
        "Result: not yet converged",
        "hourglass_top",
    )
    red = shown(page, url, "?step_size=0.001", diverged(blog), "Result: diverged", "error")
    assert len({orange, red, "rgba(0, 0, 0, 0)"}) == 3  # each its own colour
