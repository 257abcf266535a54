"""Load test: many browser tabs on the wire, each moving a slider, timing every rerun.

    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8501/ --sessions 20 --mode fast
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8690/ --sessions 200 \\
        --mode paced --think 10 --seconds 120
    LR_CLASS_DB=sqlite:////tmp/x/class.db .venv/bin/python scripts/loadtest.py \\
        --url http://127.0.0.1:8690/ --sessions 200 --mode paced --think 10 --seconds 120 --class
    .venv/bin/python scripts/loadtest.py --url http://127.0.0.1:8501/ --sessions 20 \\
        --query optimizer=momentum --open explore --widget step_size --pid PID

Each session does what a tab of Streamlit's own client does: it fetches /_stcore/health (which
sets the `_streamlit_xsrf` cookie, plus any sticky-session cookie a proxy adds), opens the
websocket /_stcore/stream with subprotocols ["streamlit", <xsrf cookie>] and that Cookie header,
and sends BackMsg(rerun_script=ClientState(...)). A run ends with ForwardMsg.script_finished.
The first run (the page load) reveals each widget's full element id ("$$ID-<hash>-<key>");
later reruns set the chosen widget (--widget, a user key) to a new value under that id.

Modes: "fast" reruns each session back to back; "paced" moves the slider about every --think
seconds (± --jitter of it), like a room of students. Every test is bounded by --sessions,
--reruns (per session) and --seconds (the whole test), each with a hard cap. Only 127.0.0.1.

--class makes the tabs a class (lrui/student.py, lrui/board.py): the test creates a class in
the servers' class store (LR_CLASS_DB, lrclass.Store), every tab opens the students' link
(`?class=CODE&...`) and hands over its own browser token as the page's browser-token element
does, so it joins; and one more tab opens the teacher's board (`?board=CODE&key=KEY`). Tabs
rerun each fragment that asks for it, as the browser does (st.fragment(run_every=...): the
students' class bar and the board every 2 s), and those runs are timed ("bar poll", "board").
At the end, every student's row in the store must be the settings of their last run (the
address the page wrote), within --settle seconds; then the board refreshes alone for
--board-alone seconds while its worker's CPU time is read from /proc (the board's server CPU
per refresh), and the class is ended.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.cookiejar
import json
import math
import os
import random
import secrets
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

XSRF_COOKIE = "_streamlit_xsrf"
CAPS = {"sessions": 500, "reruns": 1000, "seconds": 900}  # hard limits on any one test
RUN_TIMEOUT = 60.0  # seconds one run may take before it counts as an error
CACHE_AGE = 2  # runs a cached message is kept unused (Streamlit's global.maxCachedMessageAge)
FINISHED = ForwardMsg.ScriptFinishedStatus
FINISHED_OK = ("FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY")
UNREACHABLE = "class store cannot be reached"  # what the page says when it is (lrui)
BOARD_SETTLE = 2.0  # seconds between the students leaving (or the board closing) and a CPU window
ROOT = Path(__file__).resolve().parent.parent


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
    fragments: list[str] = field(default_factory=list)  # the fragments it reran; [] a full run

    @property
    def ok(self) -> bool:
        return self.status in FINISHED_OK and not self.exceptions

    def texts(self, kind: str) -> list[str]:
        """The bodies of the run's elements of one kind ("markdown", "alert", ...)."""
        return [
            getattr(m.delta.new_element, kind).body
            for m in self.elements.values()
            if m.delta.new_element.WhichOneof("type") == kind
        ]


