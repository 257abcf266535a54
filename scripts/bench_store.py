"""Benchmark of the class store on a SQLite file and on a PostgreSQL server (started here, with
fsync on), in one run so the two can be compared:

    .venv/bin/python scripts/bench_store.py [--students 200] [--refreshes 50] [--writes 2000]

- board refresh: what the board does every 2 s at N students (board() checks the key, then
  students(), counts() and ranked()), median wall time and this process's CPU time; for
  PostgreSQL also the server's CPU time (its processes, from /proc), a mean per refresh;
- record(): runs written one after another (each a real upsert: the clock moves a second per
  call, so none waits), writes per second and this process's CPU time per write.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lrclass import Outcome, Store, results  # noqa: E402
from support import postgres  # noqa: E402

SETTINGS = {"dataset": "blog", "n": "1000", "optimizer": "gd", "step_size": "0.0005",
            "iterations": "50000", "lesson": "limit"}  # fmt: skip


def server_cpu(server: postgres.Server | None) -> float:
    """CPU seconds used so far by the PostgreSQL server's processes (0 for SQLite)."""
    if server is None:
        return 0.0
    postmaster = (server.folder / "pg" / "postmaster.pid").read_text().split()[0]
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == postmaster or fields[1] == postmaster:  # the server, its children
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def bench(
    url: str, students: int, refreshes: int, writes: int, server: postgres.Server | None = None
) -> dict[str, float]:
    seconds = itertools.count()
    store = Store(url, clock=lambda: 1.8e9 + next(seconds))
    code, key = store.create_class(SETTINGS)
    joined = [store.join(code, f"bench-token-{n:06d}-xxxxxxxxxxxxxxxx") for n in range(students)]
    for n, student in enumerate(joined):
        step = f"{0.0001 * (1 + n % 40):.4f}"
        outcome = Outcome(44000.0 + n, 1000 + n if n % 5 else None, n % 9 == 0, 0.5)
        store.record(student, {**SETTINGS, "step_size": step}, outcome)
    walls, cpus = [], []
    db_cpu = server_cpu(server)
    for _ in range(refreshes):
        wall, cpu = time.perf_counter(), time.process_time()
        info = store.board(code, key)
        rows = store.students(code)
        results.counts(rows, 1.8e9)
        results.ranked(rows, "largest_step")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert info is not None and len(rows) == students
    db_cpu = (server_cpu(server) - db_cpu) / refreshes
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(writes):
        student = joined[n % students]
        store.record(student, {**SETTINGS, "seed": str(n)}, Outcome(1.0, n, False, 0.1))
    rate = writes / (time.perf_counter() - start)
    write_cpu = (time.process_time() - cpu) / writes
    store.close()
    cpu = statistics.median(cpus)
    return {
        "wall": statistics.median(walls),
        "cpu": cpu,
        "db": db_cpu,
        "rate": rate,
        "write_cpu": write_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--refreshes", type=int, default=50)
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    sizes = (args.students, args.refreshes, args.writes)
    with tempfile.TemporaryDirectory() as folder, postgres.server() as server:
        found = {
            "sqlite": bench(f"sqlite:///{folder}/class.db", *sizes),
            "postgresql": bench(server.create_database("bench"), *sizes, server),
        }
    print(f"{args.students} students; median of {args.refreshes} board refreshes")
    print(
        f"{'store':<12}{'refresh ms':>12}{'CPU ms':>10}{'+ server':>10}{'record()/s':>12}"
        f"{'CPU ms':>8}"
    )
    for name, f in found.items():
        print(
            f"{name:<12}{1e3 * f['wall']:>12.2f}{1e3 * f['cpu']:>10.2f}{1e3 * f['db']:>10.2f}"
            f"{f['rate']:>12.0f}{1e3 * f['write_cpu']:>8.2f}"
        )
    pg, lite = found["postgresql"], found["sqlite"]
    print(
        f"{'pg/sqlite':<12}{pg['wall'] / lite['wall']:>11.2f}x{pg['cpu'] / lite['cpu']:>9.2f}x"
        f"{'':>10}{pg['rate'] / lite['rate']:>11.2f}x"
    )


if __name__ == "__main__":
    main()
