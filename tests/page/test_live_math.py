"""The math panel's live update (issue 5, "live math"): for every frame of a run, the update
at that frame written out with its numbers, checked against an independent plain loop.

The reference is a plain per-epoch loop in the training coordinates (below), written from the
formulas of the update rules; it agrees with tests/reference.py's loops (checked here too),
and also gives what those do not return: the velocity of momentum and nesterov and adam's
m̂/(√ŝ + ε). The panel prints parameters to 10 significant digits and gradients, velocities
and steps to 6: each number read back from the text must agree with the reference to within
that rounding (ROUND), plus a small absolute allowance where floating-point cancellation,
not the formula, sets the limit (FLOOR, in units of the quantity's scale; see close()).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import lrcore
from lrcore import settings as cfg
from lrui import runs
from lrui.explain import update as math_panel
from support import reference

# --- reading the panel's text back -----------------------------------------------------------

NUMBER = re.compile(r"\(?(−?[0-9]+(?:\.[0-9]+)?(?:×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?|−?∞|NaN)\)?")
SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
SUBSCRIPT = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def value(text: str) -> float:
    """One number as the panel writes it: −1.5×10⁻⁸, (−3.2), ∞, NaN."""
    text = text.strip("()").replace("−", "-").replace("∞", "inf").replace("NaN", "nan")
    mantissa, _, power = text.partition("×10")
    return float(f"{mantissa}e{power.translate(SUPERSCRIPT)}" if power else mantissa)


def numbers(text: str) -> list[float]:
    return [value(m.group(1)) for m in NUMBER.finditer(text)]


def parse(line: str) -> dict:
    """'W₁₂ = W₁₁ − η·dW₁₁ = 49.6 − 0.0005 × (−0.01) = 49.61' as its parts: the name and
    epoch on the left, the formula, the numbers put in and the result."""
    left, formula, put_in, result = line.split(" = ")
    name = left.rstrip("₀₁₂₃₄₅₆₇₈₉")
    return {
        "name": name,
        "epoch": int(left[len(name) :].translate(SUBSCRIPT)),
        "formula": formula,
        "in": numbers(put_in),
        "out": value(result),
    }


# --- the reference: a plain loop in training coordinates ------------------------------------


def plain(optimizer: str, z, y, *, step_size, iterations, u0, c0, beta=0.9):
    """Per epoch k = 0..iterations: θ_k = (u, c), its full-data gradient g_k, the velocity v_k
    (momentum, nesterov) and the number η multiplies in the update k → k + 1 (gd: g_k;
    momentum: v_{k+1}; nesterov: g_k + β·v_{k+1}; adam: m̂/(√ŝ + ε))."""
    theta, v, m, s = np.array([u0, c0]), np.zeros(2), np.zeros(2), np.zeros(2)
    rows = []
    for t in range(1, iterations + 2):
        r = theta[0] * z + theta[1] - y
        g = np.array([np.mean(r * z), np.mean(r)])
        row = {"theta": theta, "grad": g, "v": v}
        if t > iterations:
            rows.append(row)
            break
        if optimizer == "adam":
            m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g * g
            step = (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
        else:
            v = beta * v + g
            step = {"gd": g, "momentum": v, "nesterov": g + beta * v}[optimizer]
        rows.append({**row, "step": step})
        theta = theta - step_size * step
    return rows


# --- the cases -------------------------------------------------------------------------------

DATASETS = {
    "blog": lambda: lrcore.make_data(),
    "centred x": lambda: lrcore.make_data(n=200, x_min=-5.0, x_max=5.0, noise=50.0),
    "x far from 0": lambda: lrcore.make_data(n=300, x_min=1000.0, x_max=1100.0),
}
ITERATIONS = {"gd": 2000, "momentum": 2000, "nesterov": 2000, "adam": 500, "sgd": 150}


def settings_for(optimizer: str, standardize: bool, data) -> cfg.Settings:
    """A converging run: half the stable limit for gd, momentum and nesterov; a step that
    moves adam and sgd visibly."""
    limit = lrcore.stable_step_size(
        data.x, data.y, "gd" if optimizer in ("adam", "sgd") else optimizer, 0.9, standardize
    )
    step = {"adam": 0.5, "sgd": 0.05 * limit}.get(optimizer, 0.5 * limit)
    return cfg.DEFAULTS.replace(
        optimizer=optimizer,
        standardize=standardize,
        step_size=float(f"{step:.3g}"),
        iterations=ITERATIONS[optimizer],
    )


def page_run(s: cfg.Settings, data, data_key: str) -> runs.Run:
    """The run as the page trains and splits it (data_key names the data for its cache)."""
    return runs.split(runs.train(s, data_key, data), s.iterations, "run-id")


ROUND = {10: 5e-10, 6: 5e-6}  # the largest relative rounding error of d printed digits


def close(shown: float, expected: float, digits: int, floor: float = 0.0) -> bool:
    """`shown` (printed to `digits` significant digits) agrees with `expected` to within its
    rounding, 1% more for the reference's own rounding, plus an absolute `floor`."""
    return abs(shown - expected) <= 1.01 * ROUND[digits] * abs(expected) + floor


