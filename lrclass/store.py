"""The class store: classes, their students and each student's last run, shared by every worker.

With nothing configured it is a SQLite file (WAL, a busy timeout, one statement per write) that
every worker of deploy/serve_class.sh on the machine shares; LR_CLASS_DB, a SQLAlchemy URL,
puts it elsewhere: `sqlite:////path/class.db`, or `postgresql+psycopg://user:pw@host/db` for
workers on several machines. The schema is created on start (and again on the first call after
the database was unreachable at start).

Who may do what. A teacher's key (192 random bits) is returned once by `create_class` and stored
only as its SHA-256; `board` compares hashes in constant time and answers a wrong or missing key
exactly as an unknown class (None). A student is their browser token (a secret the page makes
and keeps in the browser, stored hashed): `join` with the same token is the same student, and
every write names the student by that token, so a student writes only their own row and never
the class. Failed look-ups (unknown code, wrong key) are counted per client and minute in the
database, so every worker sees them: past FAILURES_PER_MINUTE from one client, or
ALL_FAILURES_PER_MINUTE from everyone, `board` and `join` raise TooManyTries for the rest of
the minute without looking (a guess then learns nothing).

Recording runs: "at most about once a second" and "no update lost". The page hands every run
to `keep`, which leaves every write to the store's own thread; `record` writes in the caller's
thread. The first run of a student in a second is written at once (one INSERT … ON
CONFLICT DO UPDATE); a later one within the second is kept as that student's pending run,
replacing any older pending one, and a background thread writes the pending run once the
second is over. So a run is skipped only when a newer run of the same student supersedes it
within the window, and the last run always reaches the database (about a second later).
`flush` writes every pending run at once; `close` does too. When the database cannot be
reached, `record` raises StoreUnavailable and keeps the run pending; the thread retries every
second, so recording resumes by itself when the database is back (only a worker that dies
meanwhile loses its students' last second). The bound is per worker, and a student's sessions
stay on one worker (deploy/serve_class.sh's sticky cookie).

Reading a class's state (open, paused, ended): `status` reads it now; `recent_status`, which a
student's page calls at every run, gives it as this process's watcher thread last read it. The
watcher reads every class the process's pages asked about lately in one query every
WATCH_INTERVAL, so a run makes no call to the database and a class of 200 costs each worker two
reads a second; a pause, a resume or the end reaches a student's next change within about half
a second (at once on the worker that made it).

Every failure to reach the database (PostgreSQL down, the SQLite file unwritable or gone) is
the one exception StoreUnavailable; the store reconnects by itself on the next call (a
PostgreSQL connection is pinged before use; a SQLite connection is used only while its file
is still there, the same and writable).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    ProgrammingError,
)

from . import codes, names
from .schema import classes, failures, metadata, students

ENV = "LR_CLASS_DB"
CLASS_HOURS = 12.0  # a class ends after this, unless its teacher ends it sooner
KEY_BYTES = 24  # the teacher's key: 192 random bits, 32 URL-safe characters
WRITE_INTERVAL = 1.0  # seconds between two writes of one student's run
WATCH_INTERVAL = 0.5  # seconds between two reads of the watched classes' states (recent_status)
WATCH_FORGET = 60.0  # seconds after a page's last ask that a class is no longer watched
FAILURES_PER_MINUTE = 20  # failed look-ups from one client (a classroom shares an address)
ALL_FAILURES_PER_MINUTE = 600  # ... and from everyone: ≤ 864,000 guesses a day of 148 million
MAX_SETTINGS = 64  # settings in one run, each name at most MAX_SETTING_NAME characters
MAX_SETTING_NAME = 40
MAX_SETTINGS_CHARS = 16_000  # a run's settings as JSON (a link with 500 points is ~14,000)
TOKEN_CHARS = (16, 128)  # a browser token's length, at least and at most
BUSY_SECONDS = 5.0  # SQLite: how long a write waits for another worker's
DEADLINE = BUSY_SECONDS + 1  # seconds a page waits for one call before the store is unreachable
ANYONE = "*"  # the failures row that counts every client

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The class store cannot be reached (database down, file not writable); try again later."""


