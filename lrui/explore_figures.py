"""The Explore section's figures: a sweep of runs (lrcore.sweep) drawn as curves and a map.

    curve():  step size η (log axis)  ×  loss after the epochs  |  epochs to 1%
    grid():   step size η (log axis)  ×  momentum β, coloured by the epochs to 1%

Each grid point is a whole run. Every drawn point carries its own `customdata`: the step size
η, the momentum β and the largest stable step at that β, so a click on it tells the page which
run to show, and how to round η (lrcore.rounded_step) without crossing the stability limit.

Pure: arrays in, Plotly figure dicts out (no Streamlit here). Colours are figures.py's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .figures import DATA, FITTED, GRID, LSTSQ, PATH, PINNED, TEXT, offset_ticks, typed
from .text import apart, fmt

SHADE = "rgba(213,94,0,0.10)"  # the diverging region: FITTED, faint
DIVERGED_CELL = "rgba(213,94,0,0.30)"  # a diverged cell of the map
SCALE = "Viridis"  # fast (few epochs) dark, slow bright: readable by colour-blind eyes
CURVE_HEIGHT, GRID_HEIGHT = 460, 456


class Marks(NamedTuple):
    """The step sizes a curve marks with a vertical line (None: not marked)."""

    limit: float  # the largest stable step: beyond it the runs diverge (shaded, if sharp)
    fastest: float | None  # gd's fastest step 2/(λmin + λmax)
    sharp: bool = True  # the limit is the optimizer's own (gd, momentum, nesterov): shade past it
    limit_label: str = "limit"  # what the limit line says
    fastest_label: str = "fastest"


def step_range(limit: float, lo: float, hi: float) -> tuple[float, float]:
    """The step sizes a sweep spans: from 1000 times below the stability limit up to 3 times
    above it, within the slider's range lo..hi (all of it, should that leave nothing)."""
    bottom, top = max(lo, limit / 1000), min(hi, 3 * limit)
    return (bottom, top) if bottom < top else (lo, hi)


def best_point(epochs: np.ndarray, loss: np.ndarray) -> tuple[int, ...] | None:
    """The index of the fastest run: fewest epochs to 1%, then the lowest loss (None if none
    got within 1%)."""
    finite = np.isfinite(epochs)
    if not finite.any():
        return None
    order = np.lexsort(
        (np.where(finite, loss, np.inf).ravel(), np.where(finite, epochs, np.inf).ravel())
    )
    return tuple(int(i) for i in np.unravel_index(order[0], epochs.shape))


