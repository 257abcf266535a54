"""Shared fixtures and the Hypothesis profiles: few examples locally, more in CI (CI=true)."""

from __future__ import annotations

import os

import pytest
import reference
from hypothesis import HealthCheck, settings

import lrcore

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=150, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI", "").lower() not in ("", "0", "false")
                      else "dev")

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
