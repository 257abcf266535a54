"""Sessions do not share state: two tabs with different settings, running at the same time
against one server, each receive exactly what their own settings draw.

Over the websocket (scripts/loadtest.py's Session, as a browser tab does it):
1. Each setting's page is recorded alone first: the hash of every element the server sends
   (ForwardMsg.hash covers the element's whole content), kept where two lone runs agree.
2. Then both tabs rerun together, swapping the two settings every round, so that each run
   overlaps a run of the other setting. Every run must bring back its own setting's elements
   and none of the elements that only the other setting draws.
3. The chart's data points are checked against lrcore.make_data for the tab's own noise.
A module-level dict, list or cache keyed on too little, shared by the runs, breaks 2 or 3.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import sys

import numpy as np
import pytest

import lrcore
from support.browser import ROOT, free_port, serve

pytestmark = pytest.mark.serving

WORKER_PORTS = range(8650, 8690)  # this test's share of the machine's ports
NOISES = ("20", "2000")  # two stops of the "noise" select slider, as it labels them
ROUNDS = 6


def _load_loadtest():
    spec = importlib.util.spec_from_file_location("loadtest", ROOT / "scripts" / "loadtest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["loadtest"] = module
    spec.loader.exec_module(module)
    return module


loadtest = _load_loadtest()


def fingerprint(run) -> dict:
    """Each element of a run by its place on the page: place -> content hash."""
    assert run.ok, (run.status, run.exceptions)
    return {path: msg.hash for path, msg in run.elements.items()}


def stable(first: dict, second: dict) -> dict:
    """The elements two lone runs of one setting agree on (drops clocks and timings)."""
    return {path: h for path, h in first.items() if second.get(path) == h}


def chart_points(run) -> np.ndarray | None:
    """The y values of the chart's "data" trace, or None if the run drew no chart."""
    for msg in run.elements.values():
        if msg.delta.new_element.WhichOneof("type") == "plotly_chart":
            figure = json.loads(msg.delta.new_element.plotly_chart.spec)
            trace = next(t for t in figure["data"] if t.get("name") == "data")
            return _array(trace["y"])
    return None


def _array(value) -> np.ndarray:
    if isinstance(value, dict):  # plotly's typed-array form: {"dtype": "f8", "bdata": base64}
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=float)


async def _references(sessions, key: str) -> dict:
    """Each setting's stable elements, recorded one run at a time."""
    refs = {}
    for session, value in zip(sessions, NOISES, strict=True):
        runs = [fingerprint(await session.run(**{key: value})) for _ in range(2)]
        refs[value] = stable(*runs)
    return refs


async def check_isolation(url: str, key: str = "noise", rounds: int = ROUNDS) -> int:
    """Steps 1-3 of the module docstring against the page at url; returns the runs checked."""
    sessions = [loadtest.Session(url), loadtest.Session(url)]
    try:
        for session in sessions:
            await session.connect()
            assert (await session.run()).ok
        refs = await _references(sessions, key)
        a, b = NOISES
        only = {
            a: set(refs[a].values()) - set(refs[b].values()),
            b: set(refs[b].values()) - set(refs[a].values()),
        }
        assert only[a] and only[b], "the two settings draw the same page: nothing to compare"
        checked = 0
        for r in range(rounds):
            values = (a, b) if r % 2 == 0 else (b, a)
            runs = await asyncio.gather(
                *(s.run(**{key: v}) for s, v in zip(sessions, values, strict=True))
            )
            for run, own, other in zip(runs, values, values[::-1], strict=True):
                seen = fingerprint(run)
                wrong = {p: h for p, h in refs[own].items() if seen.get(p) != h}
                assert not wrong, f"noise={own}: elements at {sorted(wrong)} differ from its own"
                assert not only[other] & set(seen.values()), f"noise={own} got noise={other}'s"
                _check_chart(run, own)
                checked += 1
        return checked
    finally:
        for session in sessions:
            await session.close()


def _check_chart(run, noise: str) -> None:
    """The data the chart shows is the data of this tab's own noise."""
    points = chart_points(run)
    assert points is not None, "the run drew no chart"
    np.testing.assert_allclose(points, lrcore.make_data(noise=float(noise)).y, rtol=1e-12, atol=0)


def test_two_sessions_at_once_never_see_each_others_runs():
    with serve("app.py", port=free_port(WORKER_PORTS)) as url:
        assert asyncio.run(check_isolation(url + "/")) == 2 * ROUNDS