class Session:
    """One browser tab: a cookie jar, a websocket, and the widgets the page showed it.

    A reader task receives every message of the websocket as the browser does, whatever asked
    for it: `run` waits for the next full run it asked for; with `follow_fragments`, the tab also
    reruns each fragment that asks for it (st.fragment(run_every=...): the server sends
    `auto_rerun`, and the browser then sends a rerun of that fragment every interval until the
    next full run), and times each such rerun in `fragment_runs`."""

    def __init__(self, base_url: str, *, follow_fragments: bool = False):
        self.base_url = check_url(base_url)
        self.jar = http.cookiejar.CookieJar()
        self.ws = None
        self.widgets: dict[str, object] = {}  # user key -> the widget's proto (has .id)
        self.fragment_of: dict[str, str] = {}  # user key -> its fragment ("" outside any)
        self.page_script_hash = ""
        self.session_id = ""  # the server's id for this session (its uploads are filed by it)
        self.query_string = ""  # the address bar's query, as the page last set it
        self.follow_fragments = follow_fragments
        self.fragment_runs: list[Run] = []  # the fragment reruns the timers asked for
        self.last_run: Run | None = None  # the last full run, whoever asked for it
        # The browser's message cache: hash -> (message, the full run that last used it).
        self._cache: dict[str, tuple[ForwardMsg, int]] = {}
        self._runs = 0  # full runs finished
        self._reader: asyncio.Task | None = None
        self._failed: BaseException | None = None  # why the reader stopped
        self._current = Run(0.0, "")  # the run being received (a session runs one at a time)
        self._full: asyncio.Future | None = None  # the run `run` waits for
        self._asked_for = ""  # ... a full run (""), or a run of this fragment
        self._urls: asyncio.Future | None = None  # the upload URLs `upload` waits for
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}  # fragment -> its auto-rerun
        self._asked: dict[str, list[float]] = {}  # fragment -> send times not yet answered

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
        self._reader = asyncio.create_task(self._read())

    def _fetch(self, path: str) -> bytes:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        with opener.open(urljoin(self.base_url, path), timeout=RUN_TIMEOUT) as response:
            return response.read()

    def _cookie_header(self) -> str:
        request = urllib.request.Request(urljoin(self.base_url, "_stcore/stream"))
        self.jar.add_cookie_header(request)
        return request.get_header("Cookie", "")

    @property
    def intervals(self) -> dict[str, float]:
        """The fragments that rerun themselves now, and every how many seconds."""
        return {fragment: interval for fragment, (interval, _) in self._timers.items()}

    @property
    def worker(self) -> str:
        """The worker that serves this tab's websocket (nginx's X-Streamlit-Worker header),
        else the host:port the tab connected to."""
        headers = self.ws.response.headers if self.ws is not None else {}
        return headers.get("X-Streamlit-Worker", urlsplit(self.base_url).netloc).split(", ")[-1]

    async def close(self) -> None:
        self._stop_timers()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def run(self, **values) -> Run:
        """Rerun the script with widgets (by user key) set to values; wait until it finishes.
        Unlike the browser, only these widgets' states are sent: the others keep theirs. As in
        the browser, widgets of one fragment rerun that fragment alone."""
        fragments = {self.fragment_of.get(key, "") for key in values}
        back = self._rerun(fragments.pop() if len(fragments) == 1 else "", auto=False)
        for key, value in values.items():
            _set_widget(back.rerun_script.widget_states.widgets.add(), self.widget(key), value)
        return await self._ask(back)

    async def _ask(self, back: BackMsg) -> Run:
        """Send a rerun and wait for its run (a run stopped early for a rerun is not it): a
        full run, or the fragment's run when it asked for one fragment."""
        if self._failed is not None:
            raise self._failed
        self._full = asyncio.get_running_loop().create_future()
        self._asked_for = back.rerun_script.fragment_id
        start = time.perf_counter()
        await self.ws.send(back.SerializeToString())
        run = await asyncio.wait_for(self._full, RUN_TIMEOUT)
        run.seconds = time.perf_counter() - start
        return run

    def _rerun(self, fragment_id: str = "", auto: bool = True) -> BackMsg:
        back = BackMsg()
        state = back.rerun_script
        state.page_script_hash = self.page_script_hash
        state.query_string = self.query_string
        state.cached_message_hashes.extend(self._cache)
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = auto
        return back

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
        self._urls = asyncio.get_running_loop().create_future()
        await self.ws.send(ask.SerializeToString())
        urls = await asyncio.wait_for(self._urls, RUN_TIMEOUT)
        await asyncio.to_thread(self._put_file, urls.upload_url, name, data)
        back = self._rerun()
        widget = back.rerun_script.widget_states.widgets.add()
        widget.id = proto.id
        info = widget.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        return await self._ask(back)

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

    # --- the reader: every message, as the browser receives it ------------------------------

    async def _read(self) -> None:
        try:
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await self.ws.recv())
                self._receive(msg)
        except Exception as error:  # noqa: BLE001 - handed to whoever waits, as they would see it
            self._failed = error
            self._stop_timers()
            for waiting in (self._full, self._urls):
                if waiting is not None and not waiting.done():
                    waiting.set_exception(error)

    def _receive(self, msg: ForwardMsg) -> None:
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
            if not msg.metadata.run.fragment_ids:  # a full run: the browser drops its timers
                self._stop_timers()
            self._current = Run(0.0, "", fragments=list(msg.metadata.run.fragment_ids))
        elif kind == "page_info_changed":  # st.query_params changed the address bar
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta":
            self._note_delta(msg, self._current)
        elif kind == "auto_rerun" and self.follow_fragments:
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self._stop_timer(fragment)
        elif kind == "file_urls_response" and self._urls is not None and not self._urls.done():
            self._urls.set_result(msg.file_urls_response.file_urls[0])
        elif kind == "script_finished":
            run, self._current = self._current, Run(0.0, "")
            run.status = FINISHED.Name(msg.script_finished)
            if run.fragments:
                self._fragment_finished(run)
                waiting = self._full is not None and not self._full.done()
                if waiting and self._asked_for in run.fragments:
                    self._full.set_result(run)
            elif run.status != "FINISHED_EARLY_FOR_RERUN":
                self._age_cache()
                self.last_run = run
                if self._full is not None and not self._full.done():
                    self._full.set_result(run)

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
            self.fragment_of[element_id.split("-", 2)[2]] = msg.delta.fragment_id

    # --- fragments that rerun themselves (st.fragment(run_every=...)) -----------------------

    def _start_timer(self, fragment: str, interval: float) -> None:
        """What the browser does on `auto_rerun`: one timer per fragment, kept while the
        interval stays the same, sending a rerun of that fragment every interval."""
        if fragment in self._timers and self._timers[fragment][0] == interval:
            return
        self._stop_timer(fragment)
        self._timers[fragment] = interval, asyncio.create_task(self._tick(fragment, interval))

    async def _tick(self, fragment: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self._asked.setdefault(fragment, []).append(time.perf_counter())
            try:
                await self.ws.send(self._rerun(fragment).SerializeToString())
            except websockets.ConnectionClosed:
                return

    def _stop_timer(self, fragment: str) -> None:
        if fragment in self._timers:
            self._timers.pop(fragment)[1].cancel()

    def _stop_timers(self) -> None:
        for fragment in list(self._timers):
            self._stop_timer(fragment)

    def _fragment_finished(self, run: Run) -> None:
        """A fragment run: timed from the oldest rerun of its fragment not yet answered (the
        server runs a fragment asked twice meanwhile once)."""
        asked = [t for f in run.fragments for t in self._asked.pop(f, [])]
        if asked:  # (else a fragment a full run or a widget of the fragment started)
            run.seconds = time.perf_counter() - min(asked)
            self.fragment_runs.append(run)


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
    elif kind == "BidiComponent":  # a components-v2 element: its whole state, as JSON
        state.json_value = json.dumps(value)
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
    server_cpu: float | None = None  # CPU seconds of the given server processes, start to end
    client_cpu: float = 0.0  # CPU seconds of this load test itself (its tabs), start to end
    sent: list[float] = field(default_factory=list)  # when each rerun was sent (perf_counter)
    loaded: float = 0.0  # when the last first run (or joining run) finished

    def settled(self) -> list[float]:
        """The reruns sent once every tab had loaded the page (and joined): the steady load,
        without the tabs' first runs queued before them."""
        return [t for t, sent in zip(self.reruns, self.sent, strict=True) if sent > self.loaded]

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def add(self, run: Run, first: bool) -> None:
        if not run.ok:
            self.error(run.exceptions[0] if run.exceptions else run.status)
        if any(UNREACHABLE in text for text in run.texts("alert")):
            self.error("the page said the class store cannot be reached")
        (self.first if first else self.reruns).append(run.seconds)
        now = time.perf_counter()
        if first:
            self.loaded = max(self.loaded, now)
        else:
            self.window = [min(self.window[0], now - run.seconds), max(self.window[1], now)]
            self.sent.append(now - run.seconds)


# --- a class: every tab a student of one class, and the teacher's board open -----------------


@dataclass
class Student:
    """A tab in the class: its browser token, and the settings its last run had (the address
    the page wrote, without the class)."""

    token: str
    settings: dict[str, str] | None = None
    sent: object = None  # the value it last moved the slider to (None: the link's)


@dataclass
class Classroom:
    """The class of a --class test, made in the class store the servers use (lrclass.Store),
    and what its students and its board did."""

    store: object  # lrclass.Store
    code: str
    key: str
    settings: dict[str, str]  # the class's starting settings: its students' link
    students: list[Student] = field(default_factory=list)
    polls: list[Run] = field(default_factory=list)  # the students' class bars rerunning alone
    board: list[Run] = field(default_factory=list)  # the board's refreshes while students work
    alone: dict = field(default_factory=dict)  # the board alone: refreshes, CPU, what it saw
    alone_seconds: float = 20.0  # how long the board is measured alone (and idle)
    settled: float = 0.0  # seconds the students' rows took to be their last runs

    @property
    def link(self) -> str:
        """The students' link's query (lrui.classroom.students_link)."""
        return urlencode({"class": self.code, **self.settings})


def open_class(args) -> Classroom:
    """A new class in the store at --class-db (else $LR_CLASS_DB), starting from --query."""
    sys.path.insert(0, str(ROOT))
    from lrclass import Store
    from lrcore.settings import from_params, to_params

    url = args.class_db or os.environ.get("LR_CLASS_DB")
    if not url:
        raise LoadTestError(
            "--class needs the servers' class store: set LR_CLASS_DB (as the servers have it) "
            "or pass --class-db"
        )
    store = Store(url)
    settings = to_params(from_params(dict(parse_qsl(args.query)))[0])
    code, key = store.create_class(settings)
    return Classroom(store, code, key, settings)


async def join(session: Session, room: Classroom) -> tuple[Run, Student]:
    """What a student's browser does on the class link's first run: the page's class bar
    mounts the browser-token element (components/browser_token), which hands over this
    browser's token (192 random bits, as browser_token.js makes it) as its state; that reruns
    the bar (a fragment), which joins the class and records the run."""
    student = Student(secrets.token_urlsafe(24))
    run = await session.run(browser_token={"token": student.token})
    if run.ok and not any(f"In class **{room.code}**" in t for t in run.texts("markdown")):
        run.status = "the page did not join the class"
    return run, student


def ran(session: Session) -> dict[str, str]:
    """The settings of the tab's last run: the address the page wrote, without the class."""
    return {k: v for k, v in parse_qsl(session.query_string) if k != "class"}


async def board_task(base_url: str, room: Classroom, tally: Tally, done: asyncio.Event) -> None:
    """The teacher's board, open through the test: the page reruns its live fragment every
    2 s as the browser does (auto_rerun); each refresh is timed. Once the students have left
    (`done`) and their rows are in, the board alone: BOARD_ALONE seconds of refreshes with the
    CPU time of its worker process, then as long with the board closed (the idle worker)."""
    session = Session(base_url, follow_fragments=True)
    session.query_string = urlencode({"board": room.code, "key": room.key})
    try:
        await session.connect()
        first = await session.run()
        tally.add(first, first=True)
        if "key" in dict(parse_qsl(session.query_string)):
            tally.error("the board left its key in the address bar")
        await done.wait()
        room.board = list(session.fragment_runs)
        pid = listener_pid(int(session.worker.rsplit(":", 1)[1]))
        room.alone = {"worker": session.worker, "pid": pid}
        if pid is None:  # another user's process, or another machine
            return
        await asyncio.sleep(BOARD_SETTLE)
        count, cpu = len(session.fragment_runs), cpu_seconds(pid)
        await asyncio.sleep(room.alone_seconds)
        refreshes = session.fragment_runs[count:]
        room.alone |= {"refreshes": refreshes, "cpu": cpu_seconds(pid) - cpu}
        saw = metrics(next((r for r in reversed(refreshes) if r.ok), Run(0.0, "none")))
        room.alone["saw"] = saw
        await session.close()
        await asyncio.sleep(BOARD_SETTLE)
        cpu = cpu_seconds(pid)
        await asyncio.sleep(room.alone_seconds)
        room.alone["idle_cpu"] = cpu_seconds(pid) - cpu
    except Exception as error:  # noqa: BLE001 - counted and shown as a tab's are
        tally.error(f"board: {type(error).__name__}: {error}"[:120])
    finally:
        await session.close()


def metrics(run: Run) -> dict[str, str]:
    """The run's st.metric values by label (the board's counts)."""
    return {
        m.delta.new_element.metric.label: m.delta.new_element.metric.body
        for m in run.elements.values()
        if m.delta.new_element.WhichOneof("type") == "metric"
    }


async def settle(room: Classroom, seconds: float) -> tuple[list[Student], float]:
    """Wait until every student's row in the store is their last run (a run within a second
    of the one before is written by the store's thread a second later), at most `seconds`:
    the students whose row is not, and how long that took."""
    start = time.perf_counter()
    ids = {}
    while True:
        for student in room.students:  # join again: the same browser is the same student
            if student.token not in ids:
                found = await asyncio.to_thread(room.store.join, room.code, student.token)
                ids[student.token] = found.id if found else None
        rows = {row.id: row for row in await asyncio.to_thread(room.store.students, room.code)}
        lost = [
            s
            for s in room.students
            if s.settings is not None
            and getattr(rows.get(ids[s.token]), "settings", None) != s.settings
        ]
        waited = time.perf_counter() - start
        if not lost or waited > seconds:
            return lost, waited
        await asyncio.sleep(0.2)


def listener_pid(port: int) -> int | None:
    """The process that listens on 127.0.0.1:`port` (from /proc), if it is one of ours."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    for fds in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in fds.iterdir()):
                return int(fds.parent.name)
    return None


async def session_task(
    base_url: str, args, tally: Tally, index: int, deadline: float, room: Classroom | None = None
) -> None:
    """One tab for the whole test: connect, load the page (and join the class), then move the
    slider."""
    rng = random.Random(args.seed * 100_003 + index)
    session = Session(base_url, follow_fragments=room is not None)
    session.query_string = args.query  # the link the tab opened (a browser sends it so)
    if room is not None:
        session.query_string = room.link
    think = args.think if args.mode == "paced" else 0.0
    student = None
    try:
        await asyncio.sleep(rng.uniform(0, think or args.ramp))
        await session.connect()
        tally.add(await session.run(), first=True)
        if room is not None:  # the browser hands over its token: one more run, not a rerun
            run, student = await join(session, room)
            tally.add(run, first=True)
            room.students.append(student)
            student.settings = ran(session)
        if args.open:  # the expanders a student opened first (one more run, not a rerun)
            tally.add(await session.run(**dict.fromkeys(args.open, True)), first=True)
        values = values_of(session.widget(args.widget), rng, args.reruns)
        for value in values:
            pause = think * rng.uniform(1 - args.jitter, 1 + args.jitter)
            if time.perf_counter() + pause >= deadline:
                break
            await asyncio.sleep(pause)
            run = await session.run(**{args.widget: value})
            tally.add(run, first=False)
            if student is not None:
                student.settings, student.sent = ran(session), value
    except Exception as error:  # noqa: BLE001 - any failure of a tab is counted and shown
        tally.error(f"{type(error).__name__}: {error}"[:120])
    finally:
        await session.close()
        if room is not None:
            room.polls += session.fragment_runs


async def load(args, room: Classroom | None = None, pids: tuple[int, ...] = ()) -> Tally:
    """Run every session until its reruns are done or --seconds have passed; with a class,
    its board too, and check the students' rows. `pids`: server processes whose CPU time the
    tally keeps, from the start to the last tab's end (not the board alone after it)."""
    before, client = sum(cpu_seconds(pid) for pid in pids), time.process_time()
    tally = Tally()
    deadline = tally.started + args.seconds
    done = asyncio.Event()
    board = None
    if room is not None and not args.no_board:
        board = asyncio.create_task(board_task(args.url, room, tally, done))
    tasks = [
        asyncio.create_task(session_task(args.url, args, tally, i, deadline, room))
        for i in range(args.sessions)
    ]
    _, pending = await asyncio.wait(tasks, timeout=args.seconds + RUN_TIMEOUT)
    for task in pending:
        task.cancel()
        tally.error("cancelled at the time limit")
    await asyncio.gather(*pending, return_exceptions=True)
    tally.ended = time.perf_counter()
    tally.client_cpu = time.process_time() - client
    if pids:
        tally.server_cpu = sum(cpu_seconds(pid) for pid in pids) - before
    if room is not None:
        lost, room.settled = await settle(room, args.settle)
        for _ in lost:
            tally.error("a student's row in the store is not their last run")
        done.set()
        if board is not None:
            await board
            joined, saw = str(len(room.students)), room.alone.get("saw")
            if saw is not None and (saw.get("Joined") != joined or saw.get("No run yet") != "0"):
                tally.error(f"the board showed {saw}, not {joined} students who all ran")
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


def summary(tally: Tally, room: Classroom | None = None) -> dict:
    """The numbers the table prints, as a dict (ms, runs per second); the server's CPU seconds
    over the test (--pid), spread over every run (first runs included) and per second; `room`:
    the class of a --class test."""
    cpu = tally.server_cpu
    seconds = tally.ended - tally.started
    span = max(tally.window[1] - tally.window[0], 1e-9)
    rows = {
        "first run": _times(tally.first),
        "rerun": _times(tally.reruns),
        "rerun, all loaded": _times(tally.settled()),
    }
    runs = len(tally.first) + len(tally.reruns)
    if room is not None:
        rows["bar poll"] = _times([r.seconds for r in room.polls if r.ok])
        rows["board"] = _times([r.seconds for r in room.board if r.ok])
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_ms_per_run": 1000 * cpu / runs if cpu is not None and runs else None,
        "cpu_cores": cpu / seconds if cpu is not None else None,  # (the test's mean)
        "client_cores": tally.client_cpu / seconds,  # this load test's, on the same machine
        "reruns_per_s": len(tally.reruns) / span if tally.reruns else 0.0,
        "errors": sum(tally.errors.values()),
        "error_kinds": tally.errors,
        "class": None if room is None else class_summary(room),
    }


