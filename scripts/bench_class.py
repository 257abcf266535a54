"""Benchmark of a class under load: the same tabs with and without a class, alternately, on one
deploy/serve_class.sh started here (its workers on a class store in a temporary folder):

    .venv/bin/python scripts/bench_class.py [--workers 2] [--sessions 200] [--think 10] \\
        [--seconds 120] [--rounds 2] [--port 8690] [--worker-base 8650]

Each round runs scripts/loadtest.py's load twice, in alternating order (round 1: without, then
with; round 2: with, then without; ...): the same sessions, seeds and pacing (--mode paced),
once on the plain link and once with --class (every tab joins one class, the board open, at
the end every student's row checked against their last run, then the board alone measured by
its worker's CPU). It prints, per run, the errors, the students' rerun p50/p95/max, the
workers' CPU (both processes, from /proc, in cores over the run), the load test's own
("client": its tabs share the machine with the workers), and for a class the board's
refresh times and CPU; then each class run's rerun p95 over the run without a class beside it
(all reruns, and those sent once every tab had loaded the page: "ld p95"), the same ratio for
every round's reruns taken together, and how far the p95 without a class moves from round to
round on its own (the machine's noise, against which a ratio is read).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [
    str(ROOT),
    str(ROOT / "scripts"),
    str(ROOT / "tests"),
    str(ROOT / "tests" / "serving"),
]

import loadtest  # noqa: E402
from classserver import class_server  # noqa: E402

KINDS = {"no class": [], "class": ["--class"], "class, no board": ["--class", "--no-board"]}


def one_run(url: str, opts, kind: str, workers: list[int]) -> dict:
    """loadtest's load with these options, as `kind` (KINDS); its summary, with the workers'
    CPU over it."""
    argv = ["--url", url, "--sessions", str(opts.sessions), "--mode", "paced"]
    argv += ["--think", str(opts.think), "--seconds", str(opts.seconds), "--reruns", "1000"]
    argv += ["--board-alone", str(opts.board_alone), "--seed", str(opts.seed)]
    args = loadtest.parser().parse_args(argv + KINDS[kind])
    args.url = loadtest.check_url(args.url)
    room = loadtest.open_class(args) if args.in_class else None
    if room is not None:
        room.alone_seconds = args.board_alone
    try:
        tally = asyncio.run(loadtest.load(args, room, tuple(workers)))
    finally:
        if room is not None:
            room.store.end(room.code, room.key)
            room.store.close()
    return {**loadtest.summary(tally, room), "times": tally.reruns}


def _number(value: float | None) -> float:
    return float("nan") if value is None else value


def warm_up(url: str, opts, workers: list[int]) -> None:
    """A few tabs on every worker first (the first runs of a fresh worker fill its caches),
    so that the first round's first kind is not the one that pays for them."""
    warm = argparse.Namespace(**{**vars(opts), "sessions": 4 * len(workers), "seconds": 20.0})
    warm.think, warm.board_alone = 1.0, 1.0
    one_run(url, warm, "class", workers)


def row(name: str, r: dict) -> str:
    rerun, steady, c = r["rows"]["rerun"], r["rows"]["rerun, all loaded"], r["class"] or {}
    board = r["rows"].get("board", {})
    cells = [
        f"{name:<19}",
        f"{r['errors']:>6}",
        f"{rerun['runs']:>7}",
        f"{rerun['p50_ms']:>7.0f}",
        f"{rerun['p95_ms']:>7.0f}",
        f"{rerun['max_ms']:>7.0f}",
        f"{steady['p95_ms']:>7.0f}",
        f"{r['cpu_cores']:>7.2f}",
        f"{r['client_cores']:>7.2f}",
        f"{board.get('runs', 0):>6}",
        f"{board.get('p95_ms', float('nan')):>8.0f}",
        f"{_number(c.get('board_cpu_ms_per_refresh')):>8.1f}",
        f"{_number(c.get('board_worker_idle_cpu_ms_per_s')):>7.1f}",
        f"{c.get('rows_settled_s', float('nan')):>7.1f}",
    ]
    return " ".join(cells)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--think", type=float, default=10.0)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--board-alone", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--no-board-too",
        action="store_true",
        help="a third run per round: the class without its board (what the board costs)",
    )
    p.add_argument("--port", type=int, default=8690, help="nginx's port")
    p.add_argument("--worker-base", type=int, default=8650, help="the first worker's port")
    opts = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-class-") as folder:
        os.environ["LR_CLASS_DB"] = f"sqlite:///{folder}/class.db"  # the workers inherit it
        worker_ports = range(opts.worker_base, opts.worker_base + opts.workers)
        with class_server(
            opts.workers, worker_ports, range(opts.port, opts.port + 1), log_dir=folder
        ) as server:
            pids = [server.pid(port) for port in server.workers]
            print(
                f"{opts.sessions} tabs, a move every {opts.think:g} s ± 50 %, "
                f"{opts.seconds:g} s; {opts.workers} workers (pids {pids}) behind nginx",
                flush=True,
            )
            warm_up(server.url, opts, pids)
            runs = []
            kinds = list(KINDS)[: 3 if opts.no_board_too else 2]
            for n in range(opts.rounds):
                for kind in kinds if n % 2 == 0 else reversed(kinds):
                    runs.append((n + 1, kind, one_run(server.url, opts, kind, pids)))
                    print(f"  round {n + 1}, {kind}: done", flush=True)
    head = (
        f"{'run':<19} {'errors':>6} {'reruns':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
        f"{'ld p95':>7} {'cores':>7} {'client':>7} {'board':>6} {'b p95 ms':>8} {'b CPU ms':>8} "
        f"{'idle/s':>7} {'rows s':>7}"
    )
    print(head)
    for n, kind, r in runs:
        print(row(f"{n} {kind}", r))
        for what, count in r["error_kinds"].items():
            print(f"    {count} x {what}")
    for n in range(1, opts.rounds + 1):
        p95 = {
            kind: [r["rows"][k]["p95_ms"] for k in ("rerun", "rerun, all loaded")]
            for m, kind, r in runs
            if m == n
        }
        for kind in p95.keys() - {"no class"}:
            print(
                f"round {n}: rerun p95, {kind} / no class: "
                f"{p95[kind][0] / p95['no class'][0]:.2f}x "
                f"(once all tabs had loaded: {p95[kind][1] / p95['no class'][1]:.2f}x)"
            )
    pooled = {k: [t for _, kind, r in runs if kind == k for t in r["times"]] for k in kinds}
    p95 = {k: 1000 * loadtest.percentile(times, 95) for k, times in pooled.items()}
    for kind in kinds[1:]:
        print(
            f"all rounds' reruns together: rerun p95, {kind} / no class: "
            f"{p95[kind]:.0f} / {p95['no class']:.0f} ms = {p95[kind] / p95['no class']:.2f}x"
        )
    alone = [r["rows"]["rerun"]["p95_ms"] for _, kind, r in runs if kind == "no class"]
    print(
        f"the machine's own spread, rerun p95 without a class from round to round: "
        f"{min(alone):.0f}-{max(alone):.0f} ms ({max(alone) / min(alone):.2f}x)"
    )


if __name__ == "__main__":
    main()
