"""The page's one Plotly figure: three linked views of a training run, animated in the browser.

    data + fitted line   |  loss curve
                         |  loss landscape over (W, b)

chart() is drawn once per data: base() (the data, the reference lines, the axes, styled
placeholders for a run) and a pinned run, if any. Each run is run(): the loss curve, the
contours and path, the axis ranges, and one frame per reported epoch, named by it. The page's
player puts a run into the chart in place (Plotly.update and addFrames: the figure as drawn is
then combine(chart, run)) and drives its frames with Plotly.animate (play, pause, step, a
scrubber), showing readout() of each; only what moves travels in the frames. A new run so
sends only the run, and the chart is never remounted for it (Plotly.update still redraws it
whole). Nothing here draws a slider or buttons in Plotly, and the only text is the views'
titles (three annotations): they cost more to draw than the data.

The loss is a quadratic in (W, b), so its contours are ellipses around the optimum:
loss − loss* = ½·eᵀHe for e = (W − W*, b − b*), H = [[mean x², mean x], [mean x, 1]]. They are
drawn exactly, as one filled scatter trace: an animation frame redraws a subplot's scatter
traces only, and would wipe Plotly's contour traces.

Pure: arrays and lrcore states in, Plotly figure dicts out (no Streamlit here).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import re
from collections.abc import Sequence
from itertools import compress

import numpy as np
import orjson
import plotly.graph_objects as go

from lrcore.model import eigen, moments
from lrcore.train import Problem

from .text import apart, equation, number, scales, zeroed

FRAMES = 120  # frames per run, at log-spaced epochs
CURVE = 500  # points on the loss curve: log-spaced and linear-spaced epochs together
FRAME_MS = 40  # one frame's duration at 1x speed: a run plays in about 5 s
LEVELS = 13  # contour levels, half a decade apart
ARC = 96  # points on each half of a contour ellipse
FINE = 1e-3  # coordinates spanning less than this of their size are sent as f8 (coordinates)

# Colours readable on Streamlit's light and dark themes alike, and by colour-blind eyes: the
# Okabe-Ito palette (vermillion, bluish green, reddish purple, sky blue, blue) and greys.
DATA, FITTED, TRUE, LSTSQ, PATH = "#7f8fa6", "#D55E00", "#9a9a9a", "#009E73", "#CC79A7"
LEVEL_LINE, LEVEL_FILL = "rgba(86,180,233,0.55)", "rgba(86,180,233,0.16)"
PINNED = "#0072B2"  # a pinned run: dashed and faded, on all three views
# The runs drawn over the run on screen (pins, or every optimizer side by side), in order: each
# its own Okabe-Ito colour and dash, and both in words for the table beside them.
OVERLAY_STYLES = (
    (PINNED, "dash", "blue, dashed"),
    ("#E69F00", "dot", "orange, dotted"),
    ("#009E73", "dashdot", "green, dash-dot"),
    ("#CC79A7", "longdash", "purple, long dashes"),
    ("#56B4E9", "longdashdot", "sky blue, long dash-dot"),
)
# The Hessian's two eigen-directions, largest curvature first: orange and blue in the error chart
# along them (explain/directions.py); on the landscape grey reference lines named by their labels
# (the step's arrows have the colours there). Their names, the same in both.
DIRECTIONS = ("#E69F00", "#0072B2")
DIRECTION_NAMES = ("direction 1 (λ₁)", "direction 2 (λ₂)")
LABEL_AT = 0.7  # a direction's label sits this far from the optimum to the landscape's edge
LABEL_CORNERS = ("top right", "top left", "bottom right", "bottom left")  # of its point
TEXT = "#808495"  # axis text, and the axes and grid below: mid-grey on light and dark alike
# No one grey reads at 4.5:1 on both white and the dark theme's near-black (#808495 gives 3.6:1
# on white), so the page's CSS draws every chart text that Plotly paints in TEXT in the theme's
# own text colour at 75% instead (about 7:1 on light, 10:1 on dark): the charts follow the theme
# in the browser, with nothing to rebuild on the server when it changes. Coloured labels keep
# their colour.
TEXT_CSS = (
    '.js-plotly-plot text[style*="fill: rgb(128, 132, 149)"]'
    " { fill: currentColor !important; fill-opacity: 0.75 !important; }"
)
GRID = "rgba(128,128,128,0.2)"
LEFT_OUT = "#9a9a9a"  # points left out of the fit: hollow, grey
# The update at the player's epoch, drawn on the landscape as arrows (frame_steps in
# explain/update.py): key, name, colour (the Okabe-Ito orange and blue, and the current
# point's vermillion for the step that moves it) and width: each narrower than the one drawn
# before it, so that all show where they overlap (on a narrow landscape they often lie on
# one line).
STEPS = (
    ("gradient", "−η∇L", "#E69F00", 5),
    ("velocity", "−ηβv (velocity)", "#0072B2", 3),
    ("step", "step taken", FITTED, 1.5),
)
# The corners of the landscape the arrows' legend may take, in order of preference: (x, y)
# as fractions of the view.
CORNERS = ((1, 1), (0, 1), (1, 0), (0, 0))
LEGEND_BOX = (0.4, 0.35)  # about the part of the landscape (width, height) the legend covers
MOVING = 4 + len(STEPS)  # traces the frames replace: the last seven (line, loss marker, path,
# point, and the arrows of STEPS: those the run draws)
PATH_AT = 2  # the path's place among them: a frame's path is the first points of the run's "path"
DATA_TRACE, LEFT_OUT_TRACE = 0, 1  # the points fitted, and those left out (both selectable)
RUN_TRACES = 4  # the run's traces start here: after the data (2) and the two reference lines
# in all: 2 data, 2 reference lines, curve, lowest loss, contours, optimum, 2 eigen-directions
# and their labels, 7 moving (4, and the 3 arrows of the step)
TRACES = 18
FRAME_INDICES = list(range(TRACES - MOVING, TRACES))
TITLES = ("Data and fitted line", "Loss by epoch", "Loss landscape over (W, b)")  # the views'
LOSS_TICKS = 4  # at most this many labels on a logarithmic loss axis: they fit a phone's view
CLOSE = 1e-3  # losses closer than this (relatively) print alike in Plotly's 3 or 4 digits


@functools.cache
def frame_epochs(iterations: int, count: int = FRAMES) -> tuple[int, ...]:
    """About `count` epochs from 0 to iterations, log-spaced: dense at the fast start, sparse in
    the slow tail, every epoch when there are fewer than count."""
    if iterations < count:
        return tuple(range(iterations + 1))
    spaced = np.geomspace(1, iterations, count - 1)
    return (0, *np.unique(np.round(spaced).astype(int)).tolist())


@functools.cache
def curve_epochs(iterations: int, count: int = CURVE) -> tuple[int, ...]:
    """About `count` epochs for the loss curve: the frames' (log-spaced: the start) and
    linear-spaced ones (the tail) together. Sharing the frames' epochs keeps the run cheap."""
    if iterations <= count:
        return tuple(range(iterations + 1))
    lins = np.round(np.linspace(0, iterations, count - FRAMES + 1)).astype(int)
    return tuple(sorted(set(frame_epochs(iterations)) | set(lins.tolist())))


