"""python -m lrcore sweep: a grid of runs as CSV or JSON lines. Run in-process through
lrcore.cli.main (capsys), and once as a user runs it (a subprocess in the repository's root).
Every row is checked against lrcore.sweep on the same data, exactly (the same computation)."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrcore
from lrcore.cli import SWEEP_COLUMNS, main
from lrcore.csvdata import load_csv

ROOT = Path(__file__).resolve().parents[2]
NO_MOMENTUM = ("step_size", "loss", "epochs", "rate", "diverged")  # gd, adam, sgd: β unread


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["sweep", *args])
    out, err = capsys.readouterr()
    return code, out, err


def csv_rows(text: str, columns=NO_MOMENTUM) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == columns
    return list(reader)


def strict_json(line: str) -> dict:
    """A JSON object as any JSON parser reads it: NaN and Infinity are not JSON."""

    def refuse(word):
        raise ValueError(f"{word} is not JSON")

    return json.loads(line, parse_constant=refuse)


def expected(grid: lrcore.Sweep) -> list[tuple]:
    """(momentum, step_size, loss, epochs, rate, diverged) per grid point, momentum by momentum."""
    return [
        (beta, eta, grid.loss[i, j], grid.epochs[i, j], grid.rate[i, j], grid.diverged[i, j])
        for i, beta in enumerate(grid.momenta)
        for j, eta in enumerate(grid.step_sizes)
    ]


def same_csv_row(row: dict, want: tuple) -> bool:
    """Every number as repr wrote it (so exactly), epochs a whole number or inf; the momentum
    only if the row has it."""
    want = dict(zip(SWEEP_COLUMNS, want, strict=True))
    numbers = [k for k in SWEEP_COLUMNS[:5] if k in row]
    whole = row["epochs"] == "inf" or row["epochs"].isdigit()
    return (
        whole
        and row["diverged"] == ("true" if want["diverged"] else "false")
        and all(
            float(row[k]) == want[k] or (math.isnan(float(row[k])) and math.isnan(want[k]))
            for k in numbers
        )
    )


def test_step_sizes_on_a_log_scale_one_row_each(capsys, blog):
    """The blog's data, 200 step sizes from 1e-6 to 1e-2 on a log scale, gd for 50,000 epochs
    (the defaults): a header, then one row per step size, with no momentum column (gd does not
    read β)."""
    code, out, err = run(capsys, "--step_size", "1e-6:1e-2:200")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "step_size,loss,epochs,rate,diverged"
    rows = csv_rows(out)
    grid = lrcore.sweep(blog.x, blog.y, step_sizes=np.geomspace(1e-6, 1e-2, 200), iterations=50_000)
    assert len(rows) == 200
    assert all(same_csv_row(r, w) for r, w in zip(rows, expected(grid), strict=True))
    assert any(r["diverged"] == "true" for r in rows) and any(r["epochs"] != "inf" for r in rows)


def test_momenta_on_a_linear_scale_and_jsonl(capsys, blog):
    """--momentum lo:hi:count is linear; rows go momentum by momentum, step size by step size;
    JSON lines hold inf and nan as null."""
    code, out, err = run(
        capsys,
        "--step_size",
        "1e-5:1e-3:7",
        "--momentum",
        "0:0.99:4",
        "--optimizer",
        "momentum",
        "--iterations",
        "3000",
        "--format",
        "jsonl",
    )
    assert code == 0 and err == ""
    objects = [strict_json(line) for line in out.splitlines()]
    grid = lrcore.sweep(
        blog.x,
        blog.y,
        step_sizes=np.geomspace(1e-5, 1e-3, 7),
        momenta=np.linspace(0, 0.99, 4),
        iterations=3000,
        optimizer="momentum",
    )
    assert len(objects) == 28 and all(tuple(obj) == SWEEP_COLUMNS for obj in objects)
    for obj, want in zip(objects, expected(grid), strict=True):
        as_json = [None if not math.isfinite(v) else v for v in map(float, want[:5])]
        assert [obj[k] for k in SWEEP_COLUMNS[:5]] == as_json
        assert obj["diverged"] is bool(want[5])
        assert obj["epochs"] is None or isinstance(obj["epochs"], int)
    assert [obj["momentum"] for obj in objects[::7]] == [0.0, 0.33, 0.66, 0.99]
    assert any(obj["epochs"] is None for obj in objects)
    assert any(obj["epochs"] is not None for obj in objects)


def test_training_and_data_flags_reach_the_runs(capsys):
    flags = [
        "--n",
        "80",
        "--noise",
        "2",
        "--slope",
        "-3",
        "--intercept",
        "1",
        "--x_min",
        "-2",
        "--x_max",
        "2",
        "--seed",
        "5",
        "--optimizer",
        "nesterov",
        "--iterations",
        "200",
        "--w0",
        "4",
        "--b0",
        "-3",
        "--standardize",
        "true",
    ]
    code, out, _ = run(capsys, "--step_size", "0.01:1.5:5", "--momentum", "0.5", *flags)
    data = lrcore.make_data(
        n=80, noise=2.0, slope=-3.0, intercept=1.0, x_min=-2.0, x_max=2.0, seed=5
    )
    grid = lrcore.sweep(
        data.x,
        data.y,
        step_sizes=np.geomspace(0.01, 1.5, 5),
        momenta=[0.5],
        iterations=200,
        optimizer="nesterov",
        w0=4.0,
        b0=-3.0,
        standardize=True,
    )
    rows = csv_rows(out, SWEEP_COLUMNS)
    assert code == 0 and len(rows) == 5
    assert all(same_csv_row(r, w) for r, w in zip(rows, expected(grid), strict=True))


def test_a_csv_file_and_adam(capsys, tmp_path):
    """--data FILE.csv --x_col --y_col as the single run reads it; adam's rate is nan (null)."""
    raw = b"name,hours,score\nann,1,52\nbob,2,61\ndee,5,77\neve,7,83\nfay,8,84\n"
    path = tmp_path / "scores.csv"
    path.write_bytes(raw)
    args = [
        "--data",
        str(path),
        "--x_col",
        "hours",
        "--y_col",
        "score",
        "--optimizer",
        "adam",
        "--step_size",
        "0.1:2:3",
        "--iterations",
        "150",
    ]
    code, out, err = run(capsys, *args)
    data = load_csv(raw, "hours", "score").data
    grid = lrcore.sweep(
        data.x, data.y, step_sizes=np.geomspace(0.1, 2, 3), iterations=150, optimizer="adam"
    )
    rows = csv_rows(out)
    assert code == 0 and err == ""
    assert all(same_csv_row(r, w) for r, w in zip(rows, expected(grid), strict=True))
    assert [r["rate"] for r in rows] == ["nan"] * 3
    code, out, _ = run(capsys, *args, "--format", "jsonl")
    objects = [strict_json(line) for line in out.splitlines()]
    assert [obj["rate"] for obj in objects] == [None] * 3
    assert all(tuple(obj) == NO_MOMENTUM for obj in objects)


