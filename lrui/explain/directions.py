"""Why it converges: the run's error along each eigen-direction of the Hessian, against epochs,
each with the line its rate predicts and its 1% milestone (lrcore.directions), and a marker at
the player's epoch that follows it in the browser (components/frame_marker).

On the blog's run, direction 1 (λ₁ ≈ 3,329) is within 1% in a dozen epochs and direction 2
(λ₂ ≈ 0.25) needs about 36,800: the slow one sets how long the run takes. On standardized x the
two curvatures are equal and both fall together.
"""

from __future__ import annotations

import json
import math

import numpy as np
import streamlit as st

import lrcore
from lrcore.explain import MILESTONE
from lrcore.optim import LINEAR
from lrcore.settings import Settings, train_args

from .. import figures
from ..components.frame_marker import frame_marker
from ..text import BY_REPR, number

CHART = "directions_chart"  # the chart's key, which the marker finds it by
FLOOR = 1e-12  # the error axis's floor, relative to the largest starting error: an error
# below it (0, once it underflows) is drawn at the floor, and its hover says so
BELOW = " (below the axis: drawn at its floor)"
UIDS = ("now 1", "now 2")  # the marker traces, by uid
CONFIG = {"displaylogo": False, "displayModeBar": False}


def along(settings: Settings, data, run) -> lrcore.Directions:
    """lrcore.directions for the run on screen, at its loss curve's epochs (and so its frames'),
    up to its last epoch (where a run diverged, or where the page's work budget cut it)."""
    args = {**train_args(settings), "iterations": run.last.epoch}
    return lrcore.directions(data.x, data.y, **args, at=[state.epoch for state in run.curve])


def distinct(eigenvalues) -> bool:
    """Whether the curvatures differ (on standardized x they are equal, up to rounding)."""
    lam1, lam2 = eigenvalues
    return lam1 > lam2 * (1 + 1e-9)


def names(eigenvalues) -> list[str]:
    """Each direction's name and eigenvalue: 'direction 1 (λ₁ = 3,329, steep)'."""
    kinds = (", steep", ", flat") if distinct(eigenvalues) else ("", "")
    return [
        f"{name[:-1]} = {number(lam)}{kind})"
        for name, lam, kind in zip(figures.DIRECTION_NAMES, eigenvalues, kinds, strict=True)
    ]


def floor_of(d: lrcore.Directions) -> float:
    start = float(np.max(np.abs(d.error[0])))
    return FLOOR * (start if start > 0 else 1.0)


def error_chart(d: lrcore.Directions, run_id: str = "") -> dict:
    """|êᵢ| against epochs on log-log axes (epoch 0 has no place: from epoch 1, as the loss
    view), the rate's prediction |êᵢ(0)|·ρᵢᵗ dashed (none where the rate is nan: adam, sgd),
    the milestone (|êᵢ| = 1% of its start) marked with its epoch, and a marker for the
    player's epoch (at the last, until the browser moves it). layout.meta: `run_id`."""
    floor, shown = floor_of(d), d.epochs > 0
    epochs = d.epochs[shown]
    labels, starts = names(d.eigenvalues), np.abs(d.error[0])
    higher = int(np.argmax(starts))  # its milestone's label goes above it, the other's below
    traces, drawn = [], [MILESTONE * starts]
    for i, (name, colour) in enumerate(zip(labels, figures.DIRECTIONS, strict=True)):
        size, start = np.abs(d.error[shown, i]), float(starts[i])
        traces.append(_error_trace(epochs, size, floor, name, colour))
        drawn.append(np.maximum(size, floor))
        if math.isfinite(d.rate[i]) and len(epochs):
            line = predicted(epochs, start, float(d.rate[i]), floor)
            traces.append(_predicted_trace(epochs, line, float(d.rate[i]), name, colour))
            drawn.append(line)
        if 0 < d.milestone[i] < math.inf:
            # above or below (the higher one above), and towards the middle of the epochs
            side = "right" if d.milestone[i] ** 2 < d.epochs[-1] else "left"
            where = ("top " if i == higher else "bottom ") + side
            traces.append(
                _milestone_trace(int(d.milestone[i]), MILESTONE * start, name, colour, where)
            )
    marks = marker_positions(d, [int(d.epochs[-1])])
    traces += [
        _marker_trace(marks["x"][0], y[0], uid, colour)
        for y, uid, colour in zip(marks["y"], UIDS, figures.DIRECTIONS, strict=True)
    ]
    seen = np.concatenate([np.ravel(v) for v in drawn])
    seen = seen[np.isfinite(seen) & (seen > 0)]
    low, high = (seen.min(), seen.max()) if len(seen) else (floor, 1.0)
    return {"data": traces, "layout": _layout(run_id, max(int(d.epochs[-1]), 2), low, high)}


