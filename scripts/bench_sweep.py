"""Benchmark of lrcore.sweep against the blog's own loop, all timings measured in one run.

    .venv/bin/python scripts/bench_sweep.py

On the blog's data (1,000 points) and run length (50,000 epochs): (a) a step-size curve, 200 step
sizes of gd; (b) a momentum map, 100 step sizes × 100 momenta of heavy-ball momentum; (c) the
blog's `for epoch in range(...)` loop, asking the same three questions every epoch (diverged?
within 1% of the optimum? the last loss), timed on a few points of each grid and scaled to the
whole grid. Times are the best of N runs: wall time, and the process's CPU time (which other
work on a shared machine disturbs less). Prints a Markdown table.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import lrcore  # noqa: E402

EPOCHS = 50_000


def blog_loop(x, y, fit, step_size, epochs, momentum=0.0):
    """The blog post's loop, written out plainly (heavy ball: v = β·v + g; β = 0 is gd): O(n)
    NumPy work every epoch. Returns (last loss, first epoch within 1%, diverged)."""
    w, b, vw, vb = 0.0, 0.0, 0.0, 0.0
    first, limit, radius = math.inf, None, None
    with np.errstate(all="ignore"):
        for epoch in range(epochs + 1):
            r = w * x + b - y
            loss, dw, db = 0.5 * np.mean(r**2), np.mean(r * x), np.mean(r)
            dist = math.hypot(w - fit.w, b - fit.b)
            if epoch == 0:
                limit, radius = 1e12 * loss, 0.01 * dist
            if not (loss <= limit and math.isfinite(w) and math.isfinite(b)):
                return loss, first, True
            if first == math.inf and dist <= radius:
                first = epoch
            vw, vb = momentum * vw + dw, momentum * vb + db
            w, b = w - step_size * vw, b - step_size * vb
    return loss, first, False


def best(fn, repeat):
    """Best wall time of fn() over `repeat` calls, and its last result."""
    return best_of(fn, repeat)[0::2]


def best_of(fn, repeat):
    """Best wall time and best CPU time of fn() over `repeat` calls, and its last result."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu), result


def loop_per_point(blog, fit, grid, optimizer, points, repeat):
    """The loop's best time per point over `points` (row, column) of the grid (all run the
    full 50,000 epochs), and whether it found what the sweep did at each of them."""
    seconds, agree = [], True
    for i, j in points:
        eta = float(grid.step_sizes[j])
        beta = float(grid.momenta[i]) if optimizer == "momentum" else 0.0  # gd has none
        t, (loss, first, diverged) = best(
            lambda beta=beta, eta=eta: blog_loop(blog.x, blog.y, fit, eta, EPOCHS, beta), repeat
        )
        seconds.append(t)
        agree &= (
            abs(loss - grid.loss[i, j]) <= 1e-9 * abs(loss)
            and first == grid.epochs[i, j]
            and diverged == grid.diverged[i, j]
        )
    return float(np.mean(seconds)), agree


def main():
    blog = lrcore.make_data()
    fit = lrcore.closed_form(blog.x, blog.y)
    rows = []

    steps = np.geomspace(1e-6, 1e-2, 200)
    t_curve, cpu_curve, curve = best_of(
        lambda: lrcore.sweep(blog.x, blog.y, step_sizes=steps, iterations=EPOCHS), 50
    )
    momenta, map_steps = np.linspace(0, 0.99, 100), np.geomspace(1e-6, 1e-2, 100)
    t_map, cpu_map, grid = best_of(
        lambda: lrcore.sweep(
            blog.x,
            blog.y,
            step_sizes=map_steps,
            momenta=momenta,
            iterations=EPOCHS,
            optimizer="momentum",
        ),
        20,
    )

    for name, optimizer, seconds, cpu, g, target, points in (
        ("(a) gd, 200 step sizes", "gd", t_curve, cpu_curve, curve, 5e-3, [(0, 100), (0, 130)]),
        (
            "(b) momentum, 100 × 100 map",
            "momentum",
            t_map,
            cpu_map,
            grid,
            50e-3,
            [(90, 50), (99, 60)],
        ),
    ):
        n = g.loss.size
        full = int((~g.diverged).sum())  # runs the loop takes all 50,000 epochs for
        per_point, agree = loop_per_point(blog, fit, g, optimizer, points, 2)
        loop_grid = per_point * full
        rows.append(
            (
                name,
                n,
                seconds,
                cpu,
                target,
                per_point,
                loop_grid,
                full,
                loop_grid / seconds,
                "yes" if agree else "NO",
            )
        )

    print(f"Blog data ({len(blog)} points), {EPOCHS:,} epochs; best of 50 (a), 20 (b), 2 (loop).")
    print()
    print(
        "| grid | points | sweep (wall) | sweep (CPU) | target | loop per point "
        "| loop, whole grid (est.) | sweep faster by | loop = sweep on its points |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, n, seconds, cpu, target, per_point, loop_grid, full, ratio, agree in rows:
        print(
            f"| {name} | {n:,} | {seconds * 1e3:.2f} ms | {cpu * 1e3:.2f} ms "
            f"| ≤ {target * 1e3:.0f} ms "
            f"| {per_point:.3f} s | {loop_grid:,.0f} s ({full:,} full runs) "
            f"| {ratio:,.0f}× | {agree} |"
        )
    print()
    print(
        "The loop's whole-grid time counts only the runs that do not diverge (the loop stops a "
        "diverging run early), so it understates the loop and the ratio is a lower bound."
    )
    print(
        f"(a): {int(np.isfinite(curve.epochs).sum())} of 200 within 1% by epoch {EPOCHS:,}, "
        f"{int(curve.diverged.sum())} diverged. (b): {int(np.isfinite(grid.epochs).sum()):,} "
        f"within 1%, {int(grid.diverged.sum()):,} diverged."
    )


if __name__ == "__main__":
    main()
