"""Load test: many browser tabs on the wire, each moving a slider, timing every rerun.

    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8501/ --sessions 20 --mode fast
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8690/ --sessions 200 \\
        --mode class --think 10 --seconds 120
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8501/ --sessions 20 \\
        --query optimizer=momentum --open explore --widget step_size --pid PID

Each session does what a tab of Streamlit's own client does: it fetches /_stcore/health (which
sets the `_streamlit_xsrf` cookie, plus any sticky-session cookie a proxy adds), opens the
websocket /_stcore/stream with subprotocols ["streamlit", <xsrf cookie>] and that Cookie header,
and sends BackMsg(rerun_script=ClientState(...)). A run ends with ForwardMsg.script_finished.
The first run (the page load) reveals each widget's full element id ("$$ID-<hash>-<key>");
later reruns set the chosen widget (--widget, a user key) to a new value under that id.

Modes: "fast" reruns each session back to back; "class" moves the slider about every --think
seconds (± --jitter of it), like a room of students. Every test is bounded by --sessions,
--reruns (per session) and --seconds (the whole test), each with a hard cap. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import math
import os
import random
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

XSRF_COOKIE = "_streamlit_xsrf"
CAPS = {"sessions": 500, "reruns": 1000, "seconds": 900}  # hard limits on any one test
RUN_TIMEOUT = 60.0  # seconds one run may take before it counts as an error
CACHE_AGE = 2  # runs a cached message is kept unused (Streamlit's global.maxCachedMessageAge)
FINISHED = ForwardMsg.ScriptFinishedStatus


class LoadTestError(Exception):
    """A session could not do what a tab does (connect, run, find its widget)."""


def check_url(url: str) -> str:
    """The base URL, ending in '/', if it points at 127.0.0.1; otherwise LoadTestError."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or not parts.port:
        raise LoadTestError(f"{url!r}: only http://127.0.0.1:PORT/ is allowed")
    return url if url.endswith("/") else url + "/"


@dataclass
class Run:
    """One script run as the client saw it."""

    seconds: float  # from sending the rerun to receiving script_finished
    status: str  # a FINISHED_* name, or what went wrong
    elements: dict[tuple[int, ...], ForwardMsg] = field(default_factory=dict)  # by delta path
    exceptions: list[str] = field(default_factory=list)  # st.exception messages on the page

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED_SUCCESSFULLY" and not self.exceptions