def curve(
    step_sizes,
    loss,
    epochs,
    diverged,
    *,
    iterations: int,
    marks: Marks,
    simulated: bool = False,
    none_within: str = "try more epochs",
) -> dict:
    """Two stacked plots over the step size: the loss after `iterations` epochs (diverged runs
    as crosses along the top) and the epochs to get within 1% of the optimum (runs that never
    did are left out; if none did, the lower plot says so, and `none_within`: what would),
    with the limit and the fastest step as vertical lines (the current step: with_current) and
    the diverging region shaded. Each point's customdata: [η, None,
    limit] (no β: a click keeps the momentum)."""
    eta = np.asarray(step_sizes, dtype=np.float64)
    loss, epochs = np.asarray(loss, dtype=np.float64), np.asarray(epochs, dtype=np.float64)
    diverged = np.asarray(diverged, dtype=bool)
    custom = np.column_stack([eta, np.full(len(eta), np.nan), np.full(len(eta), marks.limit)])
    kept = ~diverged & np.isfinite(loss) & (loss > 0)
    top = float(loss[kept].max()) if kept.any() else 1.0
    bottom = float(loss[kept].min()) if kept.any() else 1.0
    title = f"loss after {iterations:,} epochs"  # its hover: 2 more digits than tell apart
    point = {"size": 5}
    how = "simulated runs" if simulated else "runs"
    data = [
        _scatter(
            eta,
            _or_none(loss, kept),
            "loss",
            "y",
            custom,
            f"η %{{x:.3g}}<br>{title} %{{y:.{min(apart(bottom, top) + 2, 17)}g}}<extra></extra>",
            line={"color": PINNED, "width": 2},
            marker={**point, "color": PINNED},
        ),
        _scatter(
            eta[diverged],
            [top] * int(diverged.sum()),
            "diverged",
            "y",
            custom[diverged],
            "η %{x:.3g}<br>diverged<extra></extra>",
            mode="markers",
            marker={
                "size": 7,
                "color": FITTED,
                "symbol": "x-thin",
                "line": {"width": 2, "color": FITTED},
            },
        ),
        _scatter(
            eta,
            _or_none(epochs, np.isfinite(epochs) & ~diverged),
            "epochs to 1%",
            "y2",
            custom,
            "η %{x:.3g}<br>within 1% at epoch %{y:,}<extra></extra>",
            line={"color": LSTSQ, "width": 2},
            marker={**point, "color": LSTSQ},
        ),
    ]
    lo, hi = math.log10(eta.min()), math.log10(eta.max())
    pad = 0.02 * max(hi - lo, 1e-9)
    x_range = [lo - pad, hi + pad]
    shapes, notes = _marks(marks, x_range)
    if not (np.isfinite(epochs) & ~diverged).any():  # an empty lower plot says why
        notes.append(
            {
                "name": "none within 1%",
                "text": f"No run gets within 1% in {iterations:,} epochs: {none_within}",
                "x": 0.5,
                "xref": "x2 domain",
                "y": 0.5,
                "yref": "y2 domain",
                "showarrow": False,
                "font": {"size": 13},
            }
        )
    layout = _layout(CURVE_HEIGHT)
    layout.update(
        xaxis=_axis("", [0, 1], x_range, "y", type="log", showticklabels=False),
        xaxis2=_axis(
            "step size η", [0, 1], x_range, "y2", type="log", matches="x", exponentformat="power"
        ),
        yaxis=_loss_axis(title, bottom, top),
        yaxis2=_axis("epochs to 1%", [0, 0.44], None, "x2", type="log", exponentformat="power"),
        shapes=shapes,
        annotations=notes,
        title={
            "text": f"{len(eta)} {how} of {iterations:,} epochs each",
            "x": 0.01,
            "font": {"size": 13},
        },
    )
    layout["margin"]["t"] = 36
    return {"data": data, "layout": layout}


def _loss_axis(title: str, lo: float, hi: float) -> dict:
    """The upper plot's loss axis (log) from lo to hi, titled `title`: Plotly's ticks, or for
    losses that agree in their first digits (every run stalls at about the same loss) ticks
    from an offset that the title names (figures.offset_ticks; the chart's title says after
    how many epochs)."""
    axis = _axis(title, [0.54, 1], None, "x", type="log", exponentformat="power")
    return {**axis, **(offset_ticks(lo, hi, "loss", log=True) or {})}


def _marks(marks: Marks, x_range: list[float]) -> tuple[list[dict], list[dict]]:
    """Vertical lines through both plots (and the diverging region past a sharp limit, shaded)
    as shapes, and their labels as annotations: the limit's above the plots, the fastest
    step's in the gap between them, "diverges" in the lower plot's top corner, which no run
    fills (the current step's label goes at the bottom: with_current). The two values get
    the digits that tell them apart: the fastest gd step is 1/κ below the limit."""
    right = 10 ** x_range[1]
    sig = 4 if marks.fastest is None else apart(marks.limit, marks.fastest)
    shapes, notes = [], []
    if marks.sharp and marks.limit < right:
        shapes.append(
            {
                "type": "rect",
                "name": "diverges",
                "xref": "x",
                "yref": "paper",
                "x0": marks.limit,
                "x1": right,
                "y0": 0,
                "y1": 1,
                "layer": "below",
                "fillcolor": SHADE,
                "line": {"width": 0},
            }
        )
        notes.append(
            {
                "name": "diverges",
                "text": "diverges",
                "x": x_range[1],
                "xref": "x",
                "y": 1,
                "yref": "y2 domain",
                "xanchor": "right",
                "yanchor": "top",
                "xshift": -4,
                "showarrow": False,
                "font": {"color": TEXT, "size": 11},
            }
        )
    lines = [
        (
            "limit",
            marks.limit,
            f"{marks.limit_label} = {fmt(marks.limit, sig)}",
            FITTED,
            "dot",
            1.0,
        ),
        (
            "fastest",
            marks.fastest,
            f"{marks.fastest_label} = {fmt(marks.fastest or 0, sig)}",
            LSTSQ,
            "dash",
            0.47,
        ),
    ]
    for name, x, text, colour, dash, y in lines:
        if x is not None:
            shape, note = _line(name, x, text, colour, dash, y, x_range)
            shapes.append(shape)
            notes.append(note)
    return shapes, notes


