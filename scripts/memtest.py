"""Memory test: does a worker give back what sessions took once they close?

    .venv/bin/python scripts/memtest.py --url http://127.0.0.1:8690/ --pid 12345 \\
        --sessions 1000 --uploads 20

Two phases against a page (127.0.0.1 only), reading the worker's resident memory (VmRSS in
/proc/PID/status, --pid) as it goes:
1. churn: --sessions tabs opened and closed one after another (connect, the page's first run,
   close), the memory read every --every sessions;
2. uploads: --uploads tabs at once each put a CSV file of --upload-mb MB into the page's file
   uploader (scripts/loadtest.py's Session does it as the browser does) and wait for the fit;
   the memory is read before, with every tab open, right after they close, and settled:
   --settle seconds later one more tab opens and closes, and 3 s after that. Streamlit keeps a
   closed tab's session for server.disconnectedSessionTTL (deploy/serve_class.sh: 30 s) and
   drops the expired ones only when a later tab disconnects, as tabs do all the time on a class
   server; the page then collects the garbage they leave (lrui/sources.py). So --settle longer
   than that TTL measures what the closed tabs still hold once they are gone.
It prints the readings (--json for a machine) and exits 1 if a run failed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CAPS = {"sessions": 2000, "uploads": 50, "upload_mb": 10.0, "settle": 600.0}
AFTER_NEXT_TAB = 3.0  # seconds: the page collects garbage 1 s after a tab disconnects


def _loadtest():
    spec = importlib.util.spec_from_file_location("loadtest", HERE / "loadtest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("loadtest", module)
    spec.loader.exec_module(module)
    return module


loadtest = _loadtest()


def rss_mb(pid: int) -> float:
    """A process's resident memory (VmRSS), in MB (10**6 bytes)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1)) * 1024 / 1e6


def csv_file(megabytes: float) -> bytes:
    """A CSV file of about `megabytes` MB: x, y (a noisy line) and padding columns, at most
    lrcore.csvdata.MAX_ROWS rows."""
    rows = 100_000
    lines = [
        f"{i / 1000:.3f},{3 * i / 1000 + 7 + ((i * 7919) % 1000) / 100 - 5:.4f},"
        for i in range(rows)
    ]
    bare = sum(len(line) + 1 for line in lines) + len("x,y,note\n")
    pad = "n" * max(0, int((megabytes * 1e6 - bare) / rows))
    data = ("x,y,note\n" + "".join(line + pad + "\n" for line in lines)).encode()
    return data[: int(megabytes * 1e6)].rsplit(b"\n", 1)[0] + b"\n"


async def one_tab(url: str) -> bool:
    """Open a tab, run the page once, close it; True if the run went well."""
    session = loadtest.Session(url)
    try:
        await session.connect()
        return (await session.run()).ok
    finally:
        await session.close()


async def churn(url: str, pid: int, sessions: int, every: int) -> dict:
    """Open and close `sessions` tabs one after another; RSS after each `every`."""
    readings, failed = {0: rss_mb(pid)}, 0
    for i in range(1, sessions + 1):
        failed += not await one_tab(url)
        if i % every == 0:
            readings[i] = rss_mb(pid)
    return {"rss_mb": readings, "failed": failed}


async def uploads(url: str, pid: int, count: int, megabytes: float, settle: float) -> dict:
    """`count` tabs at once each upload a file of `megabytes` MB; RSS before, open, closed and
    settled (`settle` s after they closed, one more tab opened and closed, 3 s later)."""
    raw = csv_file(megabytes)
    rows = raw.count(b"\n") - 1
    before = rss_mb(pid)
    sessions = [loadtest.Session(url) for _ in range(count)]

    async def one(session) -> bool:
        await session.connect()
        assert (await session.run()).ok
        run = await session.upload("upload_file", "big.csv", raw)
        return run.ok and f"{rows:,} points from big" in _captions(run)

    fitted = []
    try:
        fitted = await asyncio.gather(*(one(s) for s in sessions), return_exceptions=True)
        open_rss = rss_mb(pid)
    finally:
        for session in sessions:
            await session.close()
    closed = rss_mb(pid)
    await asyncio.sleep(settle)
    next_tab = await one_tab(url)  # when Streamlit drops the sessions that expired
    await asyncio.sleep(AFTER_NEXT_TAB)
    return {
        "file_mb": len(raw) / 1e6,
        "rows": rows,
        "fitted": sum(f is True for f in fitted),
        "errors": [repr(f)[:200] for f in fitted if f is not True]
        + ([] if next_tab else ["the tab opened after them failed its run"]),
        "rss_mb": {"before": before, "open": open_rss, "closed": closed, "settled": rss_mb(pid)},
    }


def _captions(run) -> str:
    return " ".join(
        m.delta.new_element.markdown.body
        for m in run.elements.values()
        if m.delta.new_element.WhichOneof("type") == "markdown"
    )


def bounded(name: str, kind=int):
    def parse(text: str):
        number = kind(text)
        if not 0 <= number <= CAPS[name]:
            raise argparse.ArgumentTypeError(f"--{name} must be in [0, {CAPS[name]}]")
        return number

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8501/", help="the page (127.0.0.1 only)")
    p.add_argument("--pid", type=int, required=True, help="the worker whose memory to read")
    p.add_argument("--sessions", type=bounded("sessions"), default=1000)
    p.add_argument("--every", type=int, default=100, help="read the memory every N sessions")
    p.add_argument("--uploads", type=bounded("uploads"), default=20)
    p.add_argument("--upload-mb", type=bounded("upload_mb", float), default=9.9)
    p.add_argument(
        "--settle",
        type=bounded("settle", float),
        default=35.0,
        help="seconds from closing the uploading tabs to the next tab (longer than the "
        "workers' server.disconnectedSessionTTL)",
    )
    p.add_argument("--json", action="store_true")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        url = loadtest.check_url(args.url)
    except loadtest.LoadTestError as error:
        print(f"memtest: {error}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    result = {}
    if args.sessions:
        result["churn"] = asyncio.run(churn(url, args.pid, args.sessions, args.every))
    if args.uploads:
        result["uploads"] = asyncio.run(
            uploads(url, args.pid, args.uploads, args.upload_mb, args.settle)
        )
    result["seconds"] = time.perf_counter() - start
    print(json.dumps(result, indent=1) if args.json else _text(result))
    failed = result.get("churn", {}).get("failed", 0) + len(
        result.get("uploads", {}).get("errors", [])
    )
    return 1 if failed else 0


def _text(result: dict) -> str:
    lines = []
    if "churn" in result:
        readings = result["churn"]["rss_mb"]
        lines.append("churn: sessions -> worker RSS MB")
        lines += [f"  {n:5d}  {mb:7.1f}" for n, mb in readings.items()]
        lines.append(f"  failed runs: {result['churn']['failed']}")
    if "uploads" in result:
        u = result["uploads"]
        lines.append(
            f"uploads: {u['fitted']} fitted a {u['file_mb']:.1f} MB file of {u['rows']:,} rows"
        )
        lines += [f"  RSS {k}: {v:.1f} MB" for k, v in u["rss_mb"].items()]
        lines += [f"  error: {e}" for e in u["errors"]]
    lines.append(f"{result['seconds']:.1f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
