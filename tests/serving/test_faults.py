"""A worker killed under load: deploy/serve_class.sh 2 on the real page, tabs moving the noise
slider over the websocket (scripts/loadtest.py's Session), and `kill -9` on one worker.

What must hold:
- the only reruns that fail are the ones in flight on the killed worker (at most one per tab
  that was on it; none on the other worker);
- supervisord starts the worker again: it answers /_stcore/health within RESTART_S;
- a tab whose worker died reconnects as Streamlit's client does (health, then the websocket,
  with the same cookies and the address bar's query string) and lands on the live worker, whose
  new session runs exactly what the URL names (its chart's data are lrcore.make_data's for
  the URL's noise);
- every tab ends with the run its URL names, and stays on one worker: after the killed worker
  is back, a tab that moved keeps its websocket and its HTTP requests on the worker it moved to.
The figures (failed reruns, seconds to restart, seconds to reconnect) are printed for
deploy/SCALING.md (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import urllib.parse
from dataclasses import dataclass, field

import numpy as np
import pytest
from classserver import class_server, healthy, wait_until
from test_isolation import chart_points, loadtest
from websockets.protocol import State

import lrcore

pytestmark = pytest.mark.serving

WORKER_PORTS = range(8760, 8800)  # this file's share of the machine's ports
NGINX_PORTS = range(8800, 8820)
PER_WORKER = 5  # tabs on each worker
THINK = 0.4  # seconds between a tab's moves
WARM_S = 3.0  # load before the kill
AFTER_S = 2.0  # load after the worker is back
RESTART_S = 30.0  # the killed worker must answer again within this


@dataclass
class Tab:
    session: loadtest.Session
    worker: str  # the worker its websocket reached ("127.0.0.1:PORT")
    failed: int = 0  # reruns that failed
    runs: int = 0  # reruns that finished
    moved: list[str] = field(default_factory=list)  # workers it reconnected to
    reconnect_s: list[float] = field(default_factory=list)


def ws_worker(session) -> str:
    return session.ws.response.headers["X-Streamlit-Worker"].split(", ")[-1]


def check_url_run(run, session) -> None:
    """The run is the one the tab's URL names: its chart's data are the URL's noise."""
    assert run.ok, (run.status, run.exceptions)
    noise = urllib.parse.parse_qs(session.query_string)["noise"][0]
    np.testing.assert_allclose(
        chart_points(run), lrcore.make_data(noise=float(noise)).y, rtol=1e-12, atol=0
    )


async def open_tabs(url: str, workers: list[str]) -> list[Tab]:
    """Tabs opened on links with different noises until each worker has PER_WORKER of them."""
    tabs, extra, rng = [], [], random.Random(1)
    for _ in range(20 * PER_WORKER):
        session = loadtest.Session(url)
        session.query_string = f"noise={rng.choice(['0', '20', '300', '2000'])}"
        await session.connect()
        worker = ws_worker(session)
        if sum(t.worker == worker for t in tabs) >= PER_WORKER:
            extra.append(session)
            continue
        check_url_run(await session.run(), session)
        tabs.append(Tab(session, worker))
        if len(tabs) == PER_WORKER * len(workers):
            break
    for session in extra:
        await session.close()
    assert sorted({t.worker for t in tabs}) == workers, "the tabs did not spread"
    return tabs


async def reconnect(tab: Tab) -> None:
    """What Streamlit's client does when its websocket drops: the same cookies and the
    address bar's query string, a new websocket (through nginx), and a run."""
    start = time.monotonic()
    old = tab.session
    await old.close()
    new = loadtest.Session(old.base_url)
    new.jar, new.query_string = old.jar, old.query_string
    await new.connect()
    run = await new.run()
    tab.session, tab.worker = new, ws_worker(new)
    tab.moved.append(tab.worker)
    tab.reconnect_s.append(time.monotonic() - start)
    check_url_run(run, new)


async def move(tab: Tab, options: list[str], rng: random.Random, until) -> None:
    """Move the noise slider every THINK seconds until until() is true."""
    while not until():
        if tab.session.ws.state is not State.OPEN:  # dropped while idle: the client reconnects
            await reconnect(tab)
            continue
        try:
            run = await tab.session.run(noise=rng.choice(options))
            check_url_run(run, tab.session)
            tab.runs += 1
        except (TimeoutError, OSError, loadtest.websockets.ConnectionClosed):
            tab.failed += 1  # in flight when its worker died
            await reconnect(tab)
        await asyncio.sleep(THINK * rng.uniform(0.5, 1.5))


async def fault(server) -> dict:
    workers = [f"127.0.0.1:{p}" for p in server.workers]
    tabs = await open_tabs(server.url, workers)
    options = list(tabs[0].session.widget("noise").options)
    victim_port = server.workers[0]
    victim, pid = workers[0], server.pid(victim_port)
    assert pid > 1, f"supervisord names no process for worker {victim_port}"  # never kill(0)
    times = {}

    def back() -> bool:
        return "back" in times and time.monotonic() > times["back"] + AFTER_S

    async def kill_and_watch():
        await asyncio.sleep(WARM_S)
        times["kill"] = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(
            wait_until, lambda: healthy(server.worker_url(victim_port)), RESTART_S
        )
        times["back"] = time.monotonic()

    on_victim = [t for t in tabs if t.worker == victim]
    try:
        await asyncio.gather(
            kill_and_watch(),
            *(move(t, options, random.Random(i), back) for i, t in enumerate(tabs)),
        )
        assert server.pid(victim_port) not in (0, pid), "supervisord did not start it again"
        for tab in tabs:  # every tab ends with the run its URL names, on one worker
            check_url_run(await tab.session.run(), tab.session)
            assert await asyncio.to_thread(_http_worker, tab.session) == ws_worker(tab.session)
    finally:
        for tab in tabs:
            await tab.session.close()
    return {
        "tabs": len(tabs),
        "reruns": sum(t.runs for t in tabs),
        "tabs_on_killed": len(on_victim),
        "failed_on_killed": sum(t.failed for t in on_victim),
        "failed_on_live": sum(t.failed for t in tabs if t.worker != victim and not t.moved),
        "max_failed_per_tab": max(t.failed for t in tabs),
        "moved_to_live": all(t.moved and victim not in t.moved for t in on_victim),
        "others_moved": sum(bool(t.moved) for t in tabs if t not in on_victim),
        "restart_s": times["back"] - times["kill"],
        "reconnect_s": max(s for t in on_victim for s in t.reconnect_s),
    }


def _http_worker(session) -> str:
    """The worker a plain request with the tab's cookies reaches."""
    opener = loadtest.urllib.request.build_opener(
        loadtest.urllib.request.HTTPCookieProcessor(session.jar)
    )
    with opener.open(session.base_url + "_stcore/health", timeout=10) as response:
        return response.headers["X-Streamlit-Worker"].split(", ")[-1]


def test_a_killed_worker_costs_only_its_reruns_in_flight_and_comes_back(tmp_path):
    start = time.monotonic()
    with class_server(2, WORKER_PORTS, NGINX_PORTS, log_dir=tmp_path) as server:
        figures = asyncio.run(fault(server))
    print(f"\nfault: {figures}, test {time.monotonic() - start:.1f} s")
    assert figures["failed_on_live"] == 0 and figures["others_moved"] == 0, figures
    assert figures["max_failed_per_tab"] <= 1, figures  # only a rerun in flight
    assert figures["moved_to_live"], figures
    assert figures["restart_s"] < RESTART_S