class Session:
    """One browser tab: a cookie jar, a websocket, and the widgets the page showed it."""

    def __init__(self, base_url: str):
        self.base_url = check_url(base_url)
        self.jar = http.cookiejar.CookieJar()
        self.ws = None
        self.widgets: dict[str, object] = {}  # user key -> the widget's proto (has .id)
        self.page_script_hash = ""
        self.session_id = ""  # the server's id for this session (its uploads are filed by it)
        self.query_string = ""  # the address bar's query, as the page last set it
        # The browser's message cache: hash -> (message, the run that last used it).
        self._cache: dict[str, tuple[ForwardMsg, int]] = {}
        self._runs = 0

    async def connect(self) -> None:
        """Fetch the cookies, then open the websocket the way Streamlit's client does."""
        await asyncio.to_thread(self._fetch, "_stcore/health")
        xsrf = next((c.value for c in self.jar if c.name == XSRF_COOKIE), None)
        if xsrf is None:
            raise LoadTestError(f"/_stcore/health set no {XSRF_COOKIE} cookie")
        ws_url = "ws" + urljoin(self.base_url, "_stcore/stream")[len("http") :]
        self.ws = await websockets.connect(
            ws_url,
            subprotocols=["streamlit", xsrf],
            origin=_origin(self.base_url),
            max_size=None,
            additional_headers={"Cookie": self._cookie_header()},
            open_timeout=RUN_TIMEOUT,
        )

    def _fetch(self, path: str) -> bytes:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        with opener.open(urljoin(self.base_url, path), timeout=RUN_TIMEOUT) as response:
            return response.read()

    def _cookie_header(self) -> str:
        request = urllib.request.Request(urljoin(self.base_url, "_stcore/stream"))
        self.jar.add_cookie_header(request)
        return request.get_header("Cookie", "")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(self, **values) -> Run:
        """Rerun the script with widgets (by user key) set to values; wait until it finishes.
        Unlike the browser, only these widgets' states are sent: the others keep theirs."""
        back = BackMsg()
        state = back.rerun_script
        state.page_script_hash = self.page_script_hash
        state.query_string = self.query_string
        state.cached_message_hashes.extend(self._cache)
        for key, value in values.items():
            _set_widget(state.widget_states.widgets.add(), self.widget(key), value)
        start = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        run = await asyncio.wait_for(self._receive_until_finished(), RUN_TIMEOUT)
        run.seconds = time.perf_counter() - start
        return run

    def widget(self, key: str):
        """The proto of the widget whose user key is `key`, as the last run drew it."""
        if key not in self.widgets:
            raise LoadTestError(
                f"the page has no widget with key {key!r} "
                f"(it has: {', '.join(sorted(self.widgets)) or 'none'})"
            )
        return self.widgets[key]

    async def upload(self, key: str, name: str, data: bytes) -> Run:
        """Put a file into the file uploader whose user key is `key`, as the browser does (ask
        for an upload URL, PUT the file there as a form with the XSRF token, then rerun with
        the uploader's new state), and wait until that run finishes."""
        proto = self.widget(key)
        ask = BackMsg()
        ask.file_urls_request.request_id = f"upload-{self._runs}"
        ask.file_urls_request.file_names.append(name)
        ask.file_urls_request.session_id = self.session_id
        await self.ws.send(ask.SerializeToString())
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await asyncio.wait_for(self.ws.recv(), RUN_TIMEOUT))
            if msg.WhichOneof("type") == "file_urls_response":
                urls = msg.file_urls_response.file_urls[0]
                break
        await asyncio.to_thread(self._put_file, urls.upload_url, name, data)
        back = BackMsg()
        state = back.rerun_script
        state.page_script_hash = self.page_script_hash
        state.query_string = self.query_string
        state.cached_message_hashes.extend(self._cache)
        widget = state.widget_states.widgets.add()
        widget.id = proto.id
        info = widget.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        start = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        run = await asyncio.wait_for(self._receive_until_finished(), RUN_TIMEOUT)
        run.seconds = time.perf_counter() - start
        return run

    def _put_file(self, url: str, name: str, data: bytes) -> None:
        boundary = f"loadtest{random.getrandbits(64):016x}"
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{name}"\r\nContent-Type: text/csv\r\n\r\n'.encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        xsrf = next(c.value for c in self.jar if c.name == XSRF_COOKIE)
        request = urllib.request.Request(
            urljoin(self.base_url, url.lstrip("/")),
            data=body,
            method="PUT",
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "X-Xsrftoken": xsrf,
                "Origin": _origin(self.base_url),
            },
        )
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        with opener.open(request, timeout=RUN_TIMEOUT) as response:
            if response.status != 204:
                raise LoadTestError(f"the upload was answered {response.status}")

    async def _receive_until_finished(self) -> Run:
        run = Run(0.0, "")
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self.ws.recv())
            kind = msg.WhichOneof("type")
            if kind == "ref_hash":  # a message the server knows we have: its copy, placed anew
                if msg.ref_hash not in self._cache:
                    raise LoadTestError("the server referred to a message not cached here")
                ref, msg = msg, ForwardMsg()
                msg.CopyFrom(self._cache[ref.ref_hash][0])
                msg.metadata.delta_path[:] = ref.metadata.delta_path
                kind = msg.WhichOneof("type")
            if msg.metadata.cacheable:
                self._cache[msg.hash] = (msg, self._runs)
            if kind == "new_session":
                self.page_script_hash = msg.new_session.page_script_hash
                self.session_id = msg.new_session.initialize.session_id
            elif kind == "page_info_changed":  # st.query_params changed the address bar
                self.query_string = msg.page_info_changed.query_string
            elif kind == "delta":
                self._note_delta(msg, run)
            elif kind == "script_finished":
                run.status = FINISHED.Name(msg.script_finished)
                self._age_cache()
                return run

    def _age_cache(self) -> None:
        self._runs += 1
        for key in [k for k, (_, used) in self._cache.items() if self._runs - used > CACHE_AGE]:
            del self._cache[key]

    def _note_delta(self, msg: ForwardMsg, run: Run) -> None:
        if msg.delta.WhichOneof("type") == "add_block":  # an expander with a key is a widget
            block = msg.delta.add_block
            if block.id.startswith("$$ID-"):
                self.widgets[block.id.split("-", 2)[2]] = block
            return
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        proto = getattr(element, element.WhichOneof("type"))
        run.elements[tuple(msg.metadata.delta_path)] = msg
        if element.WhichOneof("type") == "exception":
            run.exceptions.append(f"{proto.type}: {proto.message}")
        element_id = getattr(proto, "id", "")
        if element_id.startswith("$$ID-"):
            self.widgets[element_id.split("-", 2)[2]] = proto


