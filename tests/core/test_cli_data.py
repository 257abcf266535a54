"""python -m lrcore with other data: `--dataset NAME` (a built-in dataset) and `--data FILE.csv
--x_col NAME --y_col NAME` (your own file, read with the page's checks). The reference for each
run is lrcore.train on lrcore.load_builtin's or lrcore.csvdata.load_csv's points."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import plotly.data
import pytest

import lrcore
from lrcore.csvdata import load_csv
from lrcore.explain import rates
from support import reference

ROOT = Path(__file__).resolve().parents[2]
CSV = b"name,hours,score\nann,1,52\nbob,2,61\ncy,4,\ndee,5,77\neve,7,83\n"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lrcore", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def states(stdout: str) -> list[lrcore.State]:
    return [lrcore.State(**json.loads(line)) for line in stdout.splitlines()]


def trained(data, **settings) -> list[lrcore.State]:
    return list(lrcore.train(data.x, data.y, **settings))


@pytest.mark.parametrize("name", ["anscombe_3", "outliers", "curve"])
def test_dataset_flag_trains_on_that_builtin_dataset(name):
    result = cli(
        "--dataset",
        name,
        "--n",
        "300",
        "--seed",
        "4",
        "--step_size",
        "1e-5",
        "--iterations",
        "40",
        "--every",
        "8",
        "--format",
        "jsonl",
    )
    assert result.returncode == 0 and result.stderr == ""
    data = lrcore.load_builtin(name, n=300, seed=4)
    assert states(result.stdout) == trained(data, step_size=1e-5, iterations=40, every=8)


def test_data_flag_fits_a_csv_file_with_the_pages_checks(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_bytes(CSV)
    result = cli(
        "--data",
        str(path),
        "--step_size",
        "0.01",
        "--iterations",
        "30",
        "--every",
        "10",
        "--format",
        "jsonl",
    )
    assert result.returncode == 0
    data = load_csv(CSV).data  # hours and score, the row without a score dropped
    assert len(data) == 4
    assert states(result.stdout) == trained(data, step_size=0.01, iterations=30, every=10)
    assert result.stderr == "note: dropped 1 row with missing values (row 4)\n"


def test_x_col_and_y_col_pick_the_columns(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_bytes(CSV)
    result = cli(
        "--data",
        str(path),
        "--x_col",
        "score",
        "--y_col",
        "hours",
        "--step_size",
        "1e-4",
        "--iterations",
        "20",
        "--format",
        "jsonl",
    )
    assert result.returncode == 0
    data = load_csv(CSV, "score", "hours").data
    assert states(result.stdout) == trained(data, step_size=1e-4, iterations=20, every=2)


def test_the_text_log_of_a_file_ends_with_its_least_squares_answer(tmp_path):
    path = tmp_path / "line.csv"
    path.write_bytes(b"x;y\n0;1\n1;3\n2;5\n3;7\n")  # y = 2x + 1 exactly
    result = cli("--data", str(path), "--step_size", "0.1", "--iterations", "100")
    assert result.returncode == 0
    stats = result.stdout.splitlines()[-2]  # the verdict comes last
    w = float(stats.split("least-squares W:")[1].split(",")[0])
    b = float(stats.split("least-squares W:")[1].split(" b:")[1].split(",")[0])
    assert (w, b) == pytest.approx((2.0, 1.0), rel=1e-12)
    assert result.stderr == "note: read ';' as the column separator\n"


def test_real_data_in_the_thousands_gets_a_verdict_and_a_diverged_run_its_exit_status(tmp_path):
    """plotly's gapminder table, GDP per head (x up to 113,523) against life expectancy: at 0.9
    of gd's limit, 50,000 epochs leave the run far from the least-squares answer and the verdict
    says so (exit 0); at 1.1 of it the run diverges (exit 3), at the epoch the plain loop does."""
    table = plotly.data.gapminder()[["gdpPercap", "lifeExp"]]
    path = tmp_path / "gapminder.csv"
    table.to_csv(path, index=False)
    x, y = table["gdpPercap"].to_numpy(float), table["lifeExp"].to_numpy(float)
    limit = lrcore.stable_step_size(x, y)
    below = cli("--data", str(path), "--step_size", repr(0.9 * limit))
    assert below.returncode == 0 and below.stderr == ""
    predicted = math.ceil(rates(x, y, 0.9 * limit).epochs_to_1pct)
    assert below.stdout.splitlines()[-1] == (
        "Not yet converged: after 50,000 epochs the run is still over 99% of its starting "
        f"distance from the answer; the rate predicts {predicted:,} epochs in all."
    )
    rows, diverged = reference.run("gd", x, y, step_size=1.1 * limit, iterations=1000)
    above = cli("--data", str(path), "--step_size", repr(1.1 * limit))
    assert diverged and above.returncode == 3
    assert above.stdout.splitlines()[-1] == f"Diverged at epoch {len(rows) - 1:,}."


BAD_FILES = {
    "empty": b"",
    "header only": b"x,y\n",
    "one row": b"x,y\n1,2\n",
    "text column": b"x,y\n1,a\n2,b\n",
    "infinity": b"x,y\n1,2\n2,-inf\n3,1\n",
    "1e200": b"x,y\n1,2\n2,1e200\n",
    "binary": bytes(range(256)),
    "one x": b"x,y\n2,1\n2,5\n",
}


@pytest.mark.parametrize("raw", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_exits_2_with_load_csvs_sentence_on_one_line(tmp_path, raw):
    path = tmp_path / "bad.csv"
    path.write_bytes(raw)
    result = cli("--data", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    with pytest.raises(lrcore.DataError) as caught:
        load_csv(raw)
    assert result.stderr == f"python -m lrcore: error: {caught.value}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--data", "no/such/file.csv"],
        ["--data", "."],  # a directory
        ["--dataset", "upload"],  # needs a file
        ["--dataset", "anscombe_9"],
        ["--dataset"],
        ["--x_col", "hours"],  # needs --data
        ["--data", "{csv}", "--x_col", "nope"],
        ["--data", "{csv}", "--x_col", "name"],  # text
        ["--data", "{csv}", "--x_col", "score", "--y_col", "score"],
        ["--data", "{csv}", "--dataset", "blog"],
        ["--points", "v1.AAAA"],  # link-only settings are not flags
        ["--exclude", "3"],
    ],
)
def test_bad_data_flags_exit_2_with_one_line_on_stderr(tmp_path, args):
    path = tmp_path / "scores.csv"
    path.write_bytes(CSV)
    result = cli(*[a.format(csv=path) for a in args])
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
