"""The work budget through the page: whatever a link asks for, one page run trains at most
about WORK_BUDGET seconds, and the page says where the run stopped and why."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lrcore import settings as cfg
from support.page import log_of


def test_the_page_cuts_a_huge_link_and_says_why():
    """Through the page: a link asking for 10^6 epochs of one-point sgd on 2,000 points is
    trained only to the budget's epoch, and an info box says where it stopped and why."""
    link = cfg.DEFAULTS.replace(
        optimizer="sgd", batch_size=1, iterations=1_000_000, n=2000, step_size=1e-5
    )
    at = AppTest.from_file("../../app.py", default_timeout=60)
    for key, value in cfg.to_params(link).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    cut, note = cfg.bounded(link, 2000)
    assert note and any(note == box.value for box in at.info)
    log = log_of(at)
    assert log[-1, 0] == cut.iterations < link.iterations