def _origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _set_widget(state, proto, value) -> None:
    """Fill one WidgetState the way the browser does for this kind of widget."""
    state.id = proto.id
    kind = proto.DESCRIPTOR.name
    if kind == "Slider" and proto.options:  # st.select_slider: the options' labels
        if value not in proto.options:
            raise LoadTestError(f"{value!r} is not an option of {proto.id}: {list(proto.options)}")
        state.string_array_value.data[:] = [value]
    elif kind == "Slider":
        state.double_array_value.data[:] = [value]
    elif kind == "NumberInput":
        state.double_value = value
    elif kind == "Checkbox":
        state.bool_value = value
    elif kind in ("Selectbox", "Radio"):
        state.string_value = value
    elif kind == "Block":  # an expander with a key: open (True) or closed
        state.bool_value = value
    else:
        raise LoadTestError(f"moving a {kind} is not supported (widget {proto.id})")


def values_of(proto, rng: random.Random, count: int) -> list:
    """`count` values for a slider, select slider or number input, other than its default:
    its stops in a shuffled order, repeated as often as needed."""
    if proto.DESCRIPTOR.name == "Slider" and proto.options:
        grid = [v for i, v in enumerate(proto.options) if i != int(proto.default[0])]
    else:
        lo, hi = proto.min, proto.max
        step = proto.step or (hi - lo) / 100
        default = proto.default[0] if proto.DESCRIPTOR.name == "Slider" else proto.default
        grid = [lo + i * step for i in range(int(round((hi - lo) / step)) + 1)]
        grid = [v for v in grid if v != default]
    rng.shuffle(grid)
    return [grid[i % len(grid)] for i in range(count)]


@dataclass
class Tally:
    """What every session saw: run times, reruns/s, errors by kind."""

    first: list[float] = field(default_factory=list)  # first run (page load) seconds
    reruns: list[float] = field(default_factory=list)  # later runs, seconds
    window: list[float] = field(default_factory=lambda: [float("inf"), 0.0])  # reruns' span
    errors: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    ended: float = 0.0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def add(self, run: Run, first: bool) -> None:
        if not run.ok:
            self.error(run.exceptions[0] if run.exceptions else run.status)
        (self.first if first else self.reruns).append(run.seconds)
        if not first:
            now = time.perf_counter()
            self.window = [min(self.window[0], now - run.seconds), max(self.window[1], now)]


async def session_task(base_url: str, args, tally: Tally, index: int, deadline: float) -> None:
    """One tab for the whole test: connect, load the page, then move the slider."""
    rng = random.Random(args.seed * 100_003 + index)
    session = Session(base_url)
    session.query_string = args.query  # the link the tab opened (a browser sends it so)
    think = args.think if args.mode == "class" else 0.0
    try:
        await asyncio.sleep(rng.uniform(0, think or args.ramp))
        await session.connect()
        tally.add(await session.run(), first=True)
        if args.open:  # the expanders a student opened first (one more run, not a rerun)
            tally.add(await session.run(**dict.fromkeys(args.open, True)), first=True)
        values = values_of(session.widget(args.widget), rng, args.reruns)
        for value in values:
            pause = think * rng.uniform(1 - args.jitter, 1 + args.jitter)
            if time.perf_counter() + pause >= deadline:
                break
            await asyncio.sleep(pause)
            tally.add(await session.run(**{args.widget: value}), first=False)
    except Exception as error:  # noqa: BLE001 - any failure of a tab is counted and shown
        tally.error(f"{type(error).__name__}: {error}"[:120])
    finally:
        await session.close()