def _line(name, x, text, colour, dash, y, x_range) -> tuple[dict, dict]:
    """A vertical line at step size x through both plots, in its colour and dash, and its label
    at height y (paper), on the side of the line with more room (the limit and the fastest step
    may be a hair apart). Labels are text in the theme's colour: no one colour reads at 4.5:1 on
    both themes."""
    shape = {
        "type": "line",
        "name": name,
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "dash": dash, "width": 2},
    }
    where = (math.log10(x) - x_range[0]) / (x_range[1] - x_range[0])
    note = {
        "name": name,
        "text": text,
        "x": math.log10(x),
        "xref": "x",
        "y": y,
        "yref": "paper",
        "yanchor": "bottom",
        "showarrow": False,
        "xanchor": "right" if where > 0.5 else "left",
        "xshift": -4 if where > 0.5 else 4,
        "font": {"color": TEXT, "size": 11},  # text in the theme's colour (figures.TEXT_CSS)
    }
    return shape, note


def with_current(spec: dict, eta: float) -> dict:
    """The curve `spec` with the run on screen (step size eta) marked: a new figure dict that
    shares spec's traces, so a spec built once (and cached) serves every step size."""
    layout = spec["layout"]
    shape, note = _line(
        "current", eta, f"this run {eta:g}", PATH, "solid", 0.0, layout["xaxis"]["range"]
    )
    layout = {
        **layout,
        "shapes": [*layout["shapes"], shape],
        "annotations": [*layout["annotations"], note],
    }
    return {"data": spec["data"], "layout": layout}


def beta_y(beta) -> np.ndarray:
    """Where β sits on the map's vertical axis: −log10(1 − β), so that 0.9, 0.99 and 0.999 are
    as far apart as 0 and 0.9 (momentum's interesting part is close to 1)."""
    return -np.log10(1 - np.asarray(beta, dtype=np.float64))