def predicted(epochs, start: float, rate: float, floor: float) -> np.ndarray:
    """|êᵢ(0)|·ρᵗ at these epochs, no lower than the floor, worked out in logarithms (ρᵗ
    underflows long before the axis ends)."""
    if not (start > 0 and rate > 0):
        return np.full(len(epochs), floor)
    log = math.log10(start) + np.asarray(epochs) * math.log10(rate)
    return np.maximum(10.0**log, floor)


def marker_positions(d: lrcore.Directions, frame_epochs) -> dict:
    """For each frame epoch, the markers' x (None at epoch 0 or past the run's end) and each
    direction's |ê| there, drawn at the floor if below it."""
    floor, row = floor_of(d), {int(e): k for k, e in enumerate(d.epochs)}
    xs, ys = [], [[], []]
    for epoch in frame_epochs:
        k = row.get(int(epoch))
        shown = k is not None and epoch > 0 and bool(np.all(np.isfinite(d.error[k])))
        xs.append(int(epoch) if shown else None)
        for i in range(2):
            ys[i].append(max(abs(float(d.error[k, i])), floor) if shown else None)
    return {"x": xs, "y": ys}


def _error_trace(epochs, size, floor: float, name: str, colour: str) -> dict:
    low = size < floor
    return _scatter(
        figures.typed(epochs, "i4"),
        figures.typed(np.where(low, floor, size)),
        name,
        customdata=figures.typed(size),
        text=[BELOW if b else "" for b in low.tolist()],
        hovertemplate=f"{name}<br>epoch %{{x:,}}<br>|error| %{{customdata:.4g}}%{{text}}"
        "<extra></extra>",
        opacity=0.5,  # wide and faded: the prediction, dashed, shows on it
        line={"color": colour, "width": 6},
    )


def _predicted_trace(epochs, line, rate: float, name: str, colour: str) -> dict:
    return _scatter(
        figures.typed(epochs, "i4"),
        figures.typed(line),
        f"predicted: |start|·{number(rate, 6)}ᵗ",
        legendgroup=name,
        hovertemplate=f"{name}, predicted<br>epoch %{{x:,}}<br>|error| %{{y:.4g}}<extra></extra>",
        line={"color": colour, "width": 1.5, "dash": "dash"},
    )


def _milestone_trace(epoch: int, level: float, name: str, colour: str, where: str) -> dict:
    text = f"1% at epoch {epoch:,}"
    return _scatter(
        [epoch],
        [level],
        f"{name}: {text}",
        mode="markers+text",
        text=[text],
        textposition=where,
        showlegend=False,
        hovertemplate=f"{name}<br>within 1% of its start from epoch {epoch:,}<extra></extra>",
        marker={"symbol": "diamond", "size": 10, "color": colour, "line": {"width": 1}},
    )


def _marker_trace(x, y, uid: str, colour: str) -> dict:
    return _scatter(
        [x],
        [y],
        "the player's epoch",
        uid=uid,
        mode="markers",
        showlegend=False,
        hoverinfo="skip",
        marker={"size": 11, "color": colour, "symbol": "circle-open", "line": {"width": 3}},
    )


def _scatter(x, y, name: str, *, mode: str = "lines", **style) -> dict:
    return {"type": "scatter", "x": x, "y": y, "name": name, "mode": mode, **style}