def coords(s: cfg.Settings, data) -> tuple[float, float]:
    """(m, s) of the training coordinates z = (x − m)/s."""
    if not s.standardize:
        return 0.0, 1.0
    return float(np.mean(data.x)), float(np.std(data.x))


CASES = [(opt, std, name) for opt in ITERATIONS for std in (False, True) for name in DATASETS]


@pytest.mark.parametrize(("optimizer", "standardize", "dataset"), CASES)
def test_every_frames_update_has_the_plain_loops_numbers(optimizer, standardize, dataset):
    data = DATASETS[dataset]()
    s = settings_for(optimizer, standardize, data)
    run = page_run(s, data, dataset)
    assert not run.last.diverged
    frames = math_panel.live_lines(s, data, run)
    assert len(frames) == len(run.frames)
    m, sd = coords(s, data)
    z = (np.asarray(data.x) - m) / sd
    sgd = {"batch_size": s.batch_size, "seed": s.seed} if optimizer == "sgd" else {}
    ref_rows, _ = reference.run(
        optimizer,
        data.x,
        data.y,
        step_size=s.step_size,
        iterations=s.iterations,
        standardize=standardize,
        **sgd,
    )
    ref = np.array([(r.w * sd, r.b + r.w * m) for r in ref_rows])  # θ in training coordinates
    loop = (
        None
        if optimizer == "sgd"
        else plain(
            optimizer, z, data.y, step_size=s.step_size, iterations=s.iterations, u0=0.0, c0=0.0
        )
    )
    if loop is not None:  # the plain loop is the shared reference's loop, in other words
        np.testing.assert_allclose(
            [r["theta"] for r in loop], ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max()
        )
    optimum, *_ = np.linalg.lstsq(np.column_stack([z, np.ones_like(z)]), data.y, rcond=None)
    floors = scales(np.vstack([ref, optimum]), loop, s.step_size)
    for frame, lines in zip(run.frames, frames, strict=True):
        check_frame(s, data, run, frame.epoch, lines, ref, loop, floors)


def scales(thetas, loop, eta) -> dict:
    """Absolute allowances: 10⁻¹² of the largest |θ| on the path or at the optimum (lrcore
    computes θ as θ* plus the error, so its rounding scales with |θ*|); for gradients
    10⁻¹⁰ of the largest |g| (the loop's residuals cancel); a velocity or step read off
    (θ_k − θ_{k+1})/η carries |θ|'s rounding divided by η."""
    theta = float(np.abs(thetas).max())
    grad = max(float(np.abs(r["grad"]).max()) for r in loop) if loop else 0.0
    return {
        "theta": 1e-12 * theta,
        "grad": 1e-10 * grad,
        "step": 1e-10 * grad + 1e-12 * theta / eta,
    }


def check_frame(s, data, run, epoch, lines, ref, loop, floor) -> None:
    last = run.last.epoch
    k = epoch if epoch < last else epoch - 1
    heading, *rest = lines
    assert "\u00a0→\u00a0" in heading  # no line break inside "1,234 → 1,235"
    heading = heading.replace("\u00a0", " ")
    if epoch < last:
        assert heading == f"The update at epoch {k:,} → {k + 1:,}, where the player is:"
    else:
        assert heading.startswith(f"The player is at the run's last epoch, {epoch:,}")
        assert f"{k:,} → {epoch:,}" in heading
    parsed = [parse(line) for line in rest]
    names = ("u", "c") if s.standardize else ("W", "b")
    after = run.at(k + 1)
    for i, name in enumerate(names):
        update = next(p for p in parsed if p["name"] == name)
        assert update["epoch"] == k + 1
        theta, eta, step = update["in"]
        assert eta == s.step_size
        assert close(theta, ref[k][i], 10, floor["theta"])
        assert close(update["out"], ref[k + 1][i], 10, floor["theta"])
        # the result is the run's next state, as the page trained it
        m, sd = coords(s, data)
        page_next = (after.w * sd, after.b + after.w * m)[i]
        assert close(update["out"], page_next, 10, floor["theta"])
        # and the arithmetic on the printed numbers holds to their printed digits
        assert abs(theta - eta * step - update["out"]) <= (
            6e-6 * abs(eta * step) + 1e-9 * abs(update["out"]) + floor["theta"]
        )
        if s.optimizer == "sgd":  # the step read off the plain loop's epochs
            assert close(step, (ref[k][i] - ref[k + 1][i]) / eta, 6, floor["step"])
            continue
        assert close(step, loop[k]["step"][i], 6, floor["step"])
        if s.optimizer in ("momentum", "nesterov"):
            v = next(p for p in parsed if p["name"] == math_panel.VELOCITY[name])
            beta, v_old, grad = v["in"]
            assert v["epoch"] == k + 1 and beta == s.momentum
            assert close(grad, loop[k]["grad"][i], 6, floor["grad"])
            assert close(v_old, loop[k]["v"][i], 6, floor["step"])
            assert close(v["out"], loop[k + 1]["v"][i], 6, floor["step"])
        elif s.optimizer == "gd":
            assert close(step, loop[k]["grad"][i], 6, floor["grad"])
    if s.standardize:  # back in the data's units: the run's next W and b
        w = next(p for p in parsed if p["name"] == "W")
        b = next(p for p in parsed if p["name"] == "b")
        assert close(w["out"], after.w, 10) and close(b["out"], after.b, 10, floor["theta"])