class TooManyTries(Exception):
    """Too many unknown class codes or wrong keys in the last minute; try again in a minute."""


@dataclass(frozen=True)
class Outcome:
    """What a run came to (None where it has no value, e.g. the loss of a diverged run)."""

    final_loss: float | None
    epochs_to_1pct: int | None  # the first epoch within 1% of the answer; None if never
    diverged: bool
    distance: float | None  # ‖(W, b) − (W*, b*)‖ at the end


@dataclass(frozen=True)
class Student:
    """A student of a class, as `join` returns them; the token proves who they are."""

    code: str
    token: str = field(repr=False)
    id: int
    name: str


@dataclass(frozen=True)
class ClassInfo:
    """A class as its board sees it."""

    code: str
    settings: dict[str, str]  # the starting settings, as in the students' link
    created: float
    ends: float
    paused: bool


@dataclass(frozen=True)
class StudentRow:
    """One student on the board: their name and their last run (None before any)."""

    id: int
    name: str
    joined: float
    seen: float
    settings: dict[str, str] | None
    step_size: float | None
    final_loss: float | None
    epochs_to_1pct: int | None
    diverged: bool | None
    distance: float | None


_worker = threading.local()  # .busy: this thread is running a bounded call


def _bounded(method):
    """A Store method the page calls, run within the store's deadline (Store._in_time)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return self._in_time(method, self, *args, **kwargs)

    return call


def _on_worker(method, *args, **kwargs):
    _worker.busy = True
    try:
        return method(*args, **kwargs)
    finally:
        _worker.busy = False


def default_url() -> str:
    """A SQLite file in the user's state folder ($XDG_STATE_HOME, else ~/.local/state)."""
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return f"sqlite:///{Path(state) / 'lr-dashboard' / 'class.db'}"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Store:
    """The class store at `url`, else $LR_CLASS_DB, else default_url(). `clock` gives the time
    (seconds since the epoch): tests move it instead of sleeping. A call the page makes waits
    at most `deadline` seconds (see _bounded)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        deadline: float = DEADLINE,
    ):
        self.clock = clock
        self.deadline = deadline
        self._calls = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="lrclass")
        self._late_lock = threading.Lock()
        self._late = 0  # calls past their deadline that have not returned yet
        self._engine = _engine(url or os.environ.get(ENV) or default_url(), default=not url)
        postgres = self._engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if postgres else sqlite.insert
        self._upsert = _upsert(self._insert)
        self._schema = False
        self._next_expiry = -math.inf
        self._lock = threading.Condition()
        self._last: dict[tuple[str, str], float] = {}  # (code, token hash) -> its last write
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}  # -> the run to write next
        self._flusher: threading.Thread | None = None
        self._closed = False
        self._watch_lock = threading.Lock()
        self._asked: dict[str, float] = {}  # code -> when a page last asked (monotonic)
        self._watched: dict[str, tuple[Any, float]] = {}  # code -> (state or error, read when)
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        with contextlib.suppress(StoreUnavailable):
            self._create_schema()

    def __repr__(self) -> str:
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"

    def _in_time(self, function, *args, **kwargs):
        """function(*args, **kwargs) on one of the store's threads, waited for at most
        `deadline` seconds: past that it is StoreUnavailable, and so is every call until the
        late one has returned (a database that hangs, or a host gone without closing its
        connections, would otherwise hold the page's run). Within a call it runs in place."""
        if getattr(_worker, "busy", False):
            return function(*args, **kwargs)
        with self._late_lock:
            if self._late:
                raise StoreUnavailable("the class store cannot be reached (it has not answered)")
            try:
                future = self._calls.submit(_on_worker, function, *args, **kwargs)
            except RuntimeError:  # closed
                raise StoreUnavailable("the class store cannot be reached (closed)") from None
        try:
            return future.result(timeout=self.deadline)
        except concurrent.futures.TimeoutError:
            with self._late_lock:
                self._late += 1
            future.add_done_callback(self._answered)
            raise StoreUnavailable(
                f"the class store cannot be reached (no answer within {self.deadline:g} s)"
            ) from None

    def _answered(self, _future) -> None:
        with self._late_lock:
            self._late -= 1

    # --- classes ---------------------------------------------------------------------------

    @_bounded
    def create_class(
        self, settings: Mapping[str, str], ttl_hours: float = CLASS_HOURS
    ) -> tuple[str, str]:
        """A new class that starts from `settings` and ends after `ttl_hours`: (code, key).
        The key is shown to the teacher once, in the board's link; only its hash is kept."""
        now = self.clock()
        key = secrets.token_urlsafe(KEY_BYTES)
        row = {
            "key_hash": secret_hash(key),
            "settings": _settings_json(settings),
            "created": now,
            "ends": now + 3600 * float(ttl_hours),
            "paused": False,
        }
        self.expire()
        for _ in range(10):  # a clash with a live class is one in millions
            code = codes.new_code()
            try:
                with self._begin() as conn:
                    conn.execute(classes.insert().values(code=code, **row))
                return code, key
            except IntegrityError:
                continue
        raise StoreUnavailable("no free class code after 10 tries")

    @_bounded
    def board(self, code: str, key: str | None, client: str = "") -> ClassInfo | None:
        """The class, if `key` is its teacher's; None for an unknown or ended class, a wrong
        key and a missing key alike. Raises TooManyTries after too many failures."""
        code, now = codes.normalise(code), self.clock()
        with self._begin() as conn:
            self._check_tries(conn, client, now)
            row = conn.execute(_live(select(classes), code, now)).first() if code else None
            given = secret_hash(key) if isinstance(key, str) and len(key) <= 256 else None
            if row is None or given is None or not hmac.compare_digest(row.key_hash, given):
                self._count_failure(conn, client, now)
                return None
        if now >= self._next_expiry:  # ended classes go within a minute of a board's refresh
            self._next_expiry = now + 60
            with contextlib.suppress(StoreUnavailable):  # the board is shown even so
                self.expire()
        return ClassInfo(row.code, json.loads(row.settings), row.created, row.ends, row.paused)

    @_bounded
    def pause(self, code: str, key: str, client: str = "") -> bool:
        """Pause the class (the page makes its students' controls wait); False if the key is
        not the class's."""
        return self._set_paused(code, key, client, True)

    @_bounded
    def resume(self, code: str, key: str, client: str = "") -> bool:
        return self._set_paused(code, key, client, False)

    @_bounded
    def end(self, code: str, key: str, client: str = "") -> bool:
        """End the class now: its rows and its students' rows are deleted."""
        info = self.board(code, key, client)
        if info is not None:
            with self._begin() as conn:
                conn.execute(delete(classes).where(classes.c.code == info.code))
            self._seen(info.code, None, time.monotonic())
        return info is not None

    def expire(self) -> int:
        """Delete the classes past their end (with their students) and old failure counts;
        how many classes went."""
        now = self.clock()
        with self._begin() as conn:
            gone = conn.execute(delete(classes).where(classes.c.ends <= now)).rowcount
            conn.execute(delete(failures).where(failures.c.minute < _minute(now) - 1))
        return gone

    @_bounded
    def students(self, code: str) -> list[StudentRow]:
        """Every student of the class, in the order they joined (for its board: call it only
        after `board` accepted the key)."""
        columns = [c for c in students.c if c.name not in ("code", "token_hash")]
        query = select(*columns).where(students.c.code == code).order_by(students.c.id)
        with self._begin() as conn:
            rows = conn.execute(query).all()
        return [
            StudentRow(**{**row._asdict(), "settings": row.settings and _parsed(row.settings)})
            for row in rows
        ]

    # --- students --------------------------------------------------------------------------

    @_bounded
    def join(self, code: str, token: str, client: str = "") -> Student | None:
        """The student of this browser (`token`, a secret the page keeps in the browser) in the
        class: the same token is the same student, with a generated name the first time. None
        for an unknown or ended class; TooManyTries after too many failures."""
        code, now, token_hash = codes.normalise(code), self.clock(), _token_hash(token)
        with self._begin() as conn:
            self._check_tries(conn, client, now)
            live = conn.execute(_live(select(classes.c.code), code, now)).first() if code else None
            if live is None:
                self._count_failure(conn, client, now)
                return None
            mine = students.c.code == code, students.c.token_hash == token_hash
            name = conn.scalar(select(students.c.name).where(*mine))
            if name is None:
                taken = set(conn.scalars(select(students.c.name).where(students.c.code == code)))
                name = names.generated(token_hash, taken)
            stmt = self._insert(students).values(
                code=code, token_hash=token_hash, name=name, joined=now, seen=now
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[students.c.code, students.c.token_hash],
                set_={"seen": stmt.excluded.seen},
            ).returning(students.c.id, students.c.name)
            try:
                row = conn.execute(stmt).one()
            except IntegrityError:  # the class ended meanwhile
                return None
        return Student(code, token, row.id, row.name)

    @_bounded
    def rename(self, student: Student, name: str) -> Student:
        """The student under their chosen name (names.clean: plain text, ≤ 24 characters).
        ValueError if nothing printable is left."""
        cleaned = names.clean(name) if isinstance(name, str) else ""
        if not cleaned:
            raise ValueError("a name needs at least one letter, digit or sign")
        with self._begin() as conn:
            conn.execute(update(students).where(*_own(student)).values(name=cleaned))
        return Student(student.code, student.token, student.id, cleaned)

    @_bounded
    def status(self, student: Student) -> str | None:
        """The state of the student's class: "open", "paused", or None once it has ended."""
        query = _live(select(classes.c.paused), student.code, self.clock())
        with self._begin() as conn:
            return _state(conn.scalar(query))

    def recent_status(self, student: Student) -> str | None:
        """The state of the student's class as `status` gives it, with no call to the database
        (a page looks at every run): as this process's watcher thread read it at most about
        WATCH_INTERVAL s ago, so a pause reaches a student's next change within that. The first
        ask about a class reads it at once; the watcher then reads every class asked about in
        the last WATCH_FORGET s, in one query. StoreUnavailable while its reads fail, or after
        `deadline` s without one (a database that hangs)."""
        code, now = student.code, time.monotonic()
        with self._watch_lock:
            self._asked[code] = now
            state, read = self._watched.get(code, (None, None))
        if read is None:
            try:
                state = self.status(student)
            except StoreUnavailable as error:
                state = error
            self._seen(code, state, now)
            self._start_watcher()
        elif now - read > self.deadline:
            raise StoreUnavailable("the class store cannot be reached (it has not answered)")
        if isinstance(state, StoreUnavailable):
            raise state
        return state

    def record(self, student: Student, settings: Mapping[str, str], outcome: Outcome) -> bool:
        """Record the student's latest run: written now (True) or, within a second of their
        last write, kept to be written when the second is over (False). ValueError for
        settings too large or not strings; StoreUnavailable if the write failed (the run is
        kept and written when the database is back)."""
        values = _run_values(student, settings, outcome)
        key = (student.code, _token_hash(student.token))
        with self._lock:
            now = self.clock()
            if now - self._last.get(key, -math.inf) < WRITE_INTERVAL:
                self._defer(key, values)
                return False
            self._pending.pop(key, None)
            self._last[key] = now
            if len(self._last) > 10_000:  # forget students idle for a while
                self._last = {k: t for k, t in self._last.items() if now - t < WRITE_INTERVAL}
        try:
            self._in_time(self._write_or_keep, key, values)
        except StoreUnavailable:  # (kept already, unless the store has not answered in time)
            with self._lock:
                if key not in self._pending:
                    self._defer(key, values)
            raise
        return True

    def keep(self, student: Student, settings: Mapping[str, str], outcome: Outcome) -> None:
        """Record the student's latest run from the store's writer thread, with no call to the
        database now (the page: its run never waits for a write): written at once, or when
        the student's second since their last write is over, or as soon as the database
        answers again. ValueError as for `record`."""
        values = _run_values(student, settings, outcome)
        with self._lock:
            self._defer((student.code, _token_hash(student.token)), values)

    def flush(self) -> None:
        """Write every pending run now; StoreUnavailable (runs kept) if the database is down."""
        with self._lock:
            batch, self._pending = self._pending, {}
        failed = None
        for key, values in batch.items():
            try:
                self._write_or_keep(key, values)
            except StoreUnavailable as error:  # kept; the others are tried all the same
                failed = error
        if failed:
            raise failed

    def close(self) -> None:
        """Stop the background threads, write what is pending (logged if it cannot be) and
        close the connections."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._stop.set()
        for thread in (self._flusher, self._watcher):
            if thread is not None:
                thread.join()
        try:
            self.flush()
        except StoreUnavailable:
            log.warning("class store: %d runs could not be recorded", len(self._pending))
        self._calls.shutdown(wait=False)  # (a call still waiting on a hung database ends with it)
        self._engine.dispose()

    # --- inside ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A transaction; any failure to reach the database becomes StoreUnavailable."""
        try:
            if not self._schema:
                self._create_schema()
            with self._engine.begin() as conn:
                yield conn
        except (IntegrityError, ProgrammingError, DataError):
            raise
        except DBAPIError as error:
            raise _unavailable(error) from error

    def _create_schema(self) -> None:
        try:
            try:
                metadata.create_all(self._engine)
            except (IntegrityError, ProgrammingError):  # another worker created them meanwhile
                metadata.create_all(self._engine)
        except DBAPIError as error:
            raise _unavailable(error) from error
        self._schema = True

    def _set_paused(self, code: str, key: str, client: str, paused: bool) -> bool:
        info = self.board(code, key, client)
        if info is not None:
            with self._begin() as conn:
                conn.execute(
                    update(classes).where(classes.c.code == info.code).values(paused=paused)
                )
            self._seen(info.code, "paused" if paused else "open", time.monotonic())
        return info is not None

    def _check_tries(self, conn: Connection, client: str, now: float) -> None:
        counts = dict(
            conn.execute(
                select(failures.c.client, failures.c.count).where(
                    failures.c.minute == _minute(now),
                    failures.c.client.in_([_client(client), ANYONE]),
                )
            ).all()
        )
        if (
            counts.get(_client(client), 0) >= FAILURES_PER_MINUTE
            or counts.get(ANYONE, 0) >= ALL_FAILURES_PER_MINUTE
        ):
            raise TooManyTries("too many unknown class codes or wrong keys: try again in a minute")

    def _count_failure(self, conn: Connection, client: str, now: float) -> None:
        for who in (_client(client), ANYONE):
            stmt = self._insert(failures).values(client=who, minute=_minute(now), count=1)
            stmt = stmt.on_conflict_do_update(
                index_elements=[failures.c.client, failures.c.minute],
                set_={"count": failures.c.count + 1},
            )
            conn.execute(stmt)

    def _write(self, key: tuple[str, str], values: dict[str, Any]) -> None:
        """The run as the student's row (the store's one prepared statement, _upsert)."""
        code, token_hash = key
        now = self.clock()
        row = {"code": code, "token_hash": token_hash, "joined": now, "seen": now, **values}
        try:
            with self._begin() as conn:
                conn.execute(self._upsert, {**row, "now": now})
        except IntegrityError:  # the class ended between the SELECT and the INSERT
            pass

    def _write_or_keep(self, key: tuple[str, str], values: dict[str, Any]) -> None:
        try:
            self._write(key, values)
        except StoreUnavailable:
            with self._lock:
                self._pending.setdefault(key, values)  # unless a newer run is pending
                self._last[key] = self.clock()  # the writer tries again in WRITE_INTERVAL
                self._start_flusher()
                self._lock.notify_all()
            raise

    def _defer(self, key: tuple[str, str], values: dict[str, Any]) -> None:
        self._pending[key] = values
        self._start_flusher()
        self._lock.notify_all()

    def _start_flusher(self) -> None:
        if self._flusher is None and not self._closed:
            self._flusher = threading.Thread(target=self._flush_loop, name="lrclass", daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        """Write each pending run once its student's second is over."""
        while True:
            with self._lock:
                while True:
                    if self._closed:
                        return
                    now = self.clock()
                    waits = {
                        k: self._last.get(k, -math.inf) + WRITE_INTERVAL - now
                        for k in self._pending
                    }
                    due = [k for k, wait in waits.items() if wait <= 0]
                    if due:
                        break
                    self._lock.wait(min([*waits.values(), 1.0]) if waits else None)
                batch = [(k, self._pending.pop(k)) for k in due]
                self._last.update(dict.fromkeys(due, now))
            for key, values in batch:
                try:
                    self._write_or_keep(key, values)
                except StoreUnavailable:
                    pass  # kept; tried again in WRITE_INTERVAL
                except Exception:  # a bug: say so, and keep writing the others
                    log.exception("class store: a run could not be recorded")

    def _seen(self, code: str, state, read: float) -> None:
        """A class's state (or StoreUnavailable) as read at `read` (monotonic), unless a newer
        read is in already (the watcher's read may have started before this process paused
        the class)."""
        with self._watch_lock:
            if code in self._asked and read >= self._watched.get(code, (None, -math.inf))[1]:
                self._watched[code] = state, read

    def _start_watcher(self) -> None:
        with self._watch_lock:
            if self._watcher is None and not self._stop.is_set():
                self._watcher = threading.Thread(
                    target=self._watch_loop, name="lrclass-watch", daemon=True
                )
                self._watcher.start()

    def _watch_loop(self) -> None:
        """Every WATCH_INTERVAL s, the states of the classes asked about lately, in one read."""
        while not self._stop.wait(WATCH_INTERVAL):
            started = time.monotonic()
            with self._watch_lock:
                for code in [c for c, t in self._asked.items() if started - t > WATCH_FORGET]:
                    del self._asked[code]
                    self._watched.pop(code, None)
                watched = list(self._asked)
            if not watched:
                continue
            try:
                now = self.clock()
                query = select(classes.c.code, classes.c.paused).where(
                    classes.c.code.in_(watched), classes.c.ends > now
                )
                with self._begin() as conn:
                    paused = dict(conn.execute(query).all())
                states = {c: _state(paused.get(c)) for c in watched}
            except StoreUnavailable as error:
                states = dict.fromkeys(watched, error)
            except Exception:  # a bug: say so; the pages see the store as not answering
                log.exception("class store: the classes' states could not be read")
                continue
            for code, state in states.items():
                self._seen(code, state, started)


def _engine(url: str, default: bool) -> Engine:
    """An engine for a sqlite file or a PostgreSQL server (psycopg 3 whatever the URL says)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{ENV} is not a SQLAlchemy URL") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return create_engine(
            parsed.set(drivername="postgresql+psycopg"),
            pool_pre_ping=True,  # a connection from before a restart is replaced, not used
            pool_size=5,
            # a commit does not wait for the disk: a server crash may lose its last ~0.6 s of
            # runs (each student's next run writes their row again), never corrupt
            connect_args={"connect_timeout": 3, "options": "-c synchronous_commit=off"},
        )
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if default:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(
            parsed.set(drivername="sqlite+pysqlite"),
            connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", functools.partial(_sqlite_connect, path))
        event.listen(engine, "checkout", functools.partial(_sqlite_checkout, path))
        return engine
    shown = parsed.render_as_string(hide_password=True)
    raise ValueError(f"{ENV}: a sqlite:///FILE or postgresql+psycopg://… URL, not {shown}")


def _sqlite_connect(path: Path, dbapi_connection, record) -> None:
    """Set up a new connection, and note which file it opened. A file this process may not
    write is refused here (a DBAPI error: StoreUnavailable), as _sqlite_checkout refuses it:
    SQLite would open it read-only without a word, and the pool, handed a connection that
    every checkout refuses, would give up with an error that is not the database's."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",  # readers do not wait for the writer; workers share the file
        f"busy_timeout={int(BUSY_SECONDS * 1000)}",
        "foreign_keys=ON",  # a class's students go with it
        "synchronous=NORMAL",  # safe with WAL; a commit does not wait for the disk
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    if not os.access(path, os.W_OK):
        dbapi_connection.close()
        raise sqlite3.OperationalError("the SQLite file is not writable")
    record.info["file"] = _file_id(path)


def _sqlite_checkout(path: Path, _dbapi_connection, record, _proxy) -> None:
    """A pooled connection is used only while its file is still there, the same and writable
    (else the pool opens a new one, which fails while the file is gone: StoreUnavailable).
    Without this, a connection would go on writing to a file moved or deleted under it."""
    if _file_id(path) != record.info.get("file") or not os.access(path, os.W_OK):
        raise DisconnectionError("the SQLite file was moved, replaced or made read-only")


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _unavailable(error: DBAPIError) -> StoreUnavailable:
    """The cause in one line, without the SQL or its parameters."""
    cause = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return StoreUnavailable(f"the class store cannot be reached ({cause})")


def _live(query, code, now):
    """`query` limited to the class `code` while it has not ended (values, or bound
    parameters)."""
    return query.where(classes.c.code == code, classes.c.ends > now)


def _state(paused: bool | None) -> str | None:
    """A class's state from its `paused` column (None: no such class, or it has ended)."""
    return None if paused is None else "paused" if paused else "open"


def _upsert(insert):
    """A run as its student's row: one INSERT … SELECT … ON CONFLICT DO UPDATE, which writes
    nothing once the class has ended. Built once per store, with a bound parameter for every
    column and `now`: built for each write, it took about two thirds of the write's CPU
    (record(): 0.69 ms a write on SQLite, 0.93 on PostgreSQL; now 0.24 and 0.41;
    scripts/bench_store.py)."""
    columns = [c.name for c in students.c if c.name != "id"]
    source = select(*(bindparam(k, type_=students.c[k].type).label(k) for k in columns))
    stmt = insert(students).from_select(columns, _live(source, bindparam("code"), bindparam("now")))
    return stmt.on_conflict_do_update(
        index_elements=[students.c.code, students.c.token_hash],
        set_={
            k: stmt.excluded[k]
            for k in columns
            if k not in ("code", "token_hash", "name", "joined")
        },
    )


def _own(student: Student):
    return students.c.code == student.code, students.c.token_hash == _token_hash(student.token)


def _minute(now: float) -> int:
    return int(now // 60)


def _client(client: str) -> str:
    return secret_hash(f"client:{client}")  # addresses are not kept


def _token_hash(token: str) -> str:
    if not isinstance(token, str) or not TOKEN_CHARS[0] <= len(token) <= TOKEN_CHARS[1]:
        raise ValueError(f"a browser token has {TOKEN_CHARS[0]} to {TOKEN_CHARS[1]} characters")
    return secret_hash(token)


def _settings_json(settings: Mapping[str, str]) -> str:
    if not isinstance(settings, Mapping) or len(settings) > MAX_SETTINGS:
        raise ValueError(f"settings: a mapping of at most {MAX_SETTINGS} names to texts")
    for name, value in settings.items():
        if not (isinstance(name, str) and isinstance(value, str)):
            raise ValueError("settings: names and values are texts, as in the link")
        if len(name) > MAX_SETTING_NAME:
            raise ValueError(f"settings: a name longer than {MAX_SETTING_NAME} characters")
    text = json.dumps(dict(settings), ensure_ascii=False, separators=(",", ":"))
    if len(text) > MAX_SETTINGS_CHARS:
        raise ValueError(f"settings: more than {MAX_SETTINGS_CHARS:,} characters")
    return text


def _parsed(text: str) -> dict[str, str]:
    """A run's settings from their JSON, a fresh dict each time: the board reads every row
    every 2 s, and most rows have not changed since the last refresh."""
    return dict(_parsed_once(text))


@functools.lru_cache(maxsize=4096)
def _parsed_once(text: str) -> dict[str, str]:
    return json.loads(text)


def _run_values(student: Student, settings: Mapping[str, str], outcome: Outcome) -> dict:
    """The columns of a run, checked: settings as JSON, numbers finite or NULL."""
    epochs = outcome.epochs_to_1pct
    if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool)):
        raise ValueError("outcome: epochs_to_1pct is a whole number or None")
    return {
        "name": student.name,  # for the row's insert only; a rename is kept
        "settings": _settings_json(settings),
        "step_size": _finite(settings.get("step_size")),
        "final_loss": _finite(outcome.final_loss),
        "epochs_to_1pct": epochs if epochs is None or epochs >= 0 else None,
        "diverged": bool(outcome.diverged),
        "distance": _finite(outcome.distance),
    }


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
