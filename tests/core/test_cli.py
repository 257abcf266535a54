"""python -m lrcore, run as a user runs it (a subprocess in the repository's root)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrcore
from lrcore import settings as cfg
from lrcore.cli import DIVERGED_STATUS
from lrcore.explain import rates
from support import reference

ROOT = Path(__file__).resolve().parents[2]
LOG_LINE = re.compile(r"Epoch:(\d+), W:(\S+), b:(\S+), loss:(\S+), dW:(\S+), db:(\S+)")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lrcore", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def log_states(stdout: str) -> tuple[list[lrcore.State], str]:
    """The blog-style lines as states (diverged unknown: False), and the stats line (the verdict
    after it is verdict_line's)."""
    *lines, stats, _ = stdout.splitlines()
    states = []
    for line in lines:
        match = LOG_LINE.fullmatch(line)
        assert match, line
        epoch, *values = match.groups()
        states.append(lrcore.State(int(epoch), *map(float, values)))
    return states, stats


def verdict_line(stdout: str) -> str:
    """The text log's last line: the run's verdict."""
    return stdout.splitlines()[-1]


def strict_json(line: str) -> dict:
    """A JSON object as any JSON parser reads it: NaN and Infinity are not JSON."""

    def refuse(word):
        raise ValueError(f"{word} is not JSON")

    return json.loads(line, parse_constant=refuse)


def train_like_cli(s: cfg.Settings, every: int) -> list[lrcore.State]:
    data = lrcore.make_data(
        n=s.n,
        slope=s.slope,
        intercept=s.intercept,
        noise=s.noise,
        x_min=s.x_min,
        x_max=s.x_max,
        seed=s.seed,
    )
    return list(
        lrcore.train(
            data.x,
            data.y,
            step_size=s.step_size,
            iterations=s.iterations,
            optimizer=s.optimizer,
            w0=s.w0,
            b0=s.b0,
            every=every,
            batch_size=s.batch_size,
            momentum=s.momentum,
            standardize=s.standardize,
            seed=s.seed,
        )
    )


def test_default_run_prints_the_blogs_log(blog_reference):
    """No flags: the blog's run, a line every 5,000 epochs, numbers as the naive loop gives
    them (1e-9 relative for W, b, loss; 1e-9 of the starting gradient for dW, db)."""
    result = cli()
    assert result.returncode == 0 and result.stderr == ""
    states, stats = log_states(result.stdout)
    assert [s.epoch for s in states] == list(range(0, 50_001, 5000))
    g0 = math.hypot(blog_reference[0].dw, blog_reference[0].db)
    for s in states:
        want = blog_reference[s.epoch]
        assert (s.w, s.b, s.loss) == pytest.approx((want.w, want.b, want.loss), rel=1e-9)
        assert (s.dw, s.db) == pytest.approx((want.dw, want.db), rel=0, abs=1e-9 * g0)
    assert stats.startswith("Training Stats")
    assert str(states[-1].w) in stats and str(states[-1].loss) in stats


def test_the_log_ends_with_the_verdict_the_plain_loop_gives(blog, blog_reference):
    """The blog's run: converged, at the plain loop's first epoch within 1% of numpy's least
    squares (found by brute force over its 50,000 epochs)."""
    (w, b), *_ = np.linalg.lstsq(np.stack([blog.x, np.ones_like(blog.x)], 1), blog.y, rcond=None)
    dist = [math.hypot(row.w - w, row.b - b) for row in blog_reference]
    first = next(k for k, d in enumerate(dist) if k and d <= 0.01 * dist[0])
    result = cli()
    assert result.returncode == 0
    assert verdict_line(result.stdout) == (
        f"Converged: within 1% of the least-squares answer at epoch {first:,}."
    )


def test_a_run_not_yet_converged_says_how_far_and_exits_0(blog):
    """1,000 epochs at step 1e-4: the share of the starting distance still left (the plain
    loop's), and rates()'s predicted epochs in all."""
    rows, _ = reference.run("gd", blog.x, blog.y, step_size=1e-4, iterations=1000)
    fit = lrcore.closed_form(blog.x, blog.y)
    dist = [math.hypot(row.w - fit.w, row.b - fit.b) for row in (rows[0], rows[-1])]
    predicted = math.ceil(rates(blog.x, blog.y, 1e-4).epochs_to_1pct)
    result = cli("--step_size", "1e-4", "--iterations", "1000")
    assert result.returncode == 0
    assert verdict_line(result.stdout) == (
        f"Not yet converged: after 1,000 epochs the run is still {100 * dist[1] / dist[0]:.0f}% "
        f"of its starting distance from the answer; the rate predicts {predicted:,} epochs in all."
    )


def test_help_documents_the_verdict_and_the_exit_statuses():
    result = cli("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "last line is the run's verdict" in text
    assert f"Exit status: 0 converged or not yet, {DIVERGED_STATUS} diverged, 2 usage error" in text


def test_every_flag_is_a_setting_and_jsonl_holds_each_state_exactly():
    s = cfg.Settings(
        n=200,
        noise=10.0,
        slope=2.0,
        intercept=5.0,
        x_min=-1.0,
        x_max=1.5,
        seed=3,
        optimizer="nesterov",
        step_size=0.05,
        iterations=40,
        momentum=0.5,
        w0=1.0,
        b0=-2.0,
        standardize=True,
        batch_size=7,
    )
    flags = [
        f"--{name}={value}"
        for name, value in cfg.to_params(s).items()
        if cfg.FIELDS[name].metadata["group"] != "view"
    ]
    result = cli(*flags, "--every", "6", "--format", "jsonl")
    assert result.returncode == 0 and result.stderr == ""
    objects = [strict_json(line) for line in result.stdout.splitlines()]
    assert all(list(obj) == list(lrcore.State._fields) for obj in objects)
    assert [lrcore.State(**obj) for obj in objects] == train_like_cli(s, every=6)


def test_sgd_flags_reach_the_run():
    s = cfg.Settings(optimizer="sgd", n=300, batch_size=13, seed=9, step_size=1e-4, iterations=30)
    result = cli(
        "--optimizer",
        "sgd",
        "--n",
        "300",
        "--batch_size",
        "13",
        "--seed",
        "9",
        "--step_size",
        "1e-4",
        "--iterations",
        "30",
        "--format",
        "jsonl",
    )
    assert result.returncode == 0
    states = [lrcore.State(**strict_json(line)) for line in result.stdout.splitlines()]
    assert states == train_like_cli(s, every=3)


def test_text_log_every_tenth_of_the_run_or_every_n():
    result = cli("--iterations", "1000", "--optimizer", "adam", "--step_size", "0.5")
    states, stats = log_states(result.stdout)
    assert [s.epoch for s in states] == list(range(0, 1001, 100))
    assert stats.startswith("Training Stats")
    result = cli("--iterations", "100", "--every", "30")
    assert [s.epoch for s in log_states(result.stdout)[0]] == [0, 30, 60, 90, 100]


@pytest.mark.parametrize(
    "args",
    [
        ["--step_size", "0.01", "--iterations", "1000"],  # gd far past its limit
        [
            "--optimizer",
            "sgd",
            "--step_size",
            "1",
            "--n",
            "1600",
            "--iterations",
            "10",
        ],  # overflows
    ],
)
def test_a_diverging_run_says_so_without_a_traceback(args):
    """The stats line and the verdict say where it diverged; the exit status is its own, with
    the text log and with JSON lines."""
    text = cli(*args)
    assert "Traceback" not in text.stderr
    states, stats = log_states(text.stdout)
    assert stats.startswith("Training Stats") and f"diverged at epoch {states[-1].epoch}" in stats
    assert verdict_line(text.stdout) == f"Diverged at epoch {states[-1].epoch:,}."
    assert text.returncode == DIVERGED_STATUS == 3
    jsonl = cli(*args, "--format", "jsonl")
    assert "Traceback" not in jsonl.stderr and jsonl.returncode == DIVERGED_STATUS
    objects = [strict_json(line) for line in jsonl.stdout.splitlines()]
    assert objects[-1]["diverged"] is True and objects[-1]["epoch"] == states[-1].epoch
    assert not any(obj["diverged"] for obj in objects[:-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus", "1"],
        ["--step_size", "abc"],
        ["--step_size", "0"],
        ["--step_size", "5"],
        ["--step_size", "nan"],
        ["--optimizer", "rmsprop"],
        ["--n", "1"],
        ["--iterations", "-5"],
        ["--iterations", "2.5"],
        ["--standardize", "maybe"],
        ["--x_min", "5", "--x_max", "1"],
        ["--loss_scale", "linear"],  # a view setting, not a flag
        ["--format", "xml"],
        ["--every", "abc"],
        ["--every", "0"],
        ["--every", "-3"],
        ["--step_size"],
    ],
)
def test_bad_flags_exit_2_with_one_line_on_stderr(args):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