async def load(args) -> Tally:
    """Run every session until its reruns are done or --seconds have passed."""
    tally = Tally()
    deadline = tally.started + args.seconds
    tasks = [
        asyncio.create_task(session_task(args.url, args, tally, i, deadline))
        for i in range(args.sessions)
    ]
    _, pending = await asyncio.wait(tasks, timeout=args.seconds + RUN_TIMEOUT)
    for task in pending:
        task.cancel()
        tally.error("cancelled at the time limit")
    await asyncio.gather(*pending, return_exceptions=True)
    tally.ended = time.perf_counter()
    return tally


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, interpolating linearly between ranks as NumPy
    does by default; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, /proc/PID/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(tally: Tally, cpu: float | None = None) -> dict:
    """The numbers the table prints, as a dict (ms, runs per second); `cpu`: the server's CPU
    seconds over the test (--pid), spread over every run (first runs included)."""
    seconds = tally.ended - tally.started
    span = max(tally.window[1] - tally.window[0], 1e-9)
    rows = {}
    for name, times in (("first run", tally.first), ("rerun", tally.reruns)):
        rows[name] = {
            "runs": len(times),
            "p50_ms": 1000 * percentile(times, 50),
            "p95_ms": 1000 * percentile(times, 95),
            "max_ms": 1000 * max(times, default=float("nan")),
        }
    runs = len(tally.first) + len(tally.reruns)
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_ms_per_run": 1000 * cpu / runs if cpu is not None and runs else None,
        "reruns_per_s": len(tally.reruns) / span if tally.reruns else 0.0,
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
    }


def table(result: dict) -> str:
    """The summary as a plain-text table."""
    lines = [f"{'':10} {'runs':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"]
    for name, row in result["rows"].items():
        lines.append(
            f"{name:10} {row['runs']:6d} {row['p50_ms']:8.0f} {row['p95_ms']:8.0f} "
            f"{row['max_ms']:8.0f}"
        )
    lines.append(
        f"reruns/s {result['reruns_per_s']:.1f} (first rerun sent to last finished); "
        f"test {result['seconds']:.1f} s; errors {result['errors']}"
    )
    if result["cpu_ms_per_run"] is not None:
        lines.append(f"server CPU {result['cpu_ms_per_run']:.1f} ms per run")
    lines += [f"  {count} x {what}" for what, count in result["error_kinds"].items()]
    return "\n".join(lines)


def bounded(name: str):
    """An argparse type: a positive number no larger than CAPS[name]."""

    def parse(text: str):
        number = float(text) if name == "seconds" else int(text)
        if not 0 < number <= CAPS[name]:
            raise argparse.ArgumentTypeError(f"--{name} must be in (0, {CAPS[name]}]")
        return number

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8501/", help="the page (127.0.0.1 only)")
    p.add_argument("--sessions", type=bounded("sessions"), default=20, help="tabs at once")
    p.add_argument("--reruns", type=bounded("reruns"), default=20, help="reruns per session")
    p.add_argument("--seconds", type=bounded("seconds"), default=60.0, help="test time limit")
    p.add_argument("--mode", choices=("fast", "class"), default="fast")
    p.add_argument("--think", type=float, default=10.0, help="class: seconds between moves")
    p.add_argument("--jitter", type=float, default=0.5, help="class: ± fraction of --think")
    p.add_argument("--ramp", type=float, default=1.0, help="fast: seconds to spread connects")
    p.add_argument("--widget", default="noise", help="user key of the slider to move")
    p.add_argument("--query", default="", help="the link's query, e.g. lesson=explore")
    p.add_argument(
        "--open",
        action="append",
        default=[],
        metavar="KEY",
        help="the key of an expander each tab opens after loading the page, e.g. explore "
        "(repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds the values and pauses")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--pid",
        type=int,
        help="the server's process id: print its CPU time per run, steadier than reruns/s on "
        "a shared machine (a process is held to about one core by Python's lock)",
    )
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.url = check_url(args.url)
    except LoadTestError as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    if not 0 <= args.jitter < 1 or args.think < 0:
        print("loadtest: --jitter must be in [0, 1) and --think >= 0", file=sys.stderr)
        return 2
    before = cpu_seconds(args.pid) if args.pid else None
    tally = asyncio.run(load(args))
    result = summary(tally, None if before is None else cpu_seconds(args.pid) - before)
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
