"""scripts/loadtest.py's limits and arithmetic, and deploy/serve_class.sh end to end: sticky
workers behind nginx, a load test through it, and a clean stop."""

from __future__ import annotations

import asyncio
import http.cookiejar
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState
from test_isolation import loadtest

from support.browser import ROOT

pytestmark = pytest.mark.serving

WORKERS = 2
WORKER_PORTS = range(8670, 8690)  # this file's share of the machine's ports
NGINX_PORTS = range(8690, 8720)
TINY_PAGE = """import streamlit as st
noise = st.select_slider("Noise", ["0", "20", "300", "2000"], value="300", key="noise")
st.metric("noise", noise)
with st.expander("More", key="more", on_change="rerun") as more:
    if more.open:
        st.metric("inside", 1)
"""


# --- loadtest.py's pieces ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8501/",
        "http://10.0.0.1:8501/",
        "https://127.0.0.1:8501/",
        "http://127.0.0.1/",
        "http://127.0.0.2:8501/",
        "ws://127.0.0.1:8501/",
    ],
)
def test_only_127_0_0_1_is_a_target(url):
    with pytest.raises(loadtest.LoadTestError):
        loadtest.check_url(url)
    assert loadtest.main(["--url", url, "--sessions", "1"]) == 2


def test_a_loopback_url_is_kept_with_a_trailing_slash():
    assert loadtest.check_url("http://127.0.0.1:8501") == "http://127.0.0.1:8501/"


@pytest.mark.parametrize("name", ["sessions", "reruns", "seconds"])
def test_sessions_reruns_and_seconds_have_hard_caps(name):
    cap = loadtest.CAPS[name]
    assert getattr(loadtest.parser().parse_args([f"--{name}", str(cap)]), name) == cap
    for bad in (cap + 1, 0, -1):
        with pytest.raises(SystemExit), redirect_stdout(io.StringIO()):
            loadtest.parser().parse_args([f"--{name}", str(bad)])


def test_percentiles_match_numpy():
    rng = np.random.default_rng(1)
    for size in (1, 2, 3, 10, 101, 1000):
        values = rng.exponential(0.2, size).tolist()
        for q in (0, 50, 95, 99.5, 100):
            expected = np.percentile(values, q, method="linear")
            assert abs(loadtest.percentile(values, q) - expected) <= 1e-12 * max(1, expected)
    assert np.isnan(loadtest.percentile([], 50))


def test_cpu_seconds_read_from_proc_follow_the_process_clock():
    """--pid's reading of /proc/PID/stat against Python's own clock of this process, around
    0.2 s of work (the kernel counts in ticks, 10 ms here)."""
    tick = 1 / os.sysconf("SC_CLK_TCK")
    before, clock = loadtest.cpu_seconds(os.getpid()), time.process_time()
    while time.process_time() - clock < 0.2:
        pass
    spent = loadtest.cpu_seconds(os.getpid()) - before
    assert abs(spent - (time.process_time() - clock)) <= 3 * tick


def test_slider_values_are_its_stops_other_than_the_default():
    proto = Slider(id="$$ID-abc-noise", min=0, max=10, step=2, default=[4])
    values = loadtest.values_of(proto, random.Random(0), 9)
    assert sorted(set(values)) == [0, 2, 6, 8, 10] and len(values) == 9
    select = Slider(id="$$ID-abc-noise", options=["0", "20", "300"], default=[2])
    assert sorted(set(loadtest.values_of(select, random.Random(0), 6))) == ["0", "20"]
    number = NumberInput(id="$$ID-abc-seed", min=0, max=3, step=1, default=1)
    assert sorted(set(loadtest.values_of(number, random.Random(0), 6))) == [0, 2, 3]


def test_widget_states_take_the_form_the_browser_sends():
    state = WidgetState()
    loadtest._set_widget(state, Slider(id="s", options=["0", "20"]), "20")
    assert (state.id, list(state.string_array_value.data)) == ("s", ["20"])
    loadtest._set_widget(state, Slider(id="t", min=0, max=1), 0.5)
    assert (state.id, list(state.double_array_value.data)) == ("t", [0.5])
    with pytest.raises(loadtest.LoadTestError):
        loadtest._set_widget(state, Slider(id="s", options=["0", "20"]), "21")


# --- serve_class.sh ----------------------------------------------------------------------------