# --- a run that diverges, and one whose last update was not kept ------------------------------


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
def test_a_diverged_run_says_so_and_its_last_update_has_the_plain_loops_numbers(optimizer):
    """Just above the limit on the blog's data: the run diverges and stops at some epoch d;
    the last frame shows the update d − 1 → d (d − 2, for the velocity, is recomputed)."""
    data = lrcore.make_data()
    limit = lrcore.stable_step_size(data.x, data.y, optimizer, 0.9)
    s = cfg.DEFAULTS.replace(optimizer=optimizer, step_size=float(f"{1.01 * limit:.4g}"))
    run = page_run(s, data, "blog")
    assert run.last.diverged
    d = run.last.epoch
    assert d - 2 not in {state.epoch for state in run.states}  # so it must be recomputed
    frames = math_panel.live_lines(s, data, run)
    assert f"(the run diverged at epoch {d:,} and stopped)" in frames[-1][0]
    assert all("diverged" not in lines[0] for lines in frames[:-2])
    ref_rows, diverged = reference.run(
        optimizer, data.x, data.y, step_size=s.step_size, iterations=d
    )
    ref = np.array([(r.w, r.b) for r in ref_rows])
    loop = plain(optimizer, data.x, data.y, step_size=s.step_size, iterations=d, u0=0.0, c0=0.0)
    floors = scales(ref, loop, s.step_size)
    check_frame(s, data, run, d, frames[-1], ref, loop, floors)


def test_sgd_diverging_says_so_and_a_missing_update_is_explained():
    data = lrcore.make_data()
    s = cfg.DEFAULTS.replace(optimizer="sgd", step_size=0.002, iterations=100)
    run = page_run(s, data, "blog")
    assert run.last.diverged
    d = run.last.epoch
    frames = math_panel.live_lines(s, data, run)
    heading, *lines = frames[-1]
    assert f"{d - 1:,}\u00a0→\u00a0{d:,} (the run diverged at epoch {d:,} and stopped)" in heading
    assert [parse(line)["out"] for line in lines] == pytest.approx(
        [run.last.w, run.last.b], rel=1e-9
    )
    # the same run without the state before its last: its last update cannot be written out
    kept = [state for state in run.states if state.epoch != d - 1]
    short = runs.split(kept, s.iterations, "run-id")
    assert math_panel.live_lines(s, data, short)[-1] == [
        f"The run stopped at epoch {d:,}, where it diverged: no update to show."
    ]


# --- how numbers are written ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("v", "sig", "operand", "text"),
    [
        (49.60090610, 10, False, "49.6009061"),
        (-0.0123, 6, True, "(−0.0123)"),
        (-0.0123, 6, False, "−0.0123"),
        (1.5e-8, 6, False, "1.5×10⁻⁸"),
        (-2.73777e11, 6, True, "(−2.73777×10¹¹)"),
        (0.0005, 10, False, "0.0005"),
        (math.inf, 10, False, "∞"),
        (-math.inf, 6, True, "(−∞)"),
        (math.nan, 6, False, "NaN"),
    ],
)
def test_numbers_are_written_as_a_person_reads_them_and_read_back(v, sig, operand, text):
    assert math_panel.num(v, sig, operand) == text
    back = value(text)
    assert back == pytest.approx(v, rel=ROUND[sig]) or (math.isnan(v) and math.isnan(back))
