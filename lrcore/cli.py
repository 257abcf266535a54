"""python -m lrcore: one training run from the command line, printed as the blog printed it.

Flags are the settings' own names (lrcore/settings.py), so a share link's query string and a
command line say the same thing: `python -m lrcore --step_size 0.0006 --iterations 20000`.
`--dataset NAME` picks a built-in dataset; `--data FILE.csv [--x_col NAME --y_col NAME]` reads
your own file, with the page's checks.

`python -m lrcore sweep --step_size 1e-6:1e-2:200 [--optimizer momentum --momentum 0:0.99:50]`
runs a whole grid (lrcore.sweep) and prints one row per (momentum, step size): its final loss,
the first epoch within 1% of the optimum, the rate and whether it diverged, as CSV (or JSON
lines). A range lo:hi:count is spaced evenly on a log scale for step sizes and linearly for
momenta; a single number is a range of one. gd, adam and sgd do not read β: their rows have no
momentum column, and --momentum is an error for them. The other flags are the single run's.

A single run's text log ends with its verdict (lrcore.explain.verdict), one line: converged
(within 1% of the least-squares answer, at epoch N), not yet (how far, and the epochs the rate
predicts in all) or diverged (at epoch N). Exit status: 0 for a run that converged or not yet,
3 for a run that diverged (with --format jsonl too), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from . import settings as table
from .csvdata import MAX_BYTES, MAX_ROWS, load_csv
from .data import DataError, Dataset
from .datasets import load_builtin
from .explain import verdict, verdict_text
from .model import closed_form
from .optim import WITH_MOMENTUM
from .sweep import sweep
from .train import train

BLOG_LINE = "Epoch:{}, W:{}, b:{}, loss:{}, dW:{}, db:{}"
MAX_POINTS = 1_000_000  # grid points one sweep may ask for
SWEEP_COLUMNS = ("momentum", "step_size", "loss", "epochs", "rate", "diverged")
RANGES = {"step_size": np.geomspace, "momentum": np.linspace}  # the sweep's ranged flags
DIVERGED_STATUS = 3  # a single run that diverged exits with this (2 is argparse's usage error)
EPILOG = (
    "The text log's last line is the run's verdict: converged (within 1% of the least-squares "
    "answer, at epoch N), not yet converged (how far, and the epochs the rate predicts in all) "
    f"or diverged (at epoch N). Exit status: 0 converged or not yet, {DIVERGED_STATUS} diverged, "
    "2 usage error."
)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit status 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _flag_type(name):
    def parse(text):
        try:
            return table.parse_value(name, text)
        except table.SettingError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name
    return parse


def _range_type(name):
    """lo:hi:count (or one number) as the values of a sweep's flag: np.geomspace for step sizes,
    np.linspace for momenta; ArgumentTypeError saying what is wrong."""

    def parse(text):
        try:
            numbers = [float(part) for part in text.split(":")]
        except ValueError:
            numbers = []
        if len(numbers) not in (1, 3):
            raise argparse.ArgumentTypeError(f"{name}: {text!r} is not a number or lo:hi:count")
        lo, hi, count = numbers if len(numbers) == 3 else (numbers[0], numbers[0], 1.0)
        if not all(math.isfinite(v) for v in (lo, hi, count)):
            raise argparse.ArgumentTypeError(f"{name}: {text!r} holds a number that is not finite")
        if hi < lo:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} runs backwards (hi < lo)")
        if count != int(count) or not 1 <= count <= MAX_POINTS:
            raise argparse.ArgumentTypeError(
                f"{name}: the count in {text!r} must be a whole number from 1 to {MAX_POINTS:,}"
            )
        if name == "step_size" and not lo > 0:
            raise argparse.ArgumentTypeError(f"{name}: {text!r} must be above 0")
        if name == "momentum" and not (lo >= 0 and hi < 1):
            raise argparse.ArgumentTypeError(f"{name}: {text!r} must be in [0, 1)")
        return RANGES[name](lo, hi, int(count))

    parse.__name__ = name
    return parse


def _json_number(value):
    """JSON has no inf or NaN: a number that blew up is written as null (diverged says why)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m lrcore", description=__doc__.splitlines()[0], epilog=EPILOG)
    _setting_flags(p)
    p.add_argument(
        "--every", type=int, default=None, help="print every N epochs (default: iterations/10)"
    )
    p.add_argument(
        "--format",
        choices=("text", "jsonl"),
        default="text",
        help="text: the blog's log; jsonl: one JSON object per state",
    )
    return p


