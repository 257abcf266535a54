"""Every setting of a run, declared once: its type, default, bounds and help.

One table serves the page's widgets, the share link (URL query strings) and the CLI flags, so
the three always agree. `from_params` reads strings leniently (the URL: clamp, fix and report);
`parse_value` reads one strictly (the CLI: refuse with a message); `to_params` writes back.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .csvdata import MAX_ROWS, CsvError
from .datasets import BUILTINS
from .linkpoints import decode_points
from .train import OPTIMIZERS  # the one list of update rules, beside them

LOSS_SCALES = ("log", "linear")
LESSONS = ("blog", "limit", "scaling", "momentum", "outliers", "explore")  # lessons.py holds each
UPLOAD = "upload"  # the dataset that is the user's own file (or the points a link carries)
DATASETS = (*BUILTINS, UPLOAD)
# set by a link only: no widget, no CLI flag (lesson, hide, the pinned runs and the side by
# side: group "view"; the data's points and the points left out of the fit: group "link"), left
# out of a link when empty
LINK_ONLY = ("lesson", "hide", "pins", "compare", "points", "exclude")
MAX_PINS = 4  # pinned runs a page (and its link) holds at once
COMPARE = ("", "optimizers")  # what the side by side shows: nothing, or every optimizer
# A link carries at most this much `exclude` text, so that a link with 500 points (10,400
# characters) and every other setting stays near 14,000 characters (Streamlit's server here
# took 50,000; browsers take far more).
MAX_EXCLUDE_CHARS = 2000


def setting(
    default,
    lo=None,
    hi=None,
    help="",
    *,
    choices=(),
    group="training",
    parse: Callable[[str], Any] | None = None,
):
    """One row of the table: a dataclass field whose metadata carries bounds and help. A text
    setting that is not a choice has a `parse`: text -> its value, or SettingError."""
    meta = {
        "lo": lo,
        "hi": hi,
        "help": help,
        "choices": tuple(choices),
        "group": group,
        "parse": parse,
    }
    return dataclasses.field(default=default, metadata=meta)


# --- the data's points and the points left out: settings only a link carries ---------------


def exclude_ranges(text: str) -> list[tuple[int, int]]:
    """The points an `exclude` value leaves out, as sorted, merged (first, last) index ranges:
    "17,3,120-130" -> [(3, 3), (17, 17), (120, 130)]. Points count from 0 in the data's order.
    SettingError for anything else."""
    text = str(text).replace(" ", "")
    if not re.fullmatch(r"([0-9]{1,6}(-[0-9]{1,6})?(,[0-9]{1,6}(-[0-9]{1,6})?)*)?", text):
        raise SettingError(
            f"exclude: {_clip(text)!r} is not a list of point numbers like 3,17,120-130"
        )
    ranges = []
    for item in filter(None, text.split(",")):
        first, _, last = item.partition("-")
        first, last = int(first), int(last or first)
        if not first <= last < MAX_ROWS:
            raise SettingError(
                f"exclude: {item!r} is not a range of point numbers from 0 to {MAX_ROWS - 1}"
            )
        ranges.append((first, last))
    merged = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def exclude_text(indices) -> str:
    """Point indices as the shortest `exclude` value: sorted, runs written first-last."""
    rows = np.unique(np.asarray(indices, dtype=np.int64))
    if not len(rows):
        return ""
    breaks = np.flatnonzero(np.diff(rows) > 1)
    firsts, lasts = rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, len(rows) - 1]]
    return _ranges_text(zip(firsts.tolist(), lasts.tolist(), strict=True))


def _ranges_text(ranges) -> str:
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges)


def _parse_exclude(text: str) -> str:
    value = _ranges_text(exclude_ranges(text))
    if len(value) > MAX_EXCLUDE_CHARS:
        raise SettingError(
            f"exclude: the list of points left out is longer than {MAX_EXCLUDE_CHARS:,} characters"
        )
    return value


def _parse_points(text: str) -> str:
    if text == "":
        return text
    try:
        decode_points(text)
    except CsvError as error:
        raise SettingError(f"points: {error}") from None
    return text


# --- pinned runs: each a run's training settings, drawn over the run on screen --------------
# A link writes each pin as its optimizer, then the training settings where it differs from the
# defaults (name:value), pins apart by ";": "gd;momentum,step_size:0.0003;adam,standardize:true".


def pin_text(settings: Settings) -> str:
    """One pin as a link writes it: the optimizer, then the training settings off default."""
    others = [
        f"{name}:{format_value(getattr(settings, name))}"
        for name in group("training")
        if name != "optimizer" and getattr(settings, name) != getattr(DEFAULTS, name)
    ]
    return ",".join([settings.optimizer, *others])


def pin_values(text: str) -> dict[str, Any]:
    """One pin's training settings (every one of them, defaults where the text says nothing)
    from its text; SettingError naming what is wrong."""
    optimizer, *pairs = str(text).strip().split(",")
    values = {name: getattr(DEFAULTS, name) for name in group("training")}
    values["optimizer"] = parse_value("optimizer", optimizer.strip())
    for pair in pairs:
        name, colon, value = (part.strip() for part in pair.partition(":"))
        if not colon or name not in values or name == "optimizer":
            raise SettingError(f"{_clip(pair)!r} is not a training setting as name:value")
        values[name] = parse_value(name, value)
    return values


def pins_of(settings: Settings) -> tuple[Settings, ...]:
    """The pinned runs' settings: the settings on screen (their data) with each pin's training
    settings, the view's settings at their defaults."""
    view = {name: getattr(DEFAULTS, name) for name in group("view")}
    base = settings.replace(**view)
    return tuple(
        base.replace(**pin_values(text)) for text in filter(None, settings.pins.split(";"))
    )