BETA_TICKS = (0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def grid(
    step_sizes,
    momenta,
    epochs,
    diverged,
    *,
    iterations: int,
    boundary: tuple[Sequence[float], Sequence[float]],
    best: tuple[float, float] | None,
    limits: Sequence[float],
    title: str = "",
) -> dict:
    """The map over step size (columns, log-spaced; x = log10 η) × momentum β (rows; y =
    beta_y(β)): each cell coloured by log10 of its epochs to 1%, diverged cells faint
    vermillion, cells that never got within 1% left empty; the stability boundary (`boundary`:
    (betas, the largest stable η of each)) and the best (η, β) (the current one: with_point).
    `limits`: the largest stable η of each row, carried by its cells (customdata [η, β, limit,
    what the run did]). `title`: above the legend, on a line of its own."""
    eta, beta = np.asarray(step_sizes, np.float64), np.asarray(momenta, np.float64)
    epochs, diverged = np.asarray(epochs, np.float64), np.asarray(diverged, bool)
    lx, ly = np.log10(eta), beta_y(beta)
    good = np.isfinite(epochs) & ~diverged & (epochs > 0)
    z = np.where(good, np.log10(np.where(good, epochs, 1)), np.nan)
    lo_z, hi_z = (np.floor(np.nanmin(z)), np.ceil(np.nanmax(z))) if good.any() else (0, 1)
    ticks = np.arange(lo_z, max(hi_z, lo_z + 1) + 1)
    gx, gy = np.meshgrid(lx, ly)
    # Each cell's [η, β, limit (7 significant digits), epochs to 1%], as float arrays (orjson
    # writes them whole), and what its run did in its trace's hover text, not per cell: the
    # map is sent at every rerun while it is open, so its size is the section's cost.
    rows, cols = len(beta), len(eta)
    custom = np.column_stack(
        [
            np.tile(eta, rows),
            np.repeat(beta, cols),
            np.repeat([_short(m) for m in limits], cols),
            np.where(good, epochs, np.nan).ravel(),
        ]
    )
    outcome = {
        "runs": good.ravel(),
        "runs that diverged": diverged.ravel(),
        "runs not within 1%": ~(good | diverged).ravel(),
    }
    said = {
        "runs": "1% at epoch %{customdata[3]:,}",
        "runs that diverged": "diverged",
        "runs not within 1%": f"not within 1% in {iterations:,} epochs",
    }
    cells = {"x": _list(lx), "y": _list(ly), "hoverinfo": "skip", "type": "heatmap"}
    bx, by = np.log10(np.asarray(boundary[1], np.float64)), beta_y(boundary[0])
    data = [
        {
            **cells,
            "name": "epochs to 1%",
            "z": _grid_z(z, "f4"),  # a colour: 7 digits are plenty
            "colorscale": SCALE,
            "zmin": float(ticks[0]),
            "zmax": float(ticks[-1]),
            "colorbar": {
                "title": {"text": "epochs<br>to 1%", "side": "top"},
                "tickvals": _list(ticks),
                "ticktext": [fmt(10.0**t, 3) for t in ticks],
                "thickness": 14,
                "outlinewidth": 0,
            },
        },
        {
            **cells,
            "name": "diverged",
            "z": _grid_z(diverged.astype(np.uint8), "u1"),  # 1: diverged, 0: clear
            "zmin": 0,
            "zmax": 1,
            "colorscale": [[0, "rgba(0,0,0,0)"], [1, DIVERGED_CELL]],
            "showscale": False,
        },
        *(
            {  # the cells to hover over and click, one trace for each outcome
                "type": "scatter",
                "name": name,
                "mode": "markers",
                "x": typed(gx.ravel()[keep], "f4"),
                "y": typed(gy.ravel()[keep], "f4"),
                "customdata": custom[keep],
                "hovertemplate": "η %{customdata[0]:.3g}, β %{customdata[1]:.3g}<br>"
                f"{said[name]}<extra></extra>",
                "marker": {"size": 9, "symbol": "square", "color": "rgba(0,0,0,0)"},
                "selected": {"marker": {"opacity": 1}},
                "unselected": {"marker": {"opacity": 1}},
                "showlegend": False,
            }
            for name, keep in outcome.items()
            if keep.any()
        ),
        {
            "type": "scatter",
            "name": "stability boundary",
            "mode": "lines",
            "x": _list(bx),
            "y": _list(by),
            "line": {"color": FITTED, "width": 2.5},
            "hoverinfo": "skip",
        },
    ]
    if best is not None:
        star = {
            "symbol": "star",
            "size": 16,
            "color": LSTSQ,
            "line": {"width": 1, "color": "white"},
        }
        data.append(_point(best, "best (η, β)", star))
    x_pad = 0.5 * (lx[-1] - lx[0]) / max(len(lx) - 1, 1)
    y_pad = 0.5 * (ly[-1] - ly[0]) / max(len(ly) - 1, 1)
    decades = np.arange(np.ceil(lx[0] - 1e-9), np.floor(lx[-1] + 1e-9) + 1)
    layout = _layout(GRID_HEIGHT)
    layout.update(
        xaxis=_axis(
            "step size η",
            [0, 1],
            [lx[0] - x_pad, lx[-1] + x_pad],
            "y",
            tickvals=_list(decades),
            ticktext=[_power(d) for d in decades],
        ),
        yaxis=_axis(
            "momentum β",
            [0, 1],
            [ly[0] - y_pad, ly[-1] + y_pad],
            "x",
            tickvals=_list(beta_y(BETA_TICKS)),
            ticktext=[f"{b:g}" for b in BETA_TICKS],
        ),
        legend={
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "bgcolor": "rgba(0,0,0,0)",
        },
        title={  # its own line, above the legend's
            "text": title,
            "x": 0.01,
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 8},
            "font": {"size": 13},
        },
    )
    layout["margin"]["t"] = 56
    return {"data": data, "layout": layout}


