"""A student's first open of the shared link, and the sliders' latency, against the plainest page.

    .venv/bin/python scripts/bench_first_open.py [--runs 3] [--presses 6] [--peer-train 0]

Serves this page through the class server (`deploy/serve_class.sh 1 PORT`: nginx in front,
compressing) and ../shared/peer/app.py through plain `streamlit run` (in its own directory,
with PEER_TRAIN as given), both on free 127.0.0.1 ports, and stops both after.

First open: each page in a cold Headless Chromium (a fresh profile) on an emulated school link
(Chromium's network emulation over CDP: --down Mbit/s, --latency ms, --up Mbit/s), ours and
the peer's alternately, --runs times each. It prints the time from navigation to the first
chart drawn with its data points, the bytes the browser received (HTTP: every response's
encodedDataLength, headers included; websocket: the frames' payloads, after any
decompression), and the same for a second open (the browser started again on the same profile:
its disk cache warm). Each server first serves one uncounted open, so that its own caches are
warm (the class's first student), as in a lesson.

Sliders: key press -> new data on screen, on "Noise" (new data) and "Step size" (a new run), on
both pages in turn (a fresh tab per round, --presses per slider), on the same emulated link;
the time from the key going down to the frame in which the chart first shows the change. It
prints the medians and ours / peer.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "serving")]

from classserver import class_server  # noqa: E402

from lrui import text  # noqa: E402
from lrui.figures import DATA_TRACE  # noqa: E402
from support.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    LIVE_CHART,
    _wait_healthy,
    free_port,
    serve,
)

PEER = ROOT.parent / "shared" / "peer" / "app.py"
WORKER_PORTS = range(8860, 8870)  # this script's share of the machine's ports
NGINX_PORTS = range(8870, 8880)
PEER_PORTS = range(8880, 8900)

# The first chart with its points: ours is the views' live chart, the peer's is its one chart.
PEER_CHART = (
    '[...document.querySelectorAll("[data-testid=stPlotlyChart] .js-plotly-plot")]'
    '.filter(el => !el.closest("[data-stale=true]")).pop()'
)
# Records in the page when the chart first shows its points (performance.now(): ms from the
# navigation's start), checking every frame.
FIRST_CHART = """
(() => {
  const check = () => {
    const gd = %s;
    if (gd && gd.querySelectorAll(".scatterlayer .point").length > 0) {
      window.__firstChart = performance.now();
    } else {
      requestAnimationFrame(check);
    }
  };
  requestAnimationFrame(check);
})();
"""
# Records every key press and, every frame, what the chart shows (`sig`): [time, value] each
# time it changes.
WATCH = """
(() => {
  window.__keys = [];
  window.__seen = [];
  document.addEventListener("keydown", () => window.__keys.push(performance.now()), true);
  let last = null;
  const watch = () => {
    let sig = null;
    try { sig = (%s)(window.__sig); } catch (e) { sig = null; }
    if (sig !== null && sig !== undefined && sig !== last) {
      last = sig;
      window.__seen.push([performance.now(), sig]);
    }
    requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
})();
"""
# What a slider changes in the chart: sig(which) for which = "noise" (the data's y values) or
# "step" (ours: the run shown, layout.meta; the peer's: its loss curve).
Y = "(t) => t && t.y ? Array.prototype.slice.call(t.y, 0, 60).join() : null"
OURS_SIG = f"""(which) => {{
  const gd = {LIVE_CHART};
  if (!gd || !gd._fullData) return null;
  if (which === "step") return gd._fullLayout.meta ?? null;
  return ({Y})(gd._fullData[{DATA_TRACE}]);
}}"""
PEER_SIG = f"""(which) => {{
  const gd = {PEER_CHART};
  if (!gd || !gd._fullData) return null;
  return ({Y})(gd._fullData[which === "step" ? 2 : 0]);
}}"""


@dataclass
class Site:
    name: str
    url: str
    chart: str  # JS: the chart element
    sig: str  # JS: what a slider changes
    sliders: dict  # "noise"/"step" -> the slider's accessible name
    query: str = ""  # per round, so that our server's run cache does not answer (a new sample)
    opens: list = field(default_factory=list)  # per cold/warm open: dicts


@dataclass
class Link:
    down: float  # Mbit/s
    up: float
    latency: float  # ms

    def conditions(self) -> dict:
        return {
            "offline": False,
            "latency": self.latency,
            "downloadThroughput": self.down * 1e6 / 8,
            "uploadThroughput": self.up * 1e6 / 8,
        }


@contextlib.contextmanager
def peer_server(train: str, peer: Path = PEER):
    """Plain `streamlit run` of the peer page, in its own directory (its own defaults)."""
    port = free_port(PEER_PORTS)
    cmd = [sys.executable, "-m", "streamlit", "run", str(peer), "--server.headless", "true"]
    cmd += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    cmd += ["--browser.gatherUsageStats", "false"]
    env = {**os.environ, "PEER_TRAIN": train}
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=peer.parent, env=env, stdout=log, stderr=log)
        try:
            _wait_healthy(proc, url, log, 60)
            yield url + "/"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def ours_server(kind: str, logs: str, flags: list[str]):
    """Our page: through the class server, or plain `streamlit run app.py` (flags added)."""
    if kind == "class":
        with class_server(1, WORKER_PORTS, NGINX_PORTS, log_dir=logs) as server:
            yield server.url
    else:
        with serve("app.py", port=free_port(WORKER_PORTS), extra=tuple(flags)) as url:
            yield url + "/"


def launch(pw, profile: str, width: int = 1400, height: int = 1000):
    return pw.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": width, "height": height},
    )


def open_once(pw, profile: str, site: Site, link: Link | None) -> dict:
    """Open site.url in a browser on `profile`; ms to the first chart with points, and bytes."""
    context = launch(pw, profile)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.add_init_script(FIRST_CHART % site.chart)
        cdp = context.new_cdp_session(page)
        http, frames, extensions = {}, [], []
        cdp.on("Network.loadingFinished", lambda e: http.__setitem__(e["requestId"], e))
        cdp.on("Network.loadingFailed", lambda e: http.pop(e["requestId"], None))

        def frame(e):
            data = e["response"]["payloadData"]
            binary = e["response"]["opcode"] == 2
            frames.append(base64.b64decode(data) if binary else data.encode())

        def handshake(e):
            headers = {k.lower(): v for k, v in e["response"]["headers"].items()}
            extensions.append(headers.get("sec-websocket-extensions", ""))

        cdp.on("Network.webSocketFrameReceived", frame)
        cdp.on("Network.webSocketHandshakeResponseReceived", handshake)
        cdp.send("Network.enable")
        if link is not None:
            cdp.send("Network.emulateNetworkConditions", link.conditions())
        page.goto(site.url, wait_until="commit", timeout=120_000)
        page.wait_for_function("window.__firstChart !== undefined", timeout=120_000)
        ms = page.evaluate("window.__firstChart")
        # The rest of the open (fonts, icons the page asks for after the chart): until idle.
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=15_000)
        http_bytes = sum(e["encodedDataLength"] for e in http.values())
        ws = wire_bytes(frames, extensions[0] if extensions else "")
        return {"ms": ms, "http": http_bytes, "ws": ws, "requests": len(http)}
    finally:
        context.close()


def wire_bytes(frames: list[bytes], extensions: str) -> int:
    """The websocket's payload bytes as the server sent them. Chromium reports the frames
    decompressed; with permessage-deflate negotiated, compress them again as the server does
    (uvicorn's websockets: zlib, the window bits of the handshake's answer, memLevel 5, the
    context kept from message to message, a sync flush per message less its last 4 bytes)."""
    if "permessage-deflate" not in extensions:
        return sum(len(f) for f in frames)
    bits = re.search(r"server_max_window_bits=(\d+)", extensions)
    keep = "server_no_context_takeover" not in extensions
    make = functools.partial(
        zlib.compressobj, wbits=-int(bits.group(1) if bits else 15), memLevel=5
    )
    encoder, total = make(), 0
    for f in frames:
        if not keep:
            encoder = make()
        data = encoder.compress(f) + encoder.flush(zlib.Z_SYNC_FLUSH)
        total += len(data) - 4 if data.endswith(b"\x00\x00\xff\xff") else len(data)
    return total


def first_opens(pw, sites: list[Site], runs: int, link: Link) -> None:
    """Cold then warm open of each site, alternately, `runs` times."""
    for site in sites:  # the class's first student: warms the server, not counted
        profile = tempfile.mkdtemp(prefix="lr-first-open-")
        try:
            open_once(pw, profile, site, None)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
    for run in range(runs):
        for site in sites if run % 2 == 0 else sites[::-1]:
            profile = tempfile.mkdtemp(prefix="lr-first-open-")
            try:
                cold = open_once(pw, profile, site, link)
                warm = open_once(pw, profile, site, link)
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            site.opens.append((cold, warm))
            print(
                f"  {site.name:<5} run {run + 1}: cold {cold['ms'] / 1000:.2f} s "
                f"{mb(cold['http'] + cold['ws'])} MB, warm {warm['ms'] / 1000:.2f} s "
                f"{mb(warm['http'] + warm['ws'])} MB",
                flush=True,
            )


def press(page, slider, key: str, timeout: float = 60_000) -> float:
    """ms from the key going down to the first frame that shows the change."""
    seen = page.evaluate("window.__seen.length")
    slider.press(key)
    page.wait_for_function(
        f"window.__seen.length > {seen} && window.__seen.at(-1)[0] > window.__keys.at(-1)",
        timeout=timeout,
    )
    return page.evaluate(
        "window.__seen.find(([t]) => t > window.__keys.at(-1))[0] - window.__keys.at(-1)"
    )


def settled(page, timeout: float = 60_000) -> None:
    page.wait_for_function(
        "(() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app && app.dataset.testScriptState === 'notRunning' && "
        "!document.querySelector('[data-stale=true]'); })()",
        timeout=timeout,
    )


def slider_round(context, site: Site, presses: int, link: Link | None, query: str) -> dict:
    """A fresh tab: `presses` on Noise (ArrowRight), then on Step size (ArrowLeft)."""
    out = {"noise": [], "step": []}
    page = context.new_page()
    try:
        page.add_init_script(FIRST_CHART % site.chart)
        page.add_init_script(WATCH % site.sig)
        if link is not None:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", link.conditions())
        page.goto(site.url + query, timeout=120_000)
        page.wait_for_function("window.__firstChart !== undefined", timeout=120_000)
        settled(page)
        for which, key in (("noise", "ArrowRight"), ("step", "ArrowLeft")):
            page.evaluate(f"window.__sig = {which!r}")
            page.wait_for_timeout(300)  # the watcher picks up what the chart shows now
            slider = page.get_by_role("slider", name=site.sliders[which])
            slider.focus()
            for _ in range(presses):
                out[which].append(press(page, slider, key))
                settled(page)
                page.wait_for_timeout(300)
    finally:
        page.close()
    return out


def sliders(pw, sites: list[Site], rounds: int, presses: int, link: Link | None) -> dict:
    """Key press -> new data on screen on both sites, a round each in turn."""
    times = {site.name: {"noise": [], "step": []} for site in sites}
    profile = tempfile.mkdtemp(prefix="lr-sliders-")
    context = launch(pw, profile)
    try:
        for site in sites:  # load each page once (the browser's cache, the server's first run)
            slider_round(context, site, 1, None, "?seed=1" if site.name == "ours" else "")
        for r in range(rounds):
            for site in sites if r % 2 == 0 else sites[::-1]:
                query = f"?seed={r + 2}" if site.name == "ours" else ""
                got = slider_round(context, site, presses, link, query)
                for which in got:
                    times[site.name][which] += got[which]
                print(
                    f"  {site.name:<5} round {r + 1}: noise "
                    f"{statistics.median(got['noise']):.0f} ms, step size "
                    f"{statistics.median(got['step']):.0f} ms",
                    flush=True,
                )
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)
    return times


def mb(n: float) -> str:
    return f"{n / 1e6:.2f}"


def median_of(opens: list, which: int, key: str) -> float:
    return statistics.median(o[which][key] for o in opens)


def report_first_open(ours: Site, peer: Site, link: Link) -> None:
    print(
        f"\nFirst open on the emulated link ({link.down:g} Mbit/s down, {link.up:g} up, "
        f"{link.latency:g} ms), medians of {len(ours.opens)} runs each:\n"
    )
    print(f"{'':<22}{'ours':>10}{'peer':>10}{'ours/peer':>11}")
    for which, name in ((0, "cold"), (1, "warm")):
        o, p = median_of(ours.opens, which, "ms"), median_of(peer.opens, which, "ms")
        print(f"{name + ', first chart (s)':<22}{o / 1000:>10.2f}{p / 1000:>10.2f}{o / p:>10.2f}x")
        ob = statistics.median(x[which]["http"] + x[which]["ws"] for x in ours.opens)
        pb = statistics.median(x[which]["http"] + x[which]["ws"] for x in peer.opens)
        print(f"{name + ', bytes (MB)':<22}{mb(ob):>10}{mb(pb):>10}{ob / pb:>10.2f}x")
        oh, ph = median_of(ours.opens, which, "http"), median_of(peer.opens, which, "http")
        print(f"{'  of which HTTP (MB)':<22}{mb(oh):>10}{mb(ph):>10}")
        ow, pw = median_of(ours.opens, which, "ws"), median_of(peer.opens, which, "ws")
        print(f"{'  websocket (MB)':<22}{mb(ow):>10}{mb(pw):>10}")
        oq, pq = median_of(ours.opens, which, "requests"), median_of(peer.opens, which, "requests")
        print(f"{'  requests':<22}{oq:>10.0f}{pq:>10.0f}")


def report_sliders(times: dict, link: Link | None) -> None:
    where = "no emulation" if link is None else f"the emulated link ({link.down:g} Mbit/s)"
    n = len(times["ours"]["noise"])
    print(f"\nKey press -> new data on screen ({where}), medians of {n} presses each:\n")
    print(f"{'':<24}{'ours ms':>9}{'peer ms':>9}{'ours/peer':>11}")
    for which, name in (("noise", "Noise (new data)"), ("step", "Step size (new run)")):
        o, p = statistics.median(times["ours"][which]), statistics.median(times["peer"][which])
        print(f"{name:<24}{o:>9.0f}{p:>9.0f}{o / p:>10.2f}x")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="cold+warm opens of each page")
    p.add_argument("--rounds", type=int, default=3, help="slider rounds on each page")
    p.add_argument("--presses", type=int, default=6, help="presses per slider per round (<= 10)")
    p.add_argument("--peer-train", choices=("0", "1"), default="0", help="the peer's PEER_TRAIN")
    p.add_argument(
        "--peer", type=Path, default=PEER, help="the peer page (from a worktree: its own path)"
    )
    p.add_argument("--down", type=float, default=20, help="Mbit/s to the browser")
    p.add_argument("--up", type=float, default=5, help="Mbit/s from the browser")
    p.add_argument("--latency", type=float, default=40, help="ms added to each request")
    p.add_argument("--skip", choices=("first-open", "sliders"), action="append", default=[])
    p.add_argument(
        "--sliders-link", choices=("school", "none"), default="school", help="the sliders' link"
    )
    p.add_argument(
        "--ours",
        choices=("class", "plain"),
        default="class",
        help="our page through serve_class.sh 1 (class) or plain `streamlit run app.py` (a "
        "teacher's laptop: `make run`; --plain-flag adds a --server.* option to it)",
    )
    p.add_argument("--plain-flag", action="append", default=[], help="e.g. --plain-flag=--x=y")
    args = p.parse_args(argv)
    presses = max(1, min(args.presses, 10))
    link = Link(args.down, args.up, args.latency)
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as logs,
        ours_server(args.ours, logs, args.plain_flag) as ours_url,
        peer_server(args.peer_train, args.peer) as peer_url,
        sync_playwright() as pw,
    ):
        started = time.monotonic()
        ours = Site(
            "ours",
            ours_url,
            LIVE_CHART,
            OURS_SIG,
            {"noise": text.label("noise"), "step": text.label("step_size")},
        )
        peer = Site("peer", peer_url, PEER_CHART, PEER_SIG, {"noise": "Noise", "step": "Step size"})
        print(
            f"ours: {ours_url} ({'serve_class.sh 1' if args.ours == 'class' else 'plain'}); "
            f"peer: {peer_url} (PEER_TRAIN={args.peer_train})"
        )
        if "first-open" not in args.skip:
            first_opens(pw, [ours, peer], args.runs, link)
            report_first_open(ours, peer, link)
        if "sliders" not in args.skip:
            slider_link = link if args.sliders_link == "school" else None
            times = sliders(pw, [ours, peer], args.rounds, presses, slider_link)
            report_sliders(times, slider_link)
        print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