def _layout(run_id: str, top: int, low: float, high: float) -> dict:
    """Log epochs as the loss view's (0 to its last epoch), log |error| from low to high."""
    axis = {"gridcolor": figures.GRID, "zeroline": False, "automargin": True, "type": "log"}
    return {
        "meta": run_id,
        "height": 400,
        "template": "none",
        "margin": {"l": 60, "r": 20, "t": 10, "b": 10},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": '"Source Sans", sans-serif', "color": figures.TEXT, "size": 12},
        "hovermode": "closest",
        # under the chart, clear of the lines at any width
        "legend": {"orientation": "h", "x": 0, "y": -0.3, "xanchor": "left", "yanchor": "top"},
        "xaxis": {**axis, "title": {"text": "epoch"}, "range": [0, math.log10(top) + 0.05]},
        "yaxis": {
            **axis,
            "title": {"text": "|error| along the direction"},
            "range": [math.log10(low) - 0.3, math.log10(high) + 0.3],
            "exponentformat": "power",
        },
    }


def readouts(d: lrcore.Directions, frame_epochs) -> list[str]:
    """What the line under the chart says at each frame: the errors at the player's epoch."""
    out = []
    for epoch in frame_epochs:
        row = np.flatnonzero(d.epochs == epoch)
        if not len(row):
            out.append(f"The player is at epoch {epoch:,}, past the run's end.")
            continue
        e = d.error[row[0]]
        out.append(
            f"At the player's epoch, {epoch:,}: |error| {number(abs(e[0]))} along direction 1, "
            f"{number(abs(e[1]))} along direction 2."
        )
    return out


def sentence(settings: Settings, d: lrcore.Directions) -> str:
    """What to look for, and when each direction came within 1% of its start."""
    reached = "Within 1% of its start: " + ", ".join(
        f"direction {i} at epoch {int(m):,}"
        if math.isfinite(m)
        else f"direction {i} not in this run"
        for i, m in enumerate(d.milestone, start=1)
    )
    if settings.optimizer not in LINEAR:
        return (
            f"{settings.optimizer} has no fixed rate per direction (its steps are not one "
            f"linear map), so no line is predicted. {reached}."
        )
    stuck = [i for i in range(2) if d.rate[i] >= 1]
    if stuck:
        i = stuck[0]
        return (
            f"Look at direction {i + 1}: its error is multiplied by {number(d.rate[i], 6)} "
            "every epoch (dashed: |start|·ρᵗ), so it never shrinks: the step size is too "
            f"large for its curvature λ{'₁₂'[i]}. {reached}."
        )
    if not distinct(d.eigenvalues):
        return (
            "Both directions have the same curvature, so their errors shrink by the same "
            "factor every epoch and fall together (dashed: the rate's prediction, "
            f"|start|·ρᵗ). {reached}."
        )
    return (
        "Look at how far apart the two directions finish: the run is as slow as its slowest "
        f"direction (dashed: each rate's prediction, |start|·ρᵗ). {reached}."
    )


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_REPR)
def payload(run_id: str, settings: Settings, *, _data, _run) -> tuple[dict, bytes, str]:
    """For the run `run_id` names (settings, data and all), computed once: the error chart,
    the marker's JSON (every frame's positions and readout) and the sentence under it."""
    d = along(settings, _data, _run)
    frame_epochs = [state.epoch for state in _run.frames]
    marks = marker_positions(d, frame_epochs)
    marks.update(run=run_id, chart=CHART, uids=list(UIDS))
    marks["readouts"] = readouts(d, frame_epochs)
    text = json.dumps(marks, ensure_ascii=False, separators=(",", ":")).encode()
    return error_chart(d, run_id), text, sentence(settings, d)


def directions_ui(settings: Settings, data, run) -> None:
    """The error along each eigen-direction, its marker following the player, and what to
    look for."""
    spec, marks, text = payload(run.id, settings, _data=data, _run=run)
    st.plotly_chart(figures.Prebuilt(spec), key=CHART, theme=None, config=CONFIG)
    frame_marker(marks, key="directions_marker")
    st.caption(text)
