"""Latency of the page in headless Chromium: a slider key press to the chart showing the new run,
and the first chart after opening a link.

    .venv/bin/python scripts/bench_page.py [--presses 20] [--slider "Step size (learning rate)"]

Starts `streamlit run app.py` on a free 127.0.0.1 port (8600-8649), opens the page, and presses
ArrowLeft on the slider N times (each press is a new run: a cache miss). In the page it records
when the key went down, when the rerun request left on the websocket, when the largest message
of the rerun (the chart) arrived and when the chart showed the new run (its layout.meta changed),
and prints p50/p95/max of the whole and of each part:

    client   key press -> rerun request sent (the slider's own handling)
    server   request sent -> chart message received (script run up to the chart, and the wire)
    render   chart message received -> chart drawn (parse, React, Plotly)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import CHART_READY, LIVE_CHART, chromium, serve  # noqa: E402

# Recorded in the page: websocket traffic, key presses, and when the chart's run id changed.
PROBE = f"""
(() => {{
  const log = window.__bench = {{ws: [], keys: [], drawn: []}};
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {{
    constructor(...args) {{
      super(...args);
      this.addEventListener("message", (e) =>
        log.ws.push(["in", performance.now(), e.data.byteLength ?? e.data.size ?? e.data.length]));
    }}
    send(data) {{
      log.ws.push(["out", performance.now(), data.byteLength ?? data.length]);
      return super.send(data);
    }}
  }};
  document.addEventListener("keydown", () => log.keys.push(performance.now()), true);
  let last = null;
  const watch = () => {{
    const gd = {LIVE_CHART};
    const meta = gd && gd._fullLayout ? gd._fullLayout.meta : null;  // the run it shows
    if (meta && meta !== last) {{ last = meta; log.drawn.push([performance.now(), meta]); }}
    requestAnimationFrame(watch);
  }};
  requestAnimationFrame(watch);
}})();
"""


def first_chart(browser, url: str) -> float:
    """Milliseconds from navigation start to the first chart drawn, in a new tab."""
    page = browser.new_page()
    page.add_init_script(PROBE)
    page.goto(url)
    page.wait_for_function(CHART_READY, timeout=60_000)
    page.wait_for_function("window.__bench.drawn.length > 0", timeout=60_000)
    ms = page.evaluate("window.__bench.drawn[0][0]")
    page.close()
    return ms


def press_once(page, slider) -> dict:
    """One key press; the timings (ms) of its rerun."""
    seen = page.evaluate("window.__bench.drawn.length")
    slider.press("ArrowLeft")
    page.wait_for_function(f"window.__bench.drawn.length > {seen}", timeout=60_000)
    page.wait_for_timeout(50)  # let the rest of the rerun's messages land
    log = page.evaluate("window.__bench")
    key, drawn = log["keys"][-1], log["drawn"][-1][0]
    sent = next(t for kind, t, _ in log["ws"] if kind == "out" and t >= key)
    incoming = [(t, size) for kind, t, size in log["ws"] if kind == "in" and sent <= t <= drawn]
    chart_at, chart_bytes = max(incoming, key=lambda m: m[1])
    return {"total": drawn - key, "client": sent - key, "server": chart_at - sent,
            "render": drawn - chart_at, "bytes": chart_bytes}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presses", type=int, default=20,
                   help="key presses to time (at most 22: the stops below 0.0005)")
    p.add_argument("--slider", default="Step size (learning rate)", help="the slider's label")
    p.add_argument("--query", default="", help="settings to open the page with, e.g. n=100")
    p.add_argument("--gap", type=float, default=0.2,
                   help="seconds between a chart and the next press (a run plays for ~5 s)")
    args = p.parse_args(argv)
    presses = max(1, min(args.presses, 22))
    with serve("app.py") as url, chromium() as browser:
        cold = first_chart(browser, url)
        warm = first_chart(browser, url)
        page = browser.new_page()
        page.add_init_script(PROBE)
        page.goto(url + "/?" + args.query)
        page.wait_for_function("window.__bench.drawn.length > 0", timeout=60_000)
        slider = page.get_by_role("slider", name=args.slider)
        slider.focus()
        runs = []
        for _ in range(presses):
            runs.append(press_once(page, slider))
            time.sleep(args.gap)
    report(runs, cold, warm, args.slider)
    return 0


def report(runs: list[dict], cold: float, warm: float, slider: str) -> None:
    print(f"First chart after opening the link: {cold:.0f} ms (server just started), "
          f"{warm:.0f} ms (second visit)")
    print(f"\n{len(runs)} presses of ArrowLeft on {slider!r}, each a new run:\n")
    print(f"{'ms':<34}{'p50':>8}{'p95':>8}{'max':>8}")
    names = {"total": "key press -> chart shows new run", "client": "  client (key -> request)",
             "server": "  server (request -> chart msg)", "render": "  render (chart msg -> drawn)"}
    for key, name in names.items():
        values = [r[key] for r in runs]
        print(f"{name:<34}{statistics.median(values):>8.0f}{percentile(values, 0.95):>8.0f}"
              f"{max(values):>8.0f}")
    sizes = [r["bytes"] for r in runs]
    print(f"\nchart message: {statistics.median(sizes) / 1024:.0f} KiB (median)")
    parts = {k: statistics.median(r[k] for r in runs) for k in ("client", "server", "render")}
    print(f"dominated by: {max(parts, key=parts.get)}")


if __name__ == "__main__":
    sys.exit(main())
