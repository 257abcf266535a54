"""Helpers to run the page in a real browser: start `streamlit run app.py` on a free 127.0.0.1
port and launch Debian's headless Chromium through Playwright. No tests live here; the browser
tests and scripts/bench_page.py (and the load test) share these.

    with serve() as url, chromium() as browser:
        page = browser.new_page()
        page.goto(url)
        wait_for_chart(page)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8600, 8650)  # this page's range on the shared machine
LONG = 30_000  # ms: a generous timeout for the page on a loaded machine
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# The views' live chart (key "views"; not a stale one left in the DOM during a rerun).
LIVE_CHART = (
    '[...document.querySelectorAll(".st-key-views [data-testid=stPlotlyChart] .js-plotly-plot")]'
    '.filter(el => !el.closest("[data-stale=true]")).pop()'
)
# Ready: the player has put a run into the chart, frames and all (layout.meta names the run
# shown; gd.__lrRun the run whose frames are in).
CHART_READY = (
    f"(() => {{ const gd = {LIVE_CHART}; return !!(gd && gd._fullData && "
    f"gd.__lrRun && gd.__lrRun === gd._fullLayout.meta && "
    f"gd._transitionData._frames.length > 0); }})()"
)
CHART_STATE = f"""(() => {{
  const gd = {LIVE_CHART};
  if (!gd || !gd._fullData) return null;
  const slider = gd._fullLayout.sliders && gd._fullLayout.sliders[0];
  return {{
    meta: gd._fullLayout.meta ?? null,
    ready: !!gd.__lrRun && gd.__lrRun === gd._fullLayout.meta,
    title: gd._fullLayout.title ? gd._fullLayout.title.text : null,
    frames: gd._transitionData ? gd._transitionData._frames.length : 0,
    active: slider ? slider.active : null,
    traces: gd._fullData.map(t => ({{name: t.name, type: t.type,
      x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null,
      text: t.text ?? null}})),
  }};
}})()"""


def free_port(ports: range = PORTS) -> int:
    """A port in `ports` that nothing on 127.0.0.1 listens on right now."""
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


@contextlib.contextmanager
def serve(
    script: str = "app.py",
    port: int | None = None,
    timeout: float = 30.0,
    extra: tuple[str, ...] = (),
) -> Iterator[str]:
    """Run `streamlit run script` on 127.0.0.1 and yield its URL once /_stcore/health says ok;
    the server (only the process started here) is stopped on exit. `script`: relative to the
    repository, or an absolute path (another checkout's page, run in its folder)."""
    port = port or free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        *extra,
    ]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        # (a page from another checkout runs in its own folder, with its own packages)
        cwd = Path(script).parent if Path(script).is_absolute() else ROOT
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(proc, url, log, timeout)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(proc, url: str, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"streamlit exited: {log.read().decode(errors='replace')}")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not answer on {url} within {timeout} s")
        time.sleep(0.1)


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000, color_scheme: str = "light"):
    """A headless Chromium browser context (Playwright) with a fresh profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, profile(p, width, height, color_scheme) as context:
        yield context


@contextlib.contextmanager
def profile(playwright, width: int = 1400, height: int = 1000, color_scheme: str = "light"):
    """A headless Chromium with a fresh profile of its own, from a running Playwright (one
    Playwright can run several: a browser and a neighbour's)."""
    folder = tempfile.mkdtemp(prefix="lr-chromium-")
    try:
        context = playwright.chromium.launch_persistent_context(
            folder,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
            color_scheme=color_scheme,
        )
        try:
            yield context
        finally:
            context.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def wait_for_chart(page, timeout: float = 30_000) -> dict:
    """Wait until the live chart has drawn, and return its state (see CHART_STATE)."""
    page.wait_for_function(CHART_READY, timeout=timeout)
    return page.evaluate(CHART_STATE)


def wait_for_change(page, before: dict, key: str = "meta", timeout: float = 30_000) -> dict:
    """Wait until the live chart's `key` (meta: the run it shows) differs from `before`'s."""
    expr = (
        f"(old) => {{ const s = {CHART_STATE}; "
        f"return s && s.ready && JSON.stringify(s.{key}) !== old; }}"
    )
    page.wait_for_function(expr, arg=json.dumps(before[key]), timeout=timeout)
    return page.evaluate(CHART_STATE)


# The result table under the views: row name (before any comma) -> column -> the number shown.
RESULTS = """(() => {
  const table = [...document.querySelectorAll("[data-testid=stMarkdown] table")].find((t) =>
    [...t.querySelectorAll("th")].map((th) => th.innerText.trim()).join("|") ===
      "run|W|b|loss|dW|db");
  if (!table) return null;
  const names = ["W", "b", "loss", "dW", "db"];
  return Object.fromEntries([...table.querySelectorAll("tbody tr")].map((tr) => {
    const [name, ...cells] = [...tr.querySelectorAll("td")].map((td) => td.innerText.trim());
    return [name.split(",")[0], Object.fromEntries(cells.map((c, i) => [names[i], c]))];
  }));
})()"""


def settled(page, timeout: float = 30_000) -> None:
    """Wait until the script has finished its run and nothing on the page is stale."""
    page.wait_for_function(
        "(() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app && app.dataset.testScriptState === 'notRunning' && "
        "!document.querySelector('[data-stale=true]'); })()",
        timeout=timeout,
    )


def results(page, timeout: float = 30_000) -> dict:
    """The result table as shown (texts), once the run has finished."""
    settled(page, timeout)
    page.wait_for_function(f"{RESULTS} !== null", timeout=timeout)
    return page.evaluate(RESULTS)


# The value a metric (st.metric) shows, by its label (not a stale one left during a rerun).
METRIC = """(label) => {
  const metric = [...document.querySelectorAll("[data-testid=stMetric]")]
    .filter((m) => !m.closest("[data-stale=true]"))
    .find((m) => m.querySelector("[data-testid=stMetricLabel]").innerText.trim() === label);
  return metric ? metric.querySelector("[data-testid=stMetricValue]").innerText.trim() : null;
}"""


def wait_metric(page, label: str, value: str) -> None:
    """Wait until the metric named `label` shows `value`."""
    page.wait_for_function(f"(v) => ({METRIC})({json.dumps(label)}) === v", arg=value)


def start_class(page, link: str):
    """Open `link` as the teacher, press "Start a class" under Lessons for teachers, and return
    the students' link (its href) and the board's link (the element, to read or click)."""
    page.goto(link)
    wait_for_chart(page, timeout=LONG * 2)
    page.locator(".st-key-lessons summary").click()
    page.locator(".st-key-start_class button").first.wait_for()
    settled(page)
    page.get_by_role("button", name="Start a class").click()
    box = page.locator(".st-key-lessons")
    board = box.locator("a[href*='board=']").first
    board.wait_for()
    [students] = box.locator("a[href*='class=']").evaluate_all("(as) => as.map((a) => a.href)")
    return students, board
