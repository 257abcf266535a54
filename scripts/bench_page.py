"""Latency of the page in headless Chromium: a slider key press to the chart showing the new run,
and the first chart after opening a link.

    .venv/bin/python scripts/bench_page.py [--presses 20] [--slider "Step size (learning rate)"]
    .venv/bin/python scripts/bench_page.py --against ../before   # side by side with a checkout

Starts `streamlit run app.py` on a free 127.0.0.1 port (8600-8649), opens the page, and presses
ArrowLeft on the slider N times (each press is a new run: a cache miss). In the page it records
when the key went down, when the rerun request left on the websocket, when the run's message
(the player's data) arrived and when the chart showed the new run (its layout.meta changed),
and prints p50/p95/max of the whole and of each part:

    client   key press -> rerun request sent (the slider's own handling)
    server   request sent -> the run's message received (script run up to it, and the wire)
    render   the run's message received -> chart drawn (parse, React, Plotly)

With --against DIR (another checkout of this page, e.g. `git worktree add ../before REV`), both
pages are served and pressed in turn, each in its own tab, and the table gives both and their
ratio: a change measured side by side with the page before it.

And, for scale, two floors measured in the same run: Streamlit alone (a page with one slider and
one component: key press -> the component gets the new value) and one Plotly redraw of the
chart as the player does it for a new run (Plotly.update), with and without the data's points.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lrui.figures import DATA_TRACE, RUN_TRACES  # noqa: E402
from support.browser import CHART_READY, LIVE_CHART, chromium, serve  # noqa: E402

# Recorded in the page: websocket traffic, key presses, and when the chart's run id changed.
# The run's own message is the one holding its id as the player's data begins: {"id":"...".
PROBE = f"""
(() => {{
  const log = window.__bench = {{ws: [], keys: [], drawn: []}};
  const runs = window.__benchRuns = [];  // [time, the message as text] of the player's data
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {{
    constructor(...args) {{
      super(...args);
      this.addEventListener("message", (e) => {{
        const t = performance.now(), size = e.data.byteLength ?? e.data.size ?? e.data.length;
        log.ws.push(["in", t, size]);
        if (e.data instanceof ArrayBuffer && size > 10000) {{
          runs.push([t, new TextDecoder("latin1").decode(e.data)]);
          if (runs.length > 20) runs.shift();
        }}
      }});
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
    run_id = log["drawn"][-1][1]
    sent = next(t for kind, t, _ in log["ws"] if kind == "out" and t >= key)
    chart_at, chart_bytes = page.evaluate(
        "([id, after]) => { const m = window.__benchRuns.find(([t, text]) => t >= after && "
        "text.includes('{\"id\":\"' + id + '\"')); return [m[0], m[1].length]; }",
        [run_id, sent],
    )
    return {
        "total": drawn - key,
        "client": sent - key,
        "server": chart_at - sent,
        "render": drawn - chart_at,
        "bytes": chart_bytes,
    }


# The floor: a page with one slider and one component that notes when it gets each value.
BARE = '''
import streamlit as st
JS = """export default function ({ data }) {
  (window.__got = window.__got || []).push([performance.now(), data.value]);
}"""
got = st.components.v2.component("got", js=JS, html="<div></div>")
value = st.select_slider("Step size", [m * 10.0**e for e in range(-6, 0) for m in (1, 2, 5)],
                         value=5e-4)
got(key="got", data={"value": value})
'''
KEYS = (
    "document.addEventListener('keydown', "
    "() => (window.__keys ||= []).push(performance.now()), true);"
)


def bare_streamlit(browser, presses: int) -> list[float]:
    """Key press -> a component gets the new value, on a page with nothing else (ms)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE)
        with serve(str(script)) as url:
            page = browser.new_page()
            page.add_init_script(KEYS)
            page.goto(url)
            page.wait_for_function("window.__got && window.__got.length > 0", timeout=60_000)
            slider = page.get_by_role("slider", name="Step size")
            slider.focus()
            out = []
            for i in range(presses):
                seen = page.evaluate("window.__got.length")
                slider.press("ArrowLeft" if (i // 8) % 2 == 0 else "ArrowRight")  # 8 stops
                page.wait_for_function(f"window.__got.length > {seen}", timeout=60_000)
                out.append(page.evaluate("window.__got.at(-1)[0] - window.__keys.at(-1)"))
                time.sleep(0.1)
            page.close()
    return out


# One redraw of the chart as the player puts a run in (the run's own traces and ranges again,
# so nothing else changes): the median of 10, then the same with the data's points hidden.
REDRAW = f"""async () => {{
  const gd = {LIVE_CHART}, P = window.Plotly;
  const run = gd._fullData.filter((t) => t.index >= {RUN_TRACES}).map((t) => t.index);
  const median = async () => {{
    const times = [];
    for (let i = 0; i < 12; i++) {{
      const t0 = performance.now();
      await P.update(gd, {{x: run.map((j) => gd.data[j].x.slice()),
                           y: run.map((j) => gd.data[j].y.slice())}},
                     {{"yaxis2.range": gd.layout.yaxis2.range.slice(), meta: gd.layout.meta}},
                     run);
      times.push(performance.now() - t0);
    }}
    return times.slice(2).sort((a, b) => a - b)[5];
  }};
  await P.animate(gd, [null], {{mode: "immediate"}});
  const all = await median();
  await P.restyle(gd, {{visible: false}}, [{DATA_TRACE}]);
  const hidden = await median();
  await P.restyle(gd, {{visible: true}}, [{DATA_TRACE}]);
  return [all, hidden];
}}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--presses",
        type=int,
        default=20,
        help="key presses to time (at most 22: the stops below 0.0005)",
    )
    p.add_argument("--slider", default="Step size (learning rate)", help="the slider's label")
    p.add_argument("--query", default="", help="settings to open the page with, e.g. n=100")
    p.add_argument(
        "--gap",
        type=float,
        default=0.2,
        help="seconds between a chart and the next press (a run plays for ~5 s)",
    )
    p.add_argument(
        "--against", type=Path, help="another checkout of this page, pressed in turn with this one"
    )
    args = p.parse_args(argv)
    presses = max(1, min(args.presses, 22))
    against = args.against and (args.against.resolve() / "app.py")
    if against and not against.is_file():
        p.error(f"--against: no app.py in {args.against}")
    with (
        serve("app.py") as url,
        serve(str(against)) if against else contextlib.nullcontext() as other,
        chromium() as browser,
    ):
        cold = first_chart(browser, url)
        warm = first_chart(browser, url)
        sites = {"this page": url} | ({f"against {args.against}": other} if other else {})
        tabs = {name: pressing(browser, at, args.query, args.slider) for name, at in sites.items()}
        runs = {name: [] for name in sites}
        for i in range(presses):
            order = list(tabs) if i % 2 == 0 else list(tabs)[::-1]  # each goes first in turn
            for name in order:
                page, slider = tabs[name]
                page.bring_to_front()  # (a tab behind another gets no animation frames)
                slider.focus()
                runs[name].append(press_once(page, slider))
                time.sleep(args.gap)
        redraw = tabs["this page"][0].evaluate(REDRAW)
        bare = bare_streamlit(browser, presses)
    for name, timed in runs.items():
        print(f"\n== {name}")
        report(timed, cold if name == "this page" else None, warm, args.slider)
    if other:
        ours, theirs = (statistics.median(r["total"] for r in timed) for timed in runs.values())
        print(f"\nkey press -> chart shows new run, p50: this page / against {ours / theirs:.2f}x")
    print(
        f"\nFor scale (p50, ms):\n  Streamlit alone, key press -> a component gets the new "
        f"value: {statistics.median(bare):.0f}"
    )
    print(
        f"  one Plotly redraw of this chart: {redraw[0]:.0f} "
        f"({redraw[0] - redraw[1]:.0f} of it the data's 1,000 points)"
    )
    return 0


def pressing(browser, url: str, query: str, label: str):
    """A tab of the page at `url` with the probe in, its slider `label` focused."""
    page = browser.new_page()
    page.add_init_script(PROBE)
    page.goto(url + "/?" + query)
    page.wait_for_function("window.__bench.drawn.length > 0", timeout=60_000)
    slider = page.get_by_role("slider", name=label)
    slider.focus()
    return page, slider


def report(runs: list[dict], cold: float | None, warm: float, slider: str) -> None:
    if cold is not None:
        print(
            f"First chart after opening the link: {cold:.0f} ms (server just started), "
            f"{warm:.0f} ms (second visit)"
        )
    print(f"\n{len(runs)} presses of ArrowLeft on {slider!r}, each a new run:\n")
    print(f"{'ms':<34}{'p50':>8}{'p95':>8}{'max':>8}")
    names = {
        "total": "key press -> chart shows new run",
        "client": "  client (key -> request)",
        "server": "  server (request -> run msg)",
        "render": "  render (run msg -> drawn)",
    }
    for key, name in names.items():
        values = [r[key] for r in runs]
        print(
            f"{name:<34}{statistics.median(values):>8.0f}{percentile(values, 0.95):>8.0f}"
            f"{max(values):>8.0f}"
        )
    sizes = [r["bytes"] for r in runs]
    print(f"\nthe run's message: {statistics.median(sizes) / 1024:.0f} KiB (median)")
    parts = {k: statistics.median(r[k] for r in runs) for k in ("client", "server", "render")}
    print(f"dominated by: {max(parts, key=parts.get)}")


if __name__ == "__main__":
    sys.exit(main())
