"""python -m lrcore: one training run from the command line, printed as the blog printed it.

Flags are the settings' own names (lrcore/settings.py), so a share link's query string and a
command line say the same thing: `python -m lrcore --step_size 0.0006 --iterations 20000`.
`--dataset NAME` picks a built-in dataset; `--data FILE.csv [--x_col NAME --y_col NAME]` reads
your own file, with the page's checks.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from . import settings as st
from .csvdata import MAX_BYTES, MAX_ROWS, load_csv
from .data import DataError, Dataset
from .datasets import load_builtin
from .model import closed_form
from .train import train

BLOG_LINE = "Epoch:{}, W:{}, b:{}, loss:{}, dW:{}, db:{}"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit status 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _flag_type(name):
    def parse(text):
        try:
            return st.parse_value(name, text)
        except st.SettingError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = name
    return parse


def _json_number(value):
    """JSON has no inf or NaN: a number that blew up is written as null (diverged says why)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m lrcore", description=__doc__.splitlines()[0])
    for name, field in st.FIELDS.items():
        if field.metadata["group"] in ("view", "link"):
            continue
        meta = field.metadata
        bounds = f" ({meta['lo']:g} to {meta['hi']:g})" if meta["lo"] is not None else ""
        choices = f" ({', '.join(meta['choices'])})" if meta["choices"] else ""
        p.add_argument(f"--{name}", type=_flag_type(name), default=field.default,
                       help=f"{meta['help']}{bounds}{choices}; default {field.default}")
    p.set_defaults(dataset=None)  # blog, unless --data names a file
    p.add_argument("--data", metavar="FILE.csv",
                   help=f"fit your own CSV file: a header row, then numbers; at most "
                        f"{MAX_ROWS:,} rows and {MAX_BYTES / 1e6:g} MB")
    p.add_argument("--x_col", metavar="NAME",
                   help="the column of x (default: the first column of numbers)")
    p.add_argument("--y_col", metavar="NAME",
                   help="the column of y (default: the next column of numbers)")
    p.add_argument("--every", type=int, default=None,
                   help="print every N epochs (default: iterations/10)")
    p.add_argument("--format", choices=("text", "jsonl"), default="text",
                   help="text: the blog's log; jsonl: one JSON object per state")
    return p


def load_data(p: argparse.ArgumentParser, args, settings: st.Settings) -> Dataset:
    """The run's data: the CSV file --data names, else the built-in dataset. Notes on how the
    file was read go to stderr; a flag that does not fit is a usage error."""
    if args.data is None:
        if settings.dataset == st.UPLOAD:
            p.error("--dataset upload needs --data FILE.csv")
        if args.x_col is not None or args.y_col is not None:
            p.error("--x_col and --y_col need --data FILE.csv")
        return load_builtin(settings.dataset, n=settings.n, noise=settings.noise,
                            seed=settings.seed, slope=settings.slope,
                            intercept=settings.intercept, x_min=settings.x_min,
                            x_max=settings.x_max)
    if settings.dataset != st.UPLOAD:
        p.error(f"--data reads your file, so --dataset {settings.dataset} does not apply")
    csv = load_csv(args.data, args.x_col, args.y_col)
    for note in csv.notes:
        print(f"note: {note}", file=sys.stderr)
    return csv.data


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    values = {name: getattr(args, name) for name in st.FIELDS if hasattr(args, name)}
    values["dataset"] = args.dataset or (st.UPLOAD if args.data else st.DEFAULTS.dataset)
    settings = st.Settings(**values)
    for problem in st.problems(settings):
        p.error(problem)
    every = args.every if args.every is not None else max(1, settings.iterations // 10)
    if every < 1:
        p.error(f"--every must be at least 1, not {every}")
    try:
        data = load_data(p, args, settings)
        fit = closed_form(data.x, data.y)
    except DataError as error:
        p.error(str(error))
    start = time.perf_counter()
    last = None
    for last in train(data.x, data.y, step_size=settings.step_size,
                      iterations=settings.iterations, optimizer=settings.optimizer,
                      w0=settings.w0, b0=settings.b0, every=every,
                      batch_size=settings.batch_size, momentum=settings.momentum,
                      standardize=settings.standardize, seed=settings.seed):
        if args.format == "jsonl":
            print(json.dumps({k: _json_number(v) for k, v in last._asdict().items()}))
        else:
            print(BLOG_LINE.format(last.epoch, last.w, last.b, last.loss, last.dw, last.db))
    if args.format == "text":
        seconds = time.perf_counter() - start
        outcome = f"diverged at epoch {last.epoch}" if last.diverged else f"epochs:{last.epoch}"
        print(f"Training Stats: {outcome}, W:{last.w}, b:{last.b}, loss:{last.loss}, "
              f"least-squares W:{fit.w}, b:{fit.b}, loss:{fit.loss}, seconds:{seconds:.4f}")
    return 0