def _free_ports(ports: range, count: int) -> int:
    """The first of `count` consecutive ports in `ports` that nothing listens on."""
    for start in range(ports.start, ports.stop - count + 1):
        if not any(_listening(p) for p in range(start, start + count)):
            return start
    raise RuntimeError(f"no {count} free ports in {ports.start}-{ports.stop - 1}")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """serve_class.sh WORKERS PORT on a tiny page: (url, process, worker ports, temp dir)."""
    page = tmp_path_factory.mktemp("page") / "tiny.py"
    page.write_text(TINY_PAGE)
    base, port = _free_ports(WORKER_PORTS, WORKERS), _free_ports(NGINX_PORTS, 1)
    env = {**os.environ, "LR_APP": str(page), "LR_WORKER_BASE": str(base)}
    log = page.parent / "serve_class.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [str(ROOT / "deploy" / "serve_class.sh"), str(WORKERS), str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    ready = proc.stdout.readline()  # one line once every server answers, or EOF if it failed
    assert "behind" in ready, f"serve_class.sh did not start: {log.read_text()}"
    workers = list(range(base, base + WORKERS))
    tmp = Path(re.search(r"logs in (\S+)\)", ready).group(1))
    yield f"http://127.0.0.1:{port}/", proc, workers + [port], tmp
    if proc.poll() is None:
        proc.terminate()
        proc.wait(30)
    proc.stdout.close()


def _worker_of(url: str, jar: http.cookiejar.CookieJar) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url + "_stcore/health", timeout=10) as response:
        return response.headers["X-Streamlit-Worker"]


def test_each_browser_sticks_to_one_worker_and_the_browsers_spread(served):
    url, _, ports, _ = served
    seen = set()
    for _ in range(16):  # 16 browsers, each with its own cookies
        jar = http.cookiejar.CookieJar()
        workers = {_worker_of(url, jar) for _ in range(4)}
        assert len(workers) == 1, f"one browser was sent to {workers}"
        assert {c.name for c in jar} == {"lr_worker", "_streamlit_xsrf"}
        seen |= workers
    assert seen == {f"127.0.0.1:{p}" for p in ports[:WORKERS]}  # 2**-15 odds of a false alarm


def test_a_tabs_websocket_goes_to_the_worker_of_its_http_requests(served):
    import asyncio

    async def tab():
        session = loadtest.Session(served[0])
        await session.connect()
        try:
            run = await session.run()
            assert run.ok and list(session.widget("noise").options) == ["0", "20", "300", "2000"]
            assert (await session.run(noise="20")).ok
            return session.ws.response.headers["X-Streamlit-Worker"], session.jar
        finally:
            await session.close()

    for _ in range(4):
        ws_worker, jar = asyncio.run(tab())
        assert _worker_of(served[0], jar) == ws_worker


def _load(url: str, *args: str) -> dict:
    """loadtest.py's summary of a test on `url` with these flags; it must end without errors."""
    out = io.StringIO()
    with redirect_stdout(out):
        status = loadtest.main(["--url", url, *args, "--json"])
    result = json.loads(out.getvalue())
    assert status == 0 and result["errors"] == 0, result["error_kinds"]
    return result


def test_the_load_test_runs_through_nginx_without_errors(served):
    result = _load(served[0], "--sessions", "6", "--reruns", "4", "--seconds", "30")
    assert result["rows"]["first run"]["runs"] == 6 and result["rows"]["rerun"]["runs"] == 24
    assert 0 < result["rows"]["rerun"]["p50_ms"] <= result["rows"]["rerun"]["p95_ms"]


def _is_metric(msg) -> bool:
    return msg.delta.new_element.WhichOneof("type") == "metric"


def test_open_opens_an_expander_before_the_reruns(served):
    """--open KEY: each tab opens that expander once after loading the page (the page then
    draws what is inside it at every rerun), as a student would."""

    async def tab():
        session = loadtest.Session(served[0])
        await session.connect()
        try:
            closed = await session.run()
            opened = await session.run(more=True)
            rerun = await session.run(noise="20")
        finally:
            await session.close()
        return [
            [m.delta.new_element.metric.label for m in run.elements.values() if _is_metric(m)]
            for run in (closed, opened, rerun)
        ]

    assert asyncio.run(tab()) == [["noise"], ["noise", "inside"], ["noise", "inside"]]
    result = _load(served[0], "--sessions", "2", "--reruns", "2", "--open", "more")
    assert result["rows"]["first run"]["runs"] == 4 and result["rows"]["rerun"]["runs"] == 4


def test_term_stops_every_server_and_removes_the_temp_dir(served):
    _, proc, ports, tmp = served
    assert tmp.is_dir() and all(_listening(p) for p in ports)
    os.kill(proc.pid, signal.SIGTERM)  # the script alone: its trap must stop the others
    assert proc.wait(30) == 143
    deadline = time.monotonic() + 10
    while any(_listening(p) for p in ports) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_listening(p) for p in ports)
    assert not tmp.exists()