def test_one_number_is_a_range_of_one(capsys):
    code, out, _ = run(
        capsys,
        "--step_size",
        "0.0005",
        "--momentum",
        "0.3",
        "--iterations",
        "50",
        "--optimizer",
        "nesterov",
    )
    rows = csv_rows(out, SWEEP_COLUMNS)
    assert code == 0 and len(rows) == 1
    assert (rows[0]["momentum"], rows[0]["step_size"]) == ("0.3", "0.0005")


@pytest.mark.parametrize(
    "args",
    [
        ["--step_size", "1e-2:1e-6:5"],  # hi < lo
        ["--step_size", "1e-6:1e-2:0"],  # count < 1
        ["--step_size", "1e-6:1e-2:2.5"],
        ["--step_size", "a:b:c"],
        ["--step_size", "1e-6:1e-2"],
        ["--step_size", "1e-6:1e-2:3:4"],
        ["--step_size", "0:1e-2:3"],  # step ≤ 0
        ["--step_size=-1e-3"],
        ["--step_size", "nan"],
        ["--step_size", "1e-6:inf:3"],
        ["--momentum", "0:1:5"],  # momentum ≥ 1
        ["--momentum", "-0.1:0.5:3"],
        ["--momentum", "0.9:0.1:3"],
        ["--momentum", "0.5"],  # gd does not read β
        ["--momentum", "0:0.9:3", "--optimizer", "adam"],
        ["--step_size", "1e-6:1e-2:2000000"],  # more than 1,000,000 points
        ["--step_size", "1e-6:1e-2:1000", "--momentum", "0:0.9:1001", "--optimizer", "momentum"],
        ["--every", "5"],  # the single run's flag
        ["--format", "text"],
        ["--optimizer", "rmsprop"],
        ["--iterations", "-5"],
        ["--x_min", "5", "--x_max", "1"],
        ["--dataset", "upload"],
        ["--step_size"],
    ],
)
def test_bad_flags_exit_2_with_one_line_on_stderr(capsys, args):
    with pytest.raises(SystemExit) as stop:
        main(["sweep", *args])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("python -m lrcore sweep: error:"), err


def test_sweep_is_a_subcommand_only_in_first_place(capsys):
    """The single run's command line is unchanged: `sweep` anywhere else is an unknown word."""
    with pytest.raises(SystemExit) as stop:
        main(["--iterations", "10", "sweep"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == "python -m lrcore: error: unrecognized arguments: sweep\n"


def test_as_a_user_runs_it(blog):
    """`python -m lrcore sweep --step_size 1e-6:1e-2:200` in a shell: exit 0, nothing on
    stderr, a header and 200 rows, the same as lrcore.sweep."""
    result = subprocess.run(
        [sys.executable, "-m", "lrcore", "sweep", "--step_size", "1e-6:1e-2:200"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0 and result.stderr == ""
    rows = csv_rows(result.stdout)
    grid = lrcore.sweep(blog.x, blog.y, step_sizes=np.geomspace(1e-6, 1e-2, 200), iterations=50_000)
    assert all(same_csv_row(r, w) for r, w in zip(rows, expected(grid), strict=True))
