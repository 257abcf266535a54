"""Benchmark of the training core against the blog's own loop, all ratios measured in one run.

    .venv/bin/python scripts/bench_core.py

Prints a Markdown table (it goes into README.md as is).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import lrcore  # noqa: E402


def blog_loop(x, y, step_size, epochs, every):
    """The blog post's loop, written out plainly: O(n) numpy work every epoch."""
    w, b, out = 0.0, 0.0, []
    for epoch in range(epochs + 1):
        r = w * x + b - y
        loss, dw, db = 0.5 * np.mean(r**2), np.mean(r * x), np.mean(r)
        if epoch % every == 0 or epoch == epochs:
            out.append((epoch, w, b, loss, dw, db))
        w, b = w - step_size * dw, b - step_size * db
    return out


def timed(fn, repeat):
    """Median wall time of fn() over `repeat` calls, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def paired(f, g, repeat):
    """Median wall times of f() and g(), called alternately `repeat` times each (so that a
    change in the machine's load falls on both)."""
    times = ([], [])
    for _ in range(repeat):
        for fn, out in zip((f, g), times, strict=True):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def core(x, y, **kw):
    return lambda: [s[:6] for s in lrcore.train(x, y, **kw)]


def main():
    blog = lrcore.make_data()
    big = lrcore.make_data(n=1_000_000)
    rows = []

    t_loop, ref = timed(lambda: blog_loop(blog.x, blog.y, 0.0005, 50_000, 250), 3)
    t_core, got = timed(core(blog.x, blog.y, step_size=0.0005, iterations=50_000, every=250), 50)
    ref, got = np.array(ref), np.array(got)
    scale = np.array([1, 1, 1, 1, abs(ref[0, 4]), abs(ref[0, 5])])
    rel = np.abs(got - ref) / np.where(np.arange(6) < 4, np.abs(ref).clip(1e-300), scale)
    rows.append(
        (
            "blog run: 1,000 points × 50,000 epochs, every 250 (gd)",
            t_loop,
            t_core,
            f"{t_loop / t_core:,.0f}× faster (target ≥ 1,000×)",
        )
    )

    t_small, _ = timed(lambda: blog_loop(blog.x, blog.y, 0.0005, 1_000, 1_000), 5)
    t_big, _ = timed(core(big.x, big.y, step_size=1e-4, iterations=1_000_000, every=1000), 5)
    rows.append(
        (
            "10^6 points × 10^6 epochs, every 1,000 (gd) vs blog loop 1,000 × 1,000",
            t_small,
            t_big,
            f"{t_big / t_small:.2f}× the small loop's time (target ≤ 1)",
        )
    )

    for opt in ("momentum", "nesterov"):
        t_ref, _ = timed(lambda: blog_loop(blog.x, blog.y, 0.0005, 50_000, 250), 1)
        t_opt, _ = timed(
            core(blog.x, blog.y, step_size=0.0002, iterations=50_000, every=250, optimizer=opt), 20
        )
        rows.append(
            (
                f"{opt}: 1,000 points × 50,000 epochs, every 250",
                t_ref,
                t_opt,
                f"{t_ref / t_opt:,.0f}× faster than the gd loop",
            )
        )

    t_adam, _ = timed(
        core(blog.x, blog.y, step_size=1.0, iterations=100_000, every=1000, optimizer="adam"), 3
    )
    rows.append(
        (
            "adam: 100,000 epochs, every 1,000 (any n: O(1) per step)",
            None,
            t_adam,
            f"{t_adam / 100_000 * 1e6:.2f} µs per epoch",
        )
    )
    t_sgd, _ = timed(
        core(
            blog.x,
            blog.y,
            step_size=1e-4,
            iterations=2_000,
            every=100,
            optimizer="sgd",
            batch_size=32,
        ),
        3,
    )
    rows.append(
        (
            "sgd: 1,000 points, batch 32, 2,000 epochs",
            None,
            t_sgd,
            f"{t_sgd / 2_000 * 1e6:.1f} µs per epoch",
        )
    )

    for opt, step in (("gd", 0.0005), ("momentum", 0.0002), ("nesterov", 0.0002)):
        run = dict(step_size=step, iterations=50_000, every=250, optimizer=opt)
        t_train, t_dir = paired(
            core(blog.x, blog.y, **run),
            lambda run=run: lrcore.directions(blog.x, blog.y, **run),
            200,
        )
        rows.append(
            (
                f"directions(), {opt} at η = {step:g}: 50,000 epochs, every 250",
                None,
                t_dir,
                f"{t_dir / t_train:.2f}× the train() call it mirrors ({t_train * 1e3:.3f} ms; "
                "target ≤ 1)",
            )
        )

    print("| case | plain loop | lrcore | result |")
    print("|---|---:|---:|---|")
    for name, a, b, note in rows:
        loop = f"{a * 1e3:.2f} ms" if a is not None else "—"
        print(f"| {name} | {loop} | {b * 1e3:.3f} ms | {note} |")
    print()
    print(
        f"Largest deviation from the plain loop over the blog run's {len(ref)} states: "
        f"w {rel[:, 1].max():.1e}, b {rel[:, 2].max():.1e}, loss {rel[:, 3].max():.1e} "
        f"(relative); dw {rel[:, 4].max():.1e}, db {rel[:, 5].max():.1e} "
        f"(of the starting gradient). Target ≤ 1e-9."
    )


if __name__ == "__main__":
    main()