def _parse_pins(text: str) -> str:
    texts = [part for part in str(text).split(";") if part.strip()]
    if len(texts) > MAX_PINS:
        raise SettingError(f"pins: {len(texts)} runs; a link holds at most {MAX_PINS}")
    out = []
    for i, part in enumerate(texts, 1):
        try:
            out.append(pin_text(DEFAULTS.replace(**pin_values(part))))
        except SettingError as error:
            raise SettingError(f"pins: run {i} ({_clip(part.strip())!r}): {error}") from None
    return ";".join(out)


def _good_pins(text: str) -> str:
    """The pins of text that are valid, the first MAX_PINS of them (a bad link's nearest)."""
    good = []
    for part in filter(str.strip, str(text).split(";")):
        try:
            good.append(_parse_pins(part))
        except SettingError:
            continue
    return ";".join(good[:MAX_PINS])


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Settings:
    """A whole run: the data, the training and the view. Defaults reproduce the blog post."""

    # data
    dataset: str = setting("blog", help="dataset", choices=DATASETS, group="data")
    n: int = setting(1000, 2, 100_000, "number of points", group="data")
    noise: float = setting(300.0, 0.0, 1e6, "noise standard deviation", group="data")
    slope: float = setting(50.0, -1e6, 1e6, "true slope", group="data")
    intercept: float = setting(4000.0, -1e9, 1e9, "true intercept", group="data")
    x_min: float = setting(0.0, -1e6, 1e6, "smallest x", group="data")
    x_max: float = setting(100.0, -1e6, 1e6, "x stops just below this", group="data")
    seed: int = setting(0, 0, 2**31 - 1, "random seed (data and sgd shuffling)", group="data")
    # training
    optimizer: str = setting("gd", help="update rule", choices=OPTIMIZERS)
    # step_size reaches far below the page's usual stops: data with x in the thousands (years,
    # incomes) converges only below 1e-7 or so, and x near the largest allowed (1e100) below 1e-200
    step_size: float = setting(0.0005, 1e-300, 1.0, "step size (learning rate)")
    iterations: int = setting(50_000, 1, 1_000_000, "epochs")
    batch_size: int = setting(32, 1, 100_000, "mini-batch size (sgd)")
    momentum: float = setting(0.9, 0.0, 0.999, "momentum beta (momentum, nesterov)")
    w0: float = setting(0.0, -1e9, 1e9, "initial W")
    b0: float = setting(0.0, -1e9, 1e9, "initial b")
    standardize: bool = setting(False, help="train on standardized x")
    # view
    loss_scale: str = setting("log", help="loss axis", choices=LOSS_SCALES, group="view")
    lesson: str = setting(
        "", help="lesson whose prompt the page shows", group="view", choices=("", *LESSONS)
    )
    hide: str = setting(
        "",
        help="controls the link hides: setting names, comma-separated",
        group="view",
        choices=("",),
    )
    pins: str = setting(
        "",
        help=f"runs pinned over this one (at most {MAX_PINS}): optimizer,name:value;…",
        group="view",
        choices=("",),
        parse=_parse_pins,
    )
    compare: str = setting("", help="every optimizer side by side", group="view", choices=COMPARE)
    # link: the points of an upload small enough for a link, and the points left out of the fit
    points: str = setting(
        "",
        help="the uploaded points, when few enough for a link",
        group="link",
        choices=("",),
        parse=_parse_points,
    )
    exclude: str = setting(
        "",
        help="points left out of the fit, by number from 0",
        group="link",
        choices=("",),
        parse=_parse_exclude,
    )

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Settings)}
DEFAULTS = Settings()