def with_point(spec: dict, at: tuple[float, float]) -> dict:
    """The map `spec` with the run on screen, (η, β) = `at`, ringed: a new figure dict that
    shares spec's traces and layout (built once, cached)."""
    ring = {"symbol": "circle-open", "size": 14, "color": PATH, "line": {"width": 3}}
    return {"data": [*spec["data"], _point(at, "this run", ring)], "layout": spec["layout"]}


def _short(v: float) -> float:
    """v to 7 significant digits (shorter in JSON)."""
    return float(f"{v:.7g}")


def _grid_z(z: np.ndarray, dtype: str = "f4") -> dict:
    """A heatmap's z (rows × columns) as a typed 2-D array: NaN leaves a cell empty."""
    return {**typed(z, dtype), "shape": f"{z.shape[0]},{z.shape[1]}"}


def _power(decade: float) -> str:
    """10 to a whole power, as a tick label: 10⁻⁴ written 10<sup>−4</sup>."""
    d = int(decade)
    return "1" if d == 0 else "10" if d == 1 else f"10<sup>{str(d).replace('-', '−')}</sup>"


def _point(at: tuple[float, float], name: str, marker: dict) -> dict:
    eta, beta = at
    return {
        "type": "scatter",
        "name": name,
        "mode": "markers",
        "x": [math.log10(eta)],
        "y": [float(beta_y(beta))],
        "marker": marker,
        "hovertemplate": f"{name}: η {eta:.3g}, β {beta:.3g}<extra></extra>",
    }


def _scatter(x, y, name, yaxis, custom, hover, *, mode="lines+markers", **style) -> dict:
    """A clickable scatter trace (a click selects one point: no dimming of the others)."""
    return {
        "type": "scatter",
        "name": name,
        "mode": mode,
        "x": _list(x),
        "y": _list(y),
        "xaxis": "x" if yaxis == "y" else "x2",
        "yaxis": yaxis,
        "customdata": custom,
        "hovertemplate": hover,
        "showlegend": False,
        "selected": {"marker": {"opacity": 1}},
        "unselected": {"marker": {"opacity": 1}},
        **style,
    }


def _or_none(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """values where keep, NaN (a gap) elsewhere."""
    return np.where(keep, values, np.nan)


def _list(values) -> np.ndarray:
    """Numbers as a flat float array, NaN and infinities (and None) as NaN: JSON has them as
    null, a gap. An array, not a list: Plotly hands a numeric array to orjson whole, where a
    list is walked number by number."""
    flat = np.ravel(np.asarray(values, dtype=np.float64))
    return np.where(np.isfinite(flat), flat, np.nan)


def _layout(height: int) -> dict:
    return {
        "height": height,
        "template": "none",
        "margin": {"l": 60, "r": 20, "t": 10, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": '"Source Sans", sans-serif', "color": TEXT, "size": 12},
        "hovermode": "closest",
        "dragmode": False,
        "showlegend": True,
        "legend": {"bgcolor": "rgba(128,128,128,0.12)"},
    }


def _axis(title: str, domain, range_, anchor: str, **more) -> dict:
    axis = {
        "title": {"text": title},
        "domain": domain,
        "anchor": anchor,
        "gridcolor": GRID,
        "zeroline": False,
        "automargin": True,
        "linecolor": DATA,
        **more,
    }
    if range_ is not None:
        axis["range"] = list(range_)
    return axis