def _times(times: list[float]) -> dict:
    return {
        "runs": len(times),
        "p50_ms": 1000 * percentile(times, 50),
        "p95_ms": 1000 * percentile(times, 95),
        "max_ms": 1000 * max(times, default=float("nan")),
    }


def class_summary(room: Classroom) -> dict:
    """The class's figures: students, how long their rows took to be their last runs, and
    the board alone (its worker's CPU per refresh, and that worker idle)."""
    alone = room.alone
    refreshes = len([r for r in alone.get("refreshes", []) if r.ok])
    cpu, idle = alone.get("cpu"), alone.get("idle_cpu")
    per_refresh = 1000 * cpu / refreshes if cpu is not None and refreshes else None
    idle_per_s = 1000 * idle / room.alone_seconds if idle is not None else None
    return {
        "code": room.code,
        "students": len(room.students),
        "rows_settled_s": room.settled,
        "board_worker": alone.get("worker"),
        "board_alone_refreshes": refreshes,
        "board_cpu_ms_per_refresh": per_refresh,
        "board_worker_idle_cpu_ms_per_s": idle_per_s,
        "board_saw": alone.get("saw"),
    }


def table(result: dict) -> str:
    """The summary as a plain-text table."""
    lines = [f"{'':17} {'runs':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"]
    for name, row in result["rows"].items():
        lines.append(
            f"{name:17} {row['runs']:6d} {row['p50_ms']:8.0f} {row['p95_ms']:8.0f} "
            f"{row['max_ms']:8.0f}"
        )
    lines.append(
        f"reruns/s {result['reruns_per_s']:.1f} (first rerun sent to last finished); "
        f"test {result['seconds']:.1f} s; errors {result['errors']}"
    )
    if result["cpu_ms_per_run"] is not None:
        lines.append(
            f"server CPU {result['cpu_ms_per_run']:.1f} ms per run, "
            f"{result['cpu_cores']:.2f} cores over the test"
        )
    if room := result["class"]:
        lines.append(
            f"class {room['code']}: {room['students']} students; their rows were their last "
            f"runs {room['rows_settled_s']:.1f} s after the last run"
        )
        if room["board_cpu_ms_per_refresh"] is not None:
            lines.append(
                f"board alone: {room['board_alone_refreshes']} refreshes, "
                f"{room['board_cpu_ms_per_refresh']:.1f} ms of its worker's CPU each "
                f"(the worker idle: {room['board_worker_idle_cpu_ms_per_s']:.1f} ms per s); "
                f"it showed {room['board_saw']}"
            )
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
    p.add_argument(
        "--mode",
        choices=("fast", "paced"),
        default="fast",
        help="fast: each tab reruns back to back; paced: each moves the slider every --think s",
    )
    p.add_argument("--think", type=float, default=10.0, help="paced: seconds between moves")
    p.add_argument("--jitter", type=float, default=0.5, help="paced: ± fraction of --think")
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
    p.add_argument(
        "--class",
        dest="in_class",
        action="store_true",
        help="every tab joins one class (made here in the servers' class store) through its "
        "students' link, and the teacher's board is open; at the end every student's row must "
        "be their last run",
    )
    p.add_argument(
        "--class-db",
        metavar="URL",
        help="the servers' class store (a SQLAlchemy URL); default: $LR_CLASS_DB",
    )
    p.add_argument("--no-board", action="store_true", help="class: no board open")
    p.add_argument(
        "--board-alone",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="class: once the students have left, the board refreshes alone this long while "
        "its worker's CPU time is read from /proc, then its worker is read as long idle",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="class: how long the students' rows may take to be their last runs",
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
    if not 0 < args.board_alone <= CAPS["seconds"] or not 0 <= args.settle <= CAPS["seconds"]:
        print("loadtest: --board-alone and --settle are seconds, at most 900", file=sys.stderr)
        return 2
    room = None
    if args.in_class:
        try:
            room = open_class(args)
        except (LoadTestError, ValueError) as error:
            print(f"loadtest: {error}", file=sys.stderr)
            return 2
        room.alone_seconds = args.board_alone
    try:
        tally = asyncio.run(load(args, room, (args.pid,) if args.pid else ()))
    finally:
        if room is not None:  # the class ends: its rows go
            room.store.end(room.code, room.key)
            room.store.close()
    result = summary(tally, room)
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
