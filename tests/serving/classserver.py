"""deploy/serve_class.sh as a test fixture: start it on free loopback ports, ask its supervisord
for the workers' process ids, read their memory, and stop everything it started."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.browser import ROOT


@dataclass
class ClassServer:
    url: str  # nginx's http://127.0.0.1:PORT/
    proc: subprocess.Popen  # serve_class.sh
    workers: list[int]  # the workers' ports
    port: int  # nginx's port
    tmp: Path  # the script's temporary directory (logs, configs, supervisord's socket)

    def ctl(self, *args: str) -> str:
        """supervisorctl on this server's supervisord."""
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", self.tmp / "supervisord.conf"]
            + list(args),
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout

    def pid(self, worker: int) -> int:
        """The process id of the worker on port `worker` (0 while it is not running)."""
        text = self.ctl("pid", f"worker:worker-{worker}").strip()
        return int(text) if text.isdigit() else 0  # (never pass 0 to os.kill: it is our group)

    def worker_url(self, worker: int) -> str:
        return f"http://127.0.0.1:{worker}/"


def rss_mb(pid: int) -> float:
    """A process's resident memory (VmRSS in /proc/PID/status), in MB (10**6 bytes)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1)) * 1024 / 1e6


def healthy(url: str) -> bool:
    """True if url's /_stcore/health answers ok now."""
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(url + "_stcore/health", timeout=2) as response,
    ):
        return response.read() == b"ok"
    return False


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_ports(ports: range, count: int) -> int:
    """The first of `count` consecutive ports in `ports` that nothing listens on."""
    for start in range(ports.start, ports.stop - count + 1):
        if not any(listening(p) for p in range(start, start + count)):
            return start
    raise RuntimeError(f"no {count} free ports in {ports.start}-{ports.stop - 1}")


@contextlib.contextmanager
def class_server(
    workers: int, worker_ports: range, nginx_ports: range, page: Path | None = None, log_dir=None
) -> Iterator[ClassServer]:
    """serve_class.sh WORKERS PORT (on app.py, or `page`), stopped (TERM, then its group
    KILLed if it has not stopped within 30 s) on exit."""
    base, port = free_ports(worker_ports, workers), free_ports(nginx_ports, 1)
    env = {**os.environ, "LR_WORKER_BASE": str(base)}
    if page is not None:
        env["LR_APP"] = str(page)
    log = Path(log_dir or "/tmp") / f"serve_class-{port}.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [str(ROOT / "deploy" / "serve_class.sh"), str(workers), str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    try:
        ready = proc.stdout.readline()  # one line once every server answers, or EOF
        assert "behind" in ready, f"serve_class.sh did not start: {log.read_text()}"
        tmp = Path(re.search(r"logs in (\S+)\)", ready).group(1))
        yield ClassServer(
            f"http://127.0.0.1:{port}/", proc, list(range(base, base + workers)), port, tmp
        )
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        proc.stdout.close()


def wait_until(predicate, timeout: float, step: float = 0.05) -> float:
    """Poll predicate until it is true; the seconds that took (TimeoutError after timeout)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not true within {timeout} s")
        time.sleep(step)
    return time.monotonic() - start