def sweep_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m lrcore sweep",
        description="A grid of runs: one row per (momentum, step size).",
    )
    _setting_flags(p, ranged=RANGES)
    p.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default="csv",
        help="csv: a header, then one row per run; jsonl: one JSON object per run "
        "(inf and nan as null)",
    )
    return p


def _setting_flags(p: argparse.ArgumentParser, ranged=()) -> None:
    """A flag per setting (not the view's or the link's), then --data, --x_col, --y_col. The
    `ranged` ones take lo:hi:count instead of one value."""
    for name, field in table.FIELDS.items():
        if field.metadata["group"] in ("view", "link"):
            continue
        meta = field.metadata
        bounds = f" ({meta['lo']:g} to {meta['hi']:g})" if meta["lo"] is not None else ""
        choices = f" ({', '.join(meta['choices'])})" if meta["choices"] else ""
        if name in ranged:
            scale = "log" if name == "step_size" else "linear"
            p.add_argument(
                f"--{name}",
                type=_range_type(name),
                default=None,
                metavar="LO:HI:COUNT",
                help=f"{meta['help']}: COUNT values from LO to HI on a {scale} "
                f"scale, or one value; default {field.default}",
            )
            continue
        p.add_argument(
            f"--{name}",
            type=_flag_type(name),
            default=field.default,
            help=f"{meta['help']}{bounds}{choices}; default {field.default}",
        )
    p.set_defaults(dataset=None)  # blog, unless --data names a file
    p.add_argument(
        "--data",
        metavar="FILE.csv",
        help=f"fit your own CSV file: a header row, then numbers; at most "
        f"{MAX_ROWS:,} rows and {MAX_BYTES / 1e6:g} MB",
    )
    p.add_argument(
        "--x_col", metavar="NAME", help="the column of x (default: the first column of numbers)"
    )
    p.add_argument(
        "--y_col", metavar="NAME", help="the column of y (default: the next column of numbers)"
    )


def _settings(p: argparse.ArgumentParser, args, ranged=()) -> table.Settings:
    """The Settings the flags name (a ranged flag keeps its setting's default); a usage error
    for settings that do not fit together."""
    values = {
        name: getattr(args, name)
        for name in table.FIELDS
        if hasattr(args, name) and name not in ranged
    }
    values["dataset"] = args.dataset or (table.UPLOAD if args.data else table.DEFAULTS.dataset)
    settings = table.Settings(**values)
    for problem in table.problems(settings):
        p.error(problem)
    return settings