def group(name: str) -> tuple[str, ...]:
    """The names of one group of settings ("data", "training", "view" or "link"), in order."""
    return tuple(n for n, f in FIELDS.items() if f.metadata["group"] == name)


# the generated data's controls: every data setting but the dataset itself
DATA_CONTROLS = tuple(n for n in group("data") if n != "dataset")
# every setting with a control on the page (and a CLI flag): all but the link-only ones
CONTROLS = tuple(n for n in FIELDS if n not in LINK_ONLY)


def train_args(settings: Settings) -> dict[str, Any]:
    """lrcore.train's keyword arguments for these settings: the training group, and the seed
    (sgd's shuffling)."""
    return {name: getattr(settings, name) for name in (*group("training"), "seed")}


class SettingError(ValueError):
    """A value that does not fit its setting; the message names the setting and the limit."""


def parse_value(name: str, text: Any) -> Any:
    """Read one setting strictly from a string (or a value of the right type)."""
    f = FIELDS[name]
    meta, kind = f.metadata, type(f.default)
    if name == "hide":
        return _setting_names(text)
    if meta["parse"]:
        if not isinstance(text, str):
            raise SettingError(f"{name}: {text!r} is not text")
        return meta["parse"](text)
    if kind is bool:
        word = str(text).strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise SettingError(f"{name}: {text!r} is not true or false")
    if kind is str:
        if text not in meta["choices"]:
            named = ", ".join(c for c in meta["choices"] if c)  # "" (none) is no name to list
            raise SettingError(f"{name}: {text!r} is not one of {named}")
        return text
    try:
        number = float(text)
    except (TypeError, ValueError):
        raise SettingError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(number):
        raise SettingError(f"{name}: {text!r} is not a finite number")
    if kind is int:
        if number != round(number):
            raise SettingError(f"{name}: {text!r} is not a whole number")
        number = int(round(number))
    if not meta["lo"] <= number <= meta["hi"]:
        raise SettingError(f"{name}: {text!r} is outside {meta['lo']:g} to {meta['hi']:g}")
    return number


def _setting_names(text: Any) -> str:
    """Comma-separated setting names, in table order (hide's value); SettingError naming the
    first that is not a setting a link may hide."""
    names = [word.strip() for word in str(text).split(",") if word.strip()]
    for word in names:
        if word not in CONTROLS:
            raise SettingError(f"hide: {word!r} is not a setting")
    return ",".join(name for name in FIELDS if name in names)


def _nearest(name: str, text: Any) -> Any:
    """The valid value nearest to text: clamped into range, rounded to a whole number, or the
    default where text is not a number at all (hide: the names that are settings)."""
    f = FIELDS[name]
    if name == "hide":
        words = {word.strip() for word in str(text).split(",")}
        return ",".join(n for n in CONTROLS if n in words)
    if name == "pins":
        return _good_pins(text)
    try:
        number = float(text)
    except (TypeError, ValueError):
        return f.default
    if not math.isfinite(number) or type(f.default) not in (int, float):
        return f.default
    number = min(max(number, f.metadata["lo"]), f.metadata["hi"])
    return int(round(number)) if type(f.default) is int else number