def readout(state, scale: dict[str, float] | None = None, loss_sig: int = 6) -> str:
    """The numbers at one epoch, as the player shows them beside the views: 6 significant
    digits (the loss `loss_sig`: see loss_digits), and 0 for what is zero up to rounding
    beside the data's `scale` (text.scales)."""
    w, b, loss = (zeroed(getattr(state, k), (scale or {}).get(k, 0.0)) for k in ("w", "b", "loss"))
    text = (
        f"epoch {state.epoch:,} · W = {number(w, 6)} · b = {number(b, 6)} · "
        f"loss = {number(loss, loss_sig)}"
    )
    return text + " · diverged here" if state.diverged else text


def chart(
    x,
    y,
    *,
    left_out: Sequence[int] = (),
    truth: tuple[float, float] | None = None,
    loss_scale: str = "log",
    overlay: Sequence[dict] = (),
    axis_titles: tuple[str, str] = ("x", "y"),
) -> dict:
    """The chart the page draws once per data: base() with `overlay` (see pinned()) drawn over
    it. The player puts each run into it in place (see run() and combine())."""
    spec = base(
        x, y, left_out=left_out, truth=truth, loss_scale=loss_scale, axis_titles=axis_titles
    )
    spec["data"] += list(overlay)
    return spec


def base(
    x,
    y,
    *,
    left_out: Sequence[int] = (),
    truth: tuple[float, float] | None = None,
    loss_scale: str = "log",
    axis_titles: tuple[str, str] = ("x", "y"),
) -> dict:
    """The chart for this data without a run: the data (the points at the indices `left_out`
    hollow, as left out of the fit), the true line (`truth`: slope, intercept, if the data was
    drawn from one) and the least-squares line of the points fitted, the axes (the data
    view's titled `axis_titles`: x, y or a file's column names, shown as plain text), the
    views' titles, and the run's traces as styled placeholders."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    out = np.zeros(len(x), bool)
    out[np.asarray(left_out, dtype=np.int64)] = True
    fit = moments(x[~out], y[~out]).fit
    hidden = {"x": [None], "y": [None]}  # drawn but empty: see _moving
    data = (
        _data_traces(x, y, out, fit, truth)
        + _curve_traces(hidden, hidden)
        + _landscape_traces(hidden, hidden)
        + _direction_traces([hidden] * (len(DIRECTION_NAMES) + 1))
        + _styled([hidden] * (MOVING - len(STEPS)) + [{**hidden, "text": ""}] * len(STEPS))
    )
    return {"data": data, "layout": _layout(x, y, loss_scale, axis_titles)}


def run(
    x,
    y,
    frames: Sequence,
    curve: Sequence,
    *,
    loss_scale: str = "log",
    run_id: str = "",
    hold: Sequence = (),
    x_range: tuple[float, float] | None = None,
    standardize: bool = False,
    steps: Sequence[dict | None] = (),
) -> dict:
    """One run, to put into a base() chart: `frames` (lrcore States at the frame epochs, the
    first at epoch 0) and `curve` (States for the loss curve). Returns the values of the run's
    traces ("traces", at "indices"), the axis ranges and meta ("layout"), the Plotly frames,
    and for the player the frames' "names" and "readouts". A frame's path, the frames' (W, b)
    up to it, is not in the frame: it is the first points of "path", sent once (frame_data()).
    The ranges also hold the States in `hold` (a pinned run's frames). The fitted line spans
    `x_range` (default: x's); the eigen-directions are those training steps along
    (`standardize`: on standardized x, see direction_lines). `steps`, one per frame
    (explain.update.step_arrows), are the update at each frame, drawn as arrows (_step_traces):
    none if not given. A frame holds only the arrows the run draws (its "traces" say which)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mom, scale = moments(x, y), scales(x, y)
    window = loss_window([*frames, *hold], mom.fit)
    x_lo, x_hi = map(float, x_range or (x.min(), x.max()))
    ws, bs = np.array([state.w for state in frames]), np.array([state.b for state in frames])
    path = {"x": coordinates(ws), "y": coordinates(bs)}
    drawn = [any(step and key in step for step in steps) for key, *_ in STEPS]
    arrows = [_step_traces(step) for step in steps or [None] * len(frames)]
    moving = [_moving(state, x_lo, x_hi) for state in frames]
    epochs = np.array([state.epoch for state in curve if state.epoch > 0])
    losses = np.array([state.loss for state in curve if state.epoch > 0])
    top = max(int(epochs.max(initial=1)), *(state.epoch for state in hold), 2)
    curve_xy = {"x": typed(epochs, "i4"), "y": typed(losses)}
    floor_xy = {"x": [1, top], "y": [mom.fit.loss, mom.fit.loss]}
    contours, optimum = _landscape_xy(mom, window)
    lines = direction_lines(x, y, window, standardize=standardize)
    labels = lines[-1]  # the directions' labels: the legend keeps clear of them too
    marks = [(w, b) for w, b in zip(labels["x"], labels["y"], strict=True) if w is not None]
    corner = steps_corner(frames, mom.fit, window, marks)
    traces = [curve_xy, floor_xy, contours, optimum, *lines, *_with_path(moving[0], path, 1)]
    traces += [{**a, "showlegend": d} for a, d in zip(arrows[0], drawn, strict=True)]
    # a frame moves the arrows the run draws only (the others stay empty, as put in)
    moves = FRAME_INDICES[: -len(STEPS)] + list(compress(FRAME_INDICES[-len(STEPS) :], drawn))
    digits = loss_digits(frames)  # once: every readout prints the loss to these digits
    return {
        "id": run_id,
        "indices": list(range(RUN_TRACES, RUN_TRACES + len(traces))),
        "traces": traces,
        "layout": {
            "meta": run_id,
            "xaxis2": {"range": [0, math.log10(top) + 0.05]},
            "yaxis2": _loss_axis(losses, [*frames, *hold], mom.fit.loss, loss_scale),
            "xaxis3": {"range": list(window[0])},
            "yaxis3": {"range": list(window[1])},
            "legend2": steps_legend(WIDE["3"], corner),
        },
        "narrow": narrow_layout(corner),  # (the player's layout on a phone)
        "path": path,
        "frames": [
            {"name": str(state.epoch), "traces": moves, "data": m + list(compress(a, drawn))}
            for state, m, a in zip(frames, moving, arrows, strict=True)
        ],
        "names": [str(state.epoch) for state in frames],
        "readouts": [readout(state, scale, digits) for state in frames],
    }


LOSS_DIGITS = 10  # a loss a run computes holds about this many: text.NOISE is 10⁻⁹ of it


def loss_digits(states) -> int:
    """The significant digits (6 to LOSS_DIGITS) that tell the lowest and highest loss of
    these states apart: a run that starts next to the answer moves in the 9th digit."""
    finite = [state.loss for state in states if math.isfinite(state.loss)]
    return min(apart(min(finite), max(finite), 6), LOSS_DIGITS) if finite else 6


def frame_data(one_run: dict, i: int) -> list[dict]:
    """The values frame i of a run() gives the moving traces, its path included: what the
    player makes of it (PLAYER_JS in views_ui.py)."""
    return _with_path(one_run["frames"][i]["data"], one_run["path"], i + 1)


def _with_path(moving: list[dict], path: dict, n: int) -> list[dict]:
    """The moving traces but the path, with the path's first n points put in their place."""
    out = list(moving)
    out.insert(PATH_AT, {axis: _prefix(path[axis], n) for axis in ("x", "y")})
    return out


def _prefix(values: dict, n: int) -> dict:
    """The first n values of a typed() array."""
    size = np.dtype(values["dtype"]).itemsize
    return {
        "dtype": values["dtype"],
        "bdata": base64.b64encode(base64.b64decode(values["bdata"])[: n * size]).decode(),
    }


def combine(chart: dict, one_run: dict) -> dict:
    """The whole figure as the browser draws it: a chart() with a run() put in."""
    data = [dict(t) for t in chart["data"]]
    for i, values in zip(one_run["indices"], one_run["traces"], strict=True):
        data[i].update(values)
    layout = dict(chart["layout"], meta=one_run["layout"]["meta"])  # meta: the run's id
    for axis in ("xaxis2", "yaxis2", "xaxis3", "yaxis3", "legend2"):
        layout[axis] = dict(layout[axis], **one_run["layout"][axis])
    frames = [dict(f, data=frame_data(one_run, i)) for i, f in enumerate(one_run["frames"])]
    return {"data": data, "layout": layout, "frames": frames}


def _loss_axis(losses, frames, lowest: float, scale: str) -> dict:
    """The loss axis's range, ticks and title: on a log scale whole decades, at most LOSS_TICKS
    labels (Plotly's own would label 2 and 5 between them, which overlap on a phone), or
    Plotly's own when the range holds fewer than two decades; for losses that agree in their
    first digits, ticks from an offset (offset_ticks). (tickmode and the title are always
    given: Plotly.update would keep a previous run's otherwise.)"""
    seen = _seen(losses, frames, lowest, scale)
    close = offset_ticks(seen.min(), seen.max(), "loss", log=scale == "log")
    if close is not None:
        return close
    lo, hi = _loss_range(seen, scale)
    decades = math.floor(hi) - math.ceil(lo) + 1 if scale == "log" else 0  # whole ones in range
    titled = {"range": [lo, hi], "title": {"text": "loss"}}
    if decades < 2:
        return {**titled, "tickmode": "auto"}
    return {**titled, "tickmode": "linear", "tick0": 0, "dtick": -(-decades // LOSS_TICKS)}


def _seen(losses, frames, lowest: float, scale: str) -> np.ndarray:
    """The losses the loss axis shows: the curve's, the frames' and the lowest (those above 0
    only, on a log scale)."""
    seen = np.concatenate([losses, [state.loss for state in frames], [lowest]])
    return seen[np.isfinite(seen) & (seen > 0)] if scale == "log" else seen[np.isfinite(seen)]


def _loss_range(seen: np.ndarray, scale: str) -> list[float]:
    """The loss axis: from the lowest loss seen to the highest (log10 of them, on a log scale)."""
    lo, hi = float(seen.min()), float(seen.max())
    if scale == "log":
        lo, hi = math.log10(lo), math.log10(hi)
    return list(_pad(lo, hi, 0.05))


def offset_ticks(lo: float, hi: float, title: str, *, log: bool) -> dict | None:
    """An axis from lo to hi (> 0) when those agree in their first digits (a loss from
    98,256,748 to 98,256,755, where Plotly's labels would read 0.98256748×10⁸ and
    0.98256749×10⁸): its range, from a round number at or below lo, and ticks at round
    steps above it (2 to 5 of them from lo to hi), each written as what it adds to that
    number, which the title names ('loss − 98,256,748'). Ticks are in the data's units; the
    range is log10 of them on a `log` axis. None when lo and hi are CLOSE's fraction or more
    apart (or equal): Plotly's own ticks tell those apart."""
    if not (0 < lo < hi and math.isfinite(hi)) or hi - lo >= CLOSE * hi:
        return None
    power = 10.0 ** math.floor(math.log10((hi - lo) / 2))
    step = max(m * power for m in (1, 2, 5) if m * power <= (hi - lo) / 2)
    base = math.floor(lo / step) * step  # the ticks' 0 (a step lower if rounding put it above)
    base = base if base <= lo else base - step
    ticks = np.arange(math.floor((hi - base) / step) + 1) * step
    digits = math.floor(math.log10(base)) - math.floor(math.log10(step)) + 1
    bottom, top = base - 0.05 * (hi - base), hi + 0.05 * (hi - base)
    return {
        "range": [math.log10(bottom), math.log10(top)] if log else [bottom, top],
        "tickmode": "array",
        "tickvals": [base + t for t in ticks.tolist()],
        "ticktext": [number(t, 3) for t in ticks.tolist()],
        "title": {"text": f"{title} − {number(base, digits)}"},
    }


def typed(values, dtype: str = "f8") -> dict:
    """An array as plotly.js reads it fastest: {dtype, bdata (base64)}. f4 is only for what is
    drawn but never shown as a number (see coordinates)."""
    a = np.ascontiguousarray(values, dtype="<" + dtype)
    return {"dtype": dtype, "bdata": base64.b64encode(a.tobytes()).decode("ascii")}


def coordinates(values) -> dict:
    """Landscape coordinates (a path, contours), drawn but never shown as numbers: typed() as
    f4, half the bytes, unless they span less than FINE of their size, where float32's seven
    digits would draw steps (a run next to the answer on x in the thousands): then f8."""
    a = np.asarray(values, dtype=np.float64)
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return typed(a, "f4")
    span, size = np.ptp(finite), np.max(np.abs(finite))
    return typed(a, "f4" if span > FINE * size else "f8")


class Prebuilt(go.Figure):
    """A figure dict built (and checked in tests) here, for st.plotly_chart. Validating it
    again attribute by attribute takes about 0.1 s, and even an empty go.Figure() costs a
    millisecond, so there is no go.Figure underneath: only to_dict() works, and what it hands
    over is written as JSON by written(), with the parts frozen once (frozen()) copied as they
    are. A chart sent at every rerun so costs a copy, not a walk through its arrays."""

    def __init__(self, spec: dict):  # (go.Figure.__init__ is skipped on purpose)
        object.__setattr__(self, "_spec", spec)

    def to_dict(self) -> dict:
        return _Written(self._spec)


class _Written(dict):
    """What st.plotly_chart gets from Prebuilt.to_dict(): the layout's size, which Streamlit
    reads, and to_plotly_json(), which plotly.io.to_json asks a dict for before it writes it
    with orjson (a requirement of the page). With no "data" here, to_json has no trace to take
    a "uid" from."""

    def __init__(self, spec: dict):
        size = {k: spec["layout"][k] for k in ("width", "height") if k in spec["layout"]}
        super().__init__(layout=size)
        self.spec = spec

    def to_plotly_json(self) -> orjson.Fragment:
        """The figure as JSON, trace by trace: a frozen trace is copied, the rest written."""
        spec = self.spec
        data = b'"data":[' + b",".join(written(trace) for trace in spec["data"]) + b"]"
        rest = (written(k) + b":" + written(v) for k, v in spec.items() if k != "data")
        return orjson.Fragment(b"{" + b",".join((data, *rest)) + b"}")


# What plotly.io.to_json escapes in a figure's JSON (so that it can sit in a <script>), and
# everything beyond ASCII: JSON with none of them passes through to_json as it is.
_UNSAFE = re.compile(r"[<>/]|[^\x00-\x7f]")


def _escape(match: re.Match) -> str:
    """One character as JSON's \\u escape (a surrogate pair beyond the 65,536 first)."""
    c = match.group()
    return f"\\u{ord(c):04x}" if c.isascii() else json.dumps(c)[1:-1]


def written(value) -> bytes:
    """value as JSON in ASCII with <, > and / escaped: the same JSON value as plotly.io.to_json
    writes, in text it leaves as it is. orjson.Fragment parts (frozen()) are copied as they are."""
    raw = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    if raw.isascii() and b"<" not in raw and b">" not in raw and b"/" not in raw:
        return raw
    return _UNSAFE.sub(_escape, raw.decode()).encode()


def frozen(spec: dict) -> dict:
    """spec with its traces written as JSON once (written()), for a figure built once and sent
    at every rerun (Prebuilt). Its layout stays a dict, to read and to add marks to."""
    return {**spec, "data": [orjson.Fragment(written(trace)) for trace in spec["data"]]}


def pinned(
    frames: Sequence,
    curve: Sequence,
    *,
    x_range: tuple[float, float],
    label: str,
    look: int = 0,
    group: str = "pinned",
    opacity: float = 0.6,
) -> list[dict]:
    """A finished run as a faded, dashed copy on the three views, drawn once (not animated):
    its last line (named `label`, in the legend), its loss curve and its path ("label: loss",
    "label: path"), in OVERLAY_STYLES[look]. Its traces go after the figure's own, so the
    frames' trace indices stay as they are. States past 10 times the starting loss (a
    diverging run) are left out, and no trace is ever empty."""
    limit = 10 * frames[0].loss
    kept = [
        state for state in frames if math.isfinite(state.loss) and state.loss <= limit
    ] or frames[:1]
    shown = [
        state for state in curve if state.epoch > 0 and math.isfinite(state.loss) and state.loss > 0
    ]
    ends, last = np.array(x_range, dtype=np.float64), kept[-1]
    colour, dash, _ = OVERLAY_STYLES[look]
    style = {"legendgroup": group, "opacity": opacity, "hoverinfo": "skip", "showlegend": False}
    line = {"color": colour, "dash": dash, "width": 2.5}
    return [
        _scatter(ends, last.w * ends + last.b, label, **{**style, "showlegend": True}, line=line),
        _scatter(
            typed([state.epoch for state in shown] or [1], "i4"),
            typed([state.loss for state in shown] or [frames[0].loss]),
            f"{label}: loss",
            axes=2,
            line=line,
            **style,
        ),
        _scatter(
            coordinates([state.w for state in kept]),
            coordinates([state.b for state in kept]),
            f"{label}: path",
            axes=3,
            mode="lines+markers",
            **style,
            line={**line, "width": 1.5},
            marker={"size": 3, "color": colour},
        ),
    ]


# --- the landscape ----------------------------------------------------------------------------


def loss_window(states: Sequence, fit, *, keep: float = 10.0) -> tuple[tuple, tuple]:
    """A (W, b) window holding the start, the optimum and the path; points whose excess loss is
    over `keep` times the start's (a diverging run) are left outside."""
    start = states[0]
    limit = keep * max(start.loss - fit.loss, 0.0) + fit.loss
    pts = [(fit.w, fit.b), (start.w, start.b)]
    pts += [
        (state.w, state.b) for state in states if math.isfinite(state.loss) and state.loss <= limit
    ]
    ws, bs = np.array(pts).T
    return _pad(ws.min(), ws.max()), _pad(bs.min(), bs.max())


def _pad(lo: float, hi: float, margin: float = 0.08) -> tuple[float, float]:
    span = hi - lo
    if span <= 1e-9 * max(abs(lo), abs(hi), 1.0):
        span = max(abs(lo), abs(hi), 1.0) * 0.1
        return lo - span, hi + span
    return lo - margin * span, hi + margin * span


def contour_levels(mom, window, count: int = LEVELS) -> np.ndarray:
    """Values of loss − loss*, half a decade apart, from the window's largest down."""
    (w_lo, w_hi), (b_lo, b_hi) = window
    corners = [(w - mom.fit.w, b - mom.fit.b) for w in (w_lo, w_hi) for b in (b_lo, b_hi)]
    top = max(_excess(mom, ew, eb) for ew, eb in corners)
    return 10.0 ** (math.floor(2 * math.log10(top)) / 2 - 0.5 * np.arange(count))


def _excess(mom, ew, eb):
    """loss − loss* = ½·(var x·ew² + (eb + mean x·ew)²), written to keep its digits."""
    return 0.5 * (mom.x_var * ew * ew + (eb + mom.x_mean * ew) ** 2)


def ellipse(mom, level: float, reach: float, count: int = ARC) -> tuple[np.ndarray, ...]:
    """The points (W, b) where loss − loss* = level, as far as `reach` from the optimum: a
    closed ellipse, or both long sides of one too long to show whole."""
    (lam_max, _), ((q1w, q2w), (q1b, q2b)) = eigen(mom.hessian)
    lam_min = mom.x_var / lam_max  # det H = var x exactly
    long, short = math.sqrt(2 * level / lam_min), math.sqrt(2 * level / lam_max)
    t = np.linspace(-1, 1, count) * math.asin(min(1.0, reach / long))
    s, h = long * np.sin(t), short * np.cos(t)
    s, h = np.concatenate([s, s[::-1], s[:1]]), np.concatenate([h, -h, h[:1]])
    return mom.fit.w + q2w * s + q1w * h, mom.fit.b + q2b * s + q1b * h


def _landscape_xy(mom, window) -> tuple[dict, dict]:
    """The contour ellipses as one closed path (NaN between ellipses), and the optimum. Every
    other ellipse runs the other way round, so the fill (nonzero rule) shades alternate bands
    between levels."""
    (w_lo, w_hi), (b_lo, b_hi) = window
    reach = 2 * math.hypot(
        max(abs(w_lo - mom.fit.w), abs(w_hi - mom.fit.w)),
        max(abs(b_lo - mom.fit.b), abs(b_hi - mom.fit.b)),
    )
    ws, bs = [], []
    for k, level in enumerate(contour_levels(mom, window)):
        w, b = ellipse(mom, level, reach)
        step = 1 if k % 2 == 0 else -1
        ws += [w[::step], [np.nan]]
        bs += [b[::step], [np.nan]]
    contours = {"x": coordinates(np.concatenate(ws)), "y": coordinates(np.concatenate(bs))}
    return contours, {"x": [mom.fit.w], "y": [mom.fit.b]}


def _landscape_traces(contours: dict, optimum: dict) -> list[dict]:
    """The contours, filled, and the optimum marked with a star."""
    return [
        _scatter(
            **contours,
            name="contours",
            axes=3,
            fill="toself",
            fillcolor=LEVEL_FILL,
            showlegend=False,
            line={"color": LEVEL_LINE, "width": 1},
            hoverinfo="skip",
        ),
        _scatter(
            **optimum,
            name="optimum",
            axes=3,
            mode="markers",
            showlegend=False,
            hovertemplate="least squares<br>W %{x:.6g}<br>b %{y:.6g}<extra></extra>",
            marker={
                "symbol": "star",
                "size": 15,
                "color": LSTSQ,
                "line": {"width": 1, "color": "white"},
            },
        ),
    ]


def direction_lines(x, y, window, *, standardize: bool = False) -> list[dict]:
    """The Hessian's two eigen-directions (largest eigenvalue first) through the least-squares
    answer (W*, b*), each a segment across the landscape's `window`, then their labels (see
    _direction_traces). They are the directions of lrcore.directions(): H's in the coordinates
    training steps in, (u, c) = (W·s, b + W·m) on standardized x (m = 0, s = 1 on raw x),
    where a step (du, dc) is (du/s, dc − du·m/s) in (W, b)."""
    prob = Problem(x, y, standardize)
    at = np.array([prob.mom.fit.w, prob.mom.fit.b])
    centre = np.array([sum(window[0]), sum(window[1])]) / 2
    lines, labels = [], {"x": [], "y": []}
    for du, dc in prob.q.T:
        along = np.array([du / prob.s, dc - du * prob.m / prob.s])
        lo, hi = _across(window, at, along)
        ws, bs = (at[:, None] + along[:, None] * [lo, hi]).tolist()
        lines.append({"x": ws, "y": bs})
        label = at + along * LABEL_AT * (hi if hi >= -lo else lo)  # on the longer side
        corner = LABEL_CORNERS.index(_towards(label, centre))
        for axis, value in zip("xy", label.tolist(), strict=True):
            labels[axis] += [value if k == corner else None for k in range(len(LABEL_CORNERS))]
    return [*lines, labels]


def _across(window, at: np.ndarray, along: np.ndarray) -> tuple[float, float]:
    """The t (lo ≤ 0 ≤ hi) for which at + t·along stays in the window (at is inside it)."""
    lo, hi = -math.inf, math.inf
    for (edge_lo, edge_hi), a, v in zip(window, at, along, strict=True):
        if v != 0:
            t1, t2 = sorted(((edge_lo - a) / v, (edge_hi - a) / v))
            lo, hi = max(lo, t1), min(hi, t2)
    return lo, hi


def _towards(point: np.ndarray, centre: np.ndarray) -> str:
    """Where a label at `point` goes so that it reads inside the view: towards its centre."""
    return ("bottom " if point[1] > centre[1] else "top ") + (
        "left" if point[0] > centre[0] else "right"
    )


def _direction_traces(values: list[dict]) -> list[dict]:
    """The eigen-directions on the landscape: thin dash-dot lines in their colours, and one
    trace of their labels in the axes' text colour. A label may go at any of LABEL_CORNERS of
    its point: the run puts the point at one of them (direction_lines), the others are empty
    (a run sends only points, and the text sits where it reads inside the view)."""
    *lines, labels = values
    text = [name for name in DIRECTION_NAMES for _ in LABEL_CORNERS]
    return [
        _scatter(
            **xy,
            name=name,
            axes=3,
            showlegend=False,
            hovertemplate=f"{name}: an eigen-direction of the loss's curvature H<extra></extra>",
            line={"color": TEXT, "width": 1.5, "dash": dash},
        )
        for xy, name, dash in zip(lines, DIRECTION_NAMES, ("dashdot", "longdashdot"), strict=True)
    ] + [
        _scatter(
            **labels,
            name="directions' labels",
            axes=3,
            mode="text",
            text=text,
            textposition=list(LABEL_CORNERS) * len(DIRECTION_NAMES),
            showlegend=False,
            hoverinfo="skip",
        )
    ]


# --- the traces -------------------------------------------------------------------------------


def _data_traces(x, y, out, fit, truth) -> list[dict]:
    """The data once (the points fitted, and those left out: hollow, in the legend if any),
    and the true and least-squares lines (shown; a click in the legend hides one), their
    equations in their hover text."""
    ends = [float(x.min()), float(x.max())]
    left_out = {"x": typed(x[out]), "y": typed(y[out])} if out.any() else {"x": [None], "y": [None]}
    return [
        _scatter(
            typed(x[~out]),
            typed(y[~out]),
            "data",
            mode="markers",
            hoverinfo="skip",
            showlegend=False,
            marker={"size": 4, "color": DATA, "opacity": 0.55},
        ),
        _scatter(
            **left_out,
            name=f"left out ({out.sum():,})",
            mode="markers",
            hoverinfo="skip",
            showlegend=bool(out.any()),
            marker={"size": 6, "color": LEFT_OUT, "symbol": "circle-open", "line": {"width": 1.5}},
        ),
        _scatter(
            ends,
            [truth[0] * e + truth[1] for e in ends] if truth else [None, None],
            "true line",
            visible=bool(truth),
            **({"hovertemplate": f"true line: {equation(*truth)}<extra></extra>"} if truth else {}),
            line={"color": TRUE, "dash": "dash"},
        ),
        _scatter(
            ends,
            [fit.w * e + fit.b for e in ends],
            "least squares",
            hovertemplate=f"least squares: {equation(fit.w, fit.b)}<extra></extra>",
            line={"color": LSTSQ, "dash": "dot", "width": 2},
        ),
    ]


def _curve_traces(curve: dict, floor: dict) -> list[dict]:
    """The loss curve (from epoch 1: its axis is logarithmic) and the lowest loss."""
    return [
        _scatter(
            **curve,
            name="loss",
            axes=2,
            showlegend=False,
            line={"color": FITTED},
            hovertemplate="epoch %{x:,}<br>loss %{y:.6g}<extra></extra>",
        ),
        _scatter(
            **floor,
            name="lowest loss",
            axes=2,
            showlegend=False,
            line={"color": LSTSQ, "dash": "dot", "width": 1},
            hovertemplate="lowest loss %{y:.6g}<extra></extra>",
        ),
    ]


def _moving(state, x_lo: float, x_hi: float) -> list[dict]:
    """What moves at one frame but the path (see _with_path): fitted line, loss marker, current
    point. None of them is ever empty, nor is the path: Plotly drops a subplot's other traces
    when an animation frame leaves it with nothing to draw."""
    shown = state.epoch > 0  # the loss axis is logarithmic in epochs: epoch 0 has no place on it
    return [
        {"x": [x_lo, x_hi], "y": [state.w * x_lo + state.b, state.w * x_hi + state.b]},
        {"x": [state.epoch if shown else None], "y": [state.loss if shown else None]},
        {"x": [state.w], "y": [state.b]},
    ]


STEP_DIGITS = 10  # an arrow's ends, to this many significant digits (the run's message is
# smaller; to scale, 4 would do)


def _step_traces(step: dict | None) -> list[dict]:
    """The arrows of one frame's update (frame_steps: each its tail and its change of W and
    b): for each of STEPS, its tail and tip, and the change in words (the hover: an arrow too
    short to see at the landscape's scale still says how long it is); [None] where there is
    none."""
    out = []
    for key, *_ in STEPS:
        if step is None or key not in step:
            out.append({"x": [None], "y": [None], "text": ""})
            continue
        w, b, dw, db = step[key]
        ends = [float(f"{v:.{STEP_DIGITS}g}") for v in (w, w + dw, b, b + db)]
        text = f"ΔW = {number(dw, 4)}, Δb = {number(db, 4)}"
        out.append({"x": ends[:2], "y": ends[2:], "text": text})
    return out


def _arrows(arrows: list[dict]) -> list[dict]:
    """The arrows with their styles: a line with an arrowhead at its tip, in the landscape's
    own legend (legend2)."""
    return [
        _scatter(
            **arrow,
            name=name,
            axes=3,
            mode="lines+markers",
            legend="legend2",
            showlegend=False,  # (a run shows the arrows it draws)
            hovertemplate="%{text}",  # (and the arrow's name beside it)
            line={"color": colour, "width": width},
            marker={"symbol": "arrow", "angleref": "previous", "size": [0, 12], "color": colour},
        )
        for arrow, (_, name, colour, width) in zip(arrows, STEPS, strict=True)
    ]


def _styled(moving: list[dict]) -> list[dict]:
    """The moving traces with their styles."""
    line, mark, path, now, *arrows = moving
    return [
        _scatter(
            **line,
            name="fitted line",
            hoverinfo="skip",
            legendrank=1,  # first in the legend
            line={"color": FITTED, "width": 3},
        ),
        _scatter(
            **mark,
            name="now",
            axes=2,
            mode="markers",
            showlegend=False,
            hoverinfo="skip",
            marker={"size": 10, "color": FITTED},
        ),
        _scatter(
            **path,
            name="path",
            axes=3,
            mode="lines+markers",
            showlegend=False,
            hoverinfo="skip",
            line={"color": PATH, "width": 1.5},
            marker={"size": 3, "color": PATH},
        ),
        _scatter(
            **now,
            name="W, b now",
            axes=3,
            mode="markers",
            showlegend=False,
            hoverinfo="skip",
            marker={"size": 12, "color": FITTED, "symbol": "circle-open", "line": {"width": 3}},
        ),
        *_arrows(arrows),
    ]


def _scatter(x, y, name: str, *, axes: int = 1, mode: str = "lines", **style) -> dict:
    """A scatter trace dict on subplot `axes` (1: data, 2: loss, 3: landscape)."""
    suffix = "" if axes == 1 else str(axes)
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "name": name,
        "mode": mode,
        "xaxis": "x" + suffix,
        "yaxis": "y" + suffix,
        **style,
    }


# --- layout -----------------------------------------------------------------------------------


# Where the views sit (paper fractions: x domain, y domain), side by side and, on a phone,
# stacked; each view's title sits above its top left corner.
WIDE = {"": ([0, 0.47], [0.1, 1]), "2": ([0.57, 1], [0.68, 1]), "3": ([0.57, 1], [0.1, 0.5])}
# on a phone the data view is the lowest, right above the player that moves its line
NARROW = {"": ([0, 1], [0.07, 0.37]), "2": ([0, 1], [0.85, 1]), "3": ([0, 1], [0.54, 0.74])}
# px above the top view's title on a phone: Plotly's toolbar (about 28 px tall, as wide as
# most of a phone) would cover it otherwise
NARROW_TOP = 56
TITLE_LENGTH = 40  # characters of an axis title from a file's column name


def narrow_layout(corner: tuple[int, int] = CORNERS[0]) -> dict:
    """Plotly.relayout arguments that stack the three views for a phone-wide chart: loss, then
    landscape, then data (right above the player), in one column (at the same height:
    Streamlit keeps the chart's), with fewer labels on the loss axes, room for the toolbar
    above them, and the arrows' legend in the landscape's `corner` (steps_corner)."""
    out = {"xaxis2.title.text": "", "legend.font.size": 10, "yaxis2.nticks": LOSS_TICKS}
    out["margin.t"] = NARROW_TOP  # the toolbar above the loss view's title, not on it
    out["legend.y"] = NARROW[""][1][1]  # the legend stays in the data view's corner
    for i, (view, (x_domain, y_domain)) in enumerate(NARROW.items()):
        out |= {f"xaxis{view}.domain": x_domain, f"yaxis{view}.domain": y_domain}
        out |= {f"annotations[{i}].x": x_domain[0], f"annotations[{i}].y": y_domain[1]}
    out["legend2.font.size"] = 10
    return out | {f"legend2.{k}": v for k, v in steps_legend(NARROW["3"], corner).items()}


def steps_corner(frames: Sequence, fit, window, marks: Sequence = ()) -> tuple[int, int]:
    """The corner of the landscape (CORNERS) whose legend-sized box holds the fewest of the
    path's points, the start and (ten times over) the optimum and the `marks` (the directions'
    labels): the arrows' legend goes there."""
    (w_lo, w_hi), (b_lo, b_hi) = window
    points = [(state.w, state.b) for state in frames] + [(fit.w, fit.b), *marks] * 10
    u, v = np.array(points, dtype=np.float64).T
    with np.errstate(all="ignore"):  # (a diverged run's last points: inf or nan, never inside)
        u, v = (u - w_lo) / (w_hi - w_lo), (v - b_lo) / (b_hi - b_lo)

    def inside(corner) -> int:
        (cu, cv), (du, dv) = corner, LEGEND_BOX
        near_u = u >= 1 - du if cu else u <= du
        near_v = v >= 1 - dv if cv else v <= dv
        return int(np.sum(near_u & near_v & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)))

    return min(CORNERS, key=inside)  # (the first of the fewest)


def steps_legend(view, corner: tuple[int, int] = CORNERS[0]) -> dict:
    """The arrows' legend (legend2) in a `corner` (CORNERS) of the landscape at `view` (its
    x and y domains)."""
    (x_lo, x_hi), (y_lo, y_hi) = view
    cu, cv = corner
    return {
        "x": x_hi if cu else x_lo,
        "y": y_hi if cv else y_lo,
        "xanchor": "right" if cu else "left",
        "yanchor": "top" if cv else "bottom",
    }


def _titles() -> list[dict]:
    """The views' titles (plain annotations: cheap to draw again at each run)."""
    return [
        {
            "text": text,
            "x": x_domain[0],
            "y": y_domain[1],
            "xref": "paper",
            "yref": "paper",
            "xanchor": "left",
            "yanchor": "bottom",
            "yshift": 2,
            "showarrow": False,
            "font": {"size": 14},
        }
        for text, (x_domain, y_domain) in zip(TITLES, WIDE.values(), strict=True)
    ]


def plain_text(text: str) -> str:
    """User text (a column name) as Plotly shows it as itself: no tags (<b>), entities or
    maths ($…$) apply, and a long one is cut short."""
    text = str(text)
    if len(text) > TITLE_LENGTH:
        text = text[: TITLE_LENGTH - 1] + "…"
    return html.escape(text, quote=False).replace("$", "&#36;")


def _layout(x, y, loss_scale: str, axis_titles: tuple[str, str]) -> dict:
    """Axes, the views' titles and the legend (the fitted line, and the reference lines it
    hides or shows); the run sets the loss and landscape axes' ranges. Colours are neutral
    and backgrounds clear, for light and dark pages: Streamlit's own chart theme would double
    the time Plotly takes to draw the figure."""
    x_range = _pad(float(np.min(x)), float(np.max(x)), 0.02)
    y_range = _pad(float(np.min(y)), float(np.max(y)), 0.05)
    (x1, y1), (x2, y2), (x3, y3) = WIDE.values()
    x_title, y_title = map(plain_text, axis_titles)
    return {
        "height": 560,
        "template": "none",
        "margin": {"l": 60, "r": 20, "t": 26, "b": 10},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": '"Source Sans", sans-serif', "color": TEXT, "size": 12},
        "hovermode": "closest",
        # dragging selects points (the page leaves them out of the fit); a selection is an
        # event at once (Streamlit would otherwise set clickmode only after its first redraw)
        "dragmode": "select",
        "clickmode": "event",
        "legend": {
            "x": 0.005,
            "y": 1,
            "xanchor": "left",
            "yanchor": "top",
            "bgcolor": "rgba(128,128,128,0.12)",
        },
        "legend2": {
            **steps_legend(WIDE["3"]),
            "bgcolor": "rgba(128,128,128,0.12)",
            "font": {"size": 11},
        },
        "annotations": _titles(),
        "xaxis": _axis(x_title, x1, x_range, "y"),
        "yaxis": _axis(y_title, y1, y_range, "x"),
        # (its labels a little lower: clear of the loss axis's lowest, in the corner between)
        "xaxis2": _axis("epoch", x2, [0, 1], "y2", type="log", ticklabelstandoff=4),
        "yaxis2": _axis(
            "loss",
            y2,
            [0, 1],
            "x2",
            type=loss_scale,
            exponentformat="power" if loss_scale == "log" else "B",
        ),
        "xaxis3": _axis("W", x3, [0, 1], "y3"),
        "yaxis3": _axis("b", y3, [0, 1], "x3"),
    }


def _axis(title: str, domain, range_, anchor: str, **more) -> dict:
    return {
        "title": {"text": title},
        "domain": domain,
        "anchor": anchor,
        "range": list(range_),
        "gridcolor": GRID,
        "zeroline": False,
        # fixed margins: Plotly's automargin pass about doubled the draw of a chart for new
        # data (its views still empty); the margins and domains leave room for the longest
        # tick labels real data gives (test_browser_figures)
        "automargin": False,
        **more,
    }