def load_data(p: argparse.ArgumentParser, args, settings: table.Settings) -> Dataset:
    """The run's data: the CSV file --data names, else the built-in dataset. Notes on how the
    file was read go to stderr; a flag that does not fit is a usage error."""
    if args.data is None:
        if settings.dataset == table.UPLOAD:
            p.error("--dataset upload needs --data FILE.csv")
        if args.x_col is not None or args.y_col is not None:
            p.error("--x_col and --y_col need --data FILE.csv")
        return load_builtin(
            settings.dataset,
            n=settings.n,
            noise=settings.noise,
            seed=settings.seed,
            slope=settings.slope,
            intercept=settings.intercept,
            x_min=settings.x_min,
            x_max=settings.x_max,
        )
    if settings.dataset != table.UPLOAD:
        p.error(f"--data reads your file, so --dataset {settings.dataset} does not apply")
    csv = load_csv(args.data, args.x_col, args.y_col)
    for note in csv.notes:
        print(f"note: {note}", file=sys.stderr)
    return csv.data


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sweep"]:
        return sweep_main(argv[1:])
    p = parser()
    args = p.parse_args(argv)
    settings = _settings(p, args)
    every = args.every if args.every is not None else max(1, settings.iterations // 10)
    if every < 1:
        p.error(f"--every must be at least 1, not {every}")
    try:
        data = load_data(p, args, settings)
        fit = closed_form(data.x, data.y)
    except DataError as error:
        p.error(str(error))
    start = time.perf_counter()
    states = []
    for last in train(data.x, data.y, every=every, **table.train_args(settings)):
        states.append(last)
        if args.format == "jsonl":
            print(json.dumps({k: _json_number(v) for k, v in last._asdict().items()}))
        else:
            print(BLOG_LINE.format(last.epoch, last.w, last.b, last.loss, last.dw, last.db))
    if args.format == "text":
        seconds = time.perf_counter() - start
        outcome = f"diverged at epoch {last.epoch}" if last.diverged else f"epochs:{last.epoch}"
        print(
            f"Training Stats: {outcome}, W:{last.w}, b:{last.b}, loss:{last.loss}, "
            f"least-squares W:{fit.w}, b:{fit.b}, loss:{fit.loss}, seconds:{seconds:.4f}"
        )
        run = table.train_args(settings)
        del run["iterations"]
        print(verdict_text(verdict(data.x, data.y, states, **run)))
    return DIVERGED_STATUS if last.diverged else 0


def sweep_main(argv) -> int:
    """python -m lrcore sweep: the grid's rows on stdout, as CSV or JSON lines."""
    p = sweep_parser()
    args = p.parse_args(argv)
    settings = _settings(p, args, ranged=RANGES)
    steps = args.step_size if args.step_size is not None else np.array([settings.step_size])
    momenta = args.momentum
    if momenta is not None and settings.optimizer not in WITH_MOMENTUM:
        p.error(
            f"--momentum is read by {' and '.join(WITH_MOMENTUM)} only, not {settings.optimizer}"
        )
    points = len(steps) * (1 if momenta is None else len(momenta))
    if points > MAX_POINTS:
        p.error(f"the grid has {points:,} points; at most {MAX_POINTS:,}")
    try:
        data = load_data(p, args, settings)
        grid = sweep(
            data.x,
            data.y,
            step_sizes=steps,
            momenta=momenta,
            iterations=settings.iterations,
            optimizer=settings.optimizer,
            w0=settings.w0,
            b0=settings.b0,
            standardize=settings.standardize,
            batch_size=settings.batch_size,
            seed=settings.seed,
        )
    except (DataError, ValueError) as error:
        p.error(str(error))
    columns = sweep_columns(settings.optimizer)
    rows = [row[-len(columns) :] for row in sweep_rows(grid)]  # the momentum is the first
    if args.format == "csv":
        lines = [",".join(columns)] + [",".join(_csv_value(v) for v in r) for r in rows]
    else:
        lines = [
            json.dumps({k: _json_number(v) for k, v in zip(columns, r, strict=True)}) for r in rows
        ]
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def sweep_columns(optimizer: str) -> tuple[str, ...]:
    """The sweep's columns: the momentum only for the optimizers that read it."""
    return SWEEP_COLUMNS if optimizer in WITH_MOMENTUM else SWEEP_COLUMNS[1:]


def sweep_rows(grid) -> list[tuple]:
    """(momentum, step_size, loss, epochs, rate, diverged) per run, momentum by momentum; epochs
    a whole number, or inf."""
    beta, eta = np.meshgrid(grid.momenta, grid.step_sizes, indexing="ij")
    cols = (c.ravel().tolist() for c in (beta, eta, grid.loss, grid.epochs, grid.rate))
    return [
        (b, e, loss, int(k) if math.isfinite(k) else k, rate, bool(bad))
        for b, e, loss, k, rate, bad in zip(*cols, grid.diverged.ravel().tolist(), strict=True)
    ]


def _csv_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
