"""A tab whose server restarted gets a new session that knows only its URL (deploy/SCALING.md).
Every setting comes back from the link; a file too big for the link cannot, and the page says
so in one sentence, in that case only, and shows the blog post's data meanwhile."""

from __future__ import annotations

import base64

import numpy as np
from streamlit.testing.v1 import AppTest

import lrcore
from lrcore import settings as cfg
from lrcore.linkpoints import MAX_LINK_POINTS
from lrui import figures
from support.page import chart_of

TIMEOUT = 60
SENTENCE = (
    f"This run used a file of more than {MAX_LINK_POINTS} points, too big for the link, and "
    "this server does not have it (the link was shared, or the server that had it restarted): "
    "upload the same file below again to see the same run."
)


def open_page(params: dict) -> AppTest:
    """A new session (a fresh worker's) on a link with these query parameters."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def rows(n: int) -> bytes:
    return b"x,y\n" + b"".join(f"{i},{3 * i + 1 + (i % 7)}\n".encode() for i in range(n))


def upload(at: AppTest, raw: bytes) -> AppTest:
    at.file_uploader(key="upload_file").set_value(("big.csv", raw, "text/csv"))
    return at.run()


def query(at: AppTest) -> dict:
    return {k: at.query_params[k] for k in at.query_params}


def data_shown(at: AppTest) -> tuple[np.ndarray, np.ndarray]:
    """The x, y of the chart's data trace."""
    trace = chart_of(at)["data"][figures.DATA_TRACE]
    return tuple(
        np.frombuffer(base64.b64decode(v["bdata"]), "<" + v["dtype"])
        if isinstance(v, dict)
        else np.asarray(v, dtype=float)
        for v in (trace["x"], trace["y"])
    )


def infos(at: AppTest) -> str:
    return " ".join(i.value for i in at.info)


def test_a_big_uploads_link_in_a_new_session_asks_for_the_file_again_and_shows_the_blog():
    s = cfg.DEFAULTS.replace(step_size=1e-5, iterations=1000)  # x up to 500: a small step
    before = upload(open_page(cfg.to_params(s)), rows(MAX_LINK_POINTS + 1))
    link = query(before)
    assert link["dataset"] == "upload" and "points" not in link
    assert SENTENCE not in infos(before)  # the session that has the file
    after = open_page(link)  # the server restarted: a new session with the same URL
    assert not after.exception and not after.error
    assert SENTENCE in infos(after)
    blog = lrcore.load_builtin("blog")
    x, y = data_shown(after)
    np.testing.assert_array_equal(x, blog.x)
    np.testing.assert_array_equal(y, blog.y)
    # every other setting came back from the link
    assert after.session_state["step_size"] == 1e-5
    assert after.session_state["iterations"] == 1000


def test_links_the_new_session_can_rebuild_say_nothing_of_the_kind():
    s = cfg.DEFAULTS.replace(step_size=1e-5, iterations=1000)  # x up to 500: a small step
    small = upload(open_page(cfg.to_params(s)), rows(MAX_LINK_POINTS))  # travels in the link
    link = query(small)
    assert link["dataset"] == "upload" and link["points"]
    for params in ({}, {"dataset": "anscombe_1"}, link):
        at = open_page(params)
        assert not at.exception and not at.error
        assert SENTENCE not in infos(at), params
