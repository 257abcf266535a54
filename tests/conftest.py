"""Shared fixtures and the Hypothesis profiles: few examples locally, more in CI (CI=true)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import lrcore
from support import reference

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI", "").lower() not in ("", "0", "false") else "dev")


@pytest.fixture(scope="session")
def blog():
    """The blog post's data: y = 4000 + 50x + N(0, 300), x = 0, 0.1, ..., 99.9."""
    return lrcore.make_data()


@pytest.fixture(scope="session")
def blog_reference(blog):
    """The blog's 50,000-epoch gradient descent, every epoch, from the naive loop (about 1 s)."""
    rows, diverged = reference.run("gd", blog.x, blog.y, **reference.BLOG_RUN)
    assert not diverged
    return rows


# --- the real page in headless Chromium (tests/test_browser*.py) ---------------------------


@pytest.fixture(scope="module")
def url():
    """The page served on a free 127.0.0.1 port, one server for a test module."""
    from support.browser import serve

    with serve() as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium (Playwright) with a fresh profile, one for a test module."""
    from support.browser import chromium

    with chromium() as context:
        yield context


@pytest.fixture
def page(browser, url):
    """A new tab with generous timeouts (the page's first chart takes a few seconds), for its
    calls and for every `expect` (Playwright's own default, 5 s, is less than a rerun can take
    on a loaded machine: wait for the state, however long it takes to come)."""
    from playwright.sync_api import expect

    from support.browser import LONG

    expect.set_options(timeout=LONG)
    page = browser.new_page()
    page.set_default_timeout(LONG)
    yield page
    page.close()
