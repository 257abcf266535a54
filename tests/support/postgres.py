"""A throwaway PostgreSQL 15 server for the store's tests and benchmark (Debian's initdb and
pg_ctl; `make postgres` installs them). It listens on 127.0.0.1 and a free port, keeps its files
and socket in a temporary folder, and runs as the `postgres` user when we are root (initdb
refuses root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    folder: Path
    port: int
    durable: bool = True  # False: no fsync (a test's throwaway data need not survive a crash)

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def pg_ctl(self, *args: str) -> None:
        _run(str(BIN / "pg_ctl"), "-D", str(self.folder / "pg"), *args)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self.pg_ctl("-o", options, "-l", str(self.folder / "pg.log"), "-w", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """The server hangs inside the block: its postmaster and every backend stopped with
        SIGSTOP (connections stay open, nothing answers), continued after it."""
        postmaster = int((self.folder / "pg" / "postmaster.pid").read_text().split()[0])
        processes = [postmaster, *_children(postmaster)]
        for pid in processes:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in processes:
                os.kill(pid, signal.SIGCONT)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        _run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q", "-c",
             f'CREATE DATABASE "{name}"')  # fmt: skip
        return self.database_url(name)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _run(*command: str) -> None:
    if os.geteuid() == 0:
        command = ("runuser", "-u", "postgres", "--", *command)
    subprocess.run(command, check=True, capture_output=True, timeout=60, cwd="/")


@contextlib.contextmanager
def server(durable: bool = True, port: int | None = None) -> Iterator[Server]:
    """A started server (on `port`, else a free one); stopped and its folder removed at the
    end."""
    if not (BIN / "initdb").is_file():
        raise RuntimeError(f"no PostgreSQL 15 in {BIN}: run `make postgres`")
    folder = Path(tempfile.mkdtemp(prefix="lr-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    pg = Server(folder, port or free_port(), durable)
    try:
        _run(str(BIN / "initdb"), "-D", str(folder / "pg"), "-A", "trust", "-U", "postgres")
        pg.start()
        try:
            yield pg
        finally:
            pg.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
