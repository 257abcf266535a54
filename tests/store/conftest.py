"""The class store's tests run twice: on a real SQLite file and on a real PostgreSQL server
(one server for the session, a fresh database for each test). `outage` stops the store under a
test and brings it back."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from lrclass import Store
from support import postgres

START = 1_800_000_000.0  # a fixed "now" for the stores' clocks (2027-01-15)
_databases = itertools.count()


class Clock:
    """A clock the test moves: store(clock=...) reads it instead of the time."""

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def postgres_server():
    with postgres.server(durable=False) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A URL of an empty database: a SQLite file in its own folder, or a new PostgreSQL
    database on the session's server."""
    if request.param == "sqlite":
        folder = tmp_path / "db"
        folder.mkdir()
        return f"sqlite:///{folder / 'class.db'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"t{os.getpid()}_{next(_databases)}")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def stores(db_url, clock):
    """make() -> a new Store on the test's database (as another worker would open it); all are
    closed at the end."""
    made = []

    def make(**kwargs):
        made.append(Store(db_url, clock=kwargs.pop("clock", clock), **kwargs))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(stores):
    return stores()


@pytest.fixture
def raw(db_url):
    """rows(sql) -> the rows of a plain SQL query on the test's database, bypassing the store."""
    engine = create_engine(db_url)

    def rows(sql: str, **params):
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    yield rows
    engine.dispose()


@dataclass
class Outage:
    """stop() makes the database unreachable, start() brings it back: PostgreSQL stopped and
    started; the SQLite file's folder moved away and back (as root, permissions would not stop
    a write; a moved folder stops every fresh open, and the store opens SQLite afresh per call)."""

    db_url: str
    server: postgres.Server | None
    down: bool = False

    def stop(self) -> None:
        self.down = True
        if self.server:
            self.server.stop()
        else:
            self._folder.rename(self._away)

    def start(self) -> None:
        self.down = False
        if self.server:
            self.server.start()
        else:
            self._away.rename(self._folder)

    @property
    def _folder(self) -> Path:
        return Path(self.db_url.removeprefix("sqlite:///")).parent

    @property
    def _away(self) -> Path:
        return self._folder.with_name("moved-away")


@pytest.fixture
def outage(request, db_url):
    server = request.getfixturevalue("postgres_server") if db_url.startswith("postgres") else None
    out = Outage(db_url, server)
    yield out
    if out.down:  # the session's server must be up for the next test
        out.start()