def problems(settings: Settings) -> list[str]:
    """What breaks the rules that join two settings (each value alone being valid)."""
    if not settings.x_max > settings.x_min:
        return [f"x_max ({settings.x_max:g}) must be above x_min ({settings.x_min:g})"]
    return []


def from_params(params: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Settings from a URL's query (strings): every valid value kept, every invalid one replaced
    by the nearest valid value, and a list of notes saying what was changed and why."""
    values, notes, reset = {}, [], {}
    for key, text in params.items():
        if key not in FIELDS:
            notes.append(f"ignored unknown setting {key!r}")
            continue
        try:
            values[key] = parse_value(key, text)
        except SettingError as error:
            values[key] = _nearest(key, text)
            fallback = format_value(values[key])
            if key == "points" and params.get("dataset") == UPLOAD:
                # an upload without points stands for a file too big for a link: not this one
                reset["dataset"] = DEFAULTS.dataset
                fallback = f"dataset {DEFAULTS.dataset}"
            notes.append(f"{error}; using {fallback}" if fallback else f"{error}; ignored")
    settings = Settings(**(values | reset))
    for problem in problems(settings):
        settings = settings.replace(x_min=DEFAULTS.x_min, x_max=DEFAULTS.x_max)
        notes.append(f"{problem}; using {DEFAULTS.x_min:g} to {DEFAULTS.x_max:g}")
    if settings.points and settings.dataset != UPLOAD:
        settings = settings.replace(points="")
        notes.append(f"points: ignored, since the dataset is {settings.dataset!r}, not {UPLOAD!r}")
    return settings, notes


def format_value(value: Any) -> str:
    """A value as the URL and CLI spell it; floats keep every digit (repr round-trips)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def to_params(settings: Settings) -> dict[str, str]:
    """Every setting as strings, in table order: the inverse of from_params. The link-only
    settings are left out when empty, and `points` unless the dataset is the upload."""
    return {
        name: format_value(getattr(settings, name)) for name in FIELDS if _in_link(settings, name)
    }


def _in_link(settings: Settings, name: str) -> bool:
    if name not in LINK_ONLY:  # lesson, hide, pins, compare, points, exclude: only when set
        return True
    return getattr(settings, name) != "" and (name != "points" or settings.dataset == UPLOAD)


# --- the work one run may cost -------------------------------------------------------------
# gd, momentum and nesterov cost one pass over the data whatever the epochs; adam and sgd pay
# per epoch. Measured on the 2-core test machine (scripts/bench_core.py): adam ≈ 1.7 µs per
# epoch; sgd ≈ 6 µs + 0.034 µs per point + 0.2 µs per mini-batch, per epoch.
WORK_BUDGET = 2.5  # seconds of training one page run may cost, whatever a link asks for


def work_seconds(settings: Settings, n: int) -> float:
    """Estimated seconds to train `settings` on n points (gd, momentum, nesterov: ~0)."""
    per_epoch = {"adam": 1.7e-6, "sgd": 6e-6 + 0.034e-6 * n + 0.2e-6 * -(-n // settings.batch_size)}
    return settings.iterations * per_epoch.get(settings.optimizer, 0.0)


def bounded(settings: Settings, n: int) -> tuple[Settings, str | None]:
    """The settings cut to WORK_BUDGET (fewer epochs), and a sentence saying so if they were."""
    seconds = work_seconds(settings, n)
    if seconds <= WORK_BUDGET:
        return settings, None
    epochs = max(1, int(settings.iterations * WORK_BUDGET / seconds))
    return settings.replace(iterations=epochs), (
        f"{settings.iterations:,} epochs of {settings.optimizer} on {n:,} points would take "
        f"about {seconds:,.0f} s here, so this run stops at epoch {epochs:,} (the page trains at "
        f"most about {WORK_BUDGET:g} s per run)."
    )
