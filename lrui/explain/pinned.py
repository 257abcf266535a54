"""Runs drawn over the run on screen, faded, each in its own colour and dash: up to four pinned
runs (kept while settings change, and in the link), or every optimizer side by side from the
same start; raw against standardized x; and the table comparing them.

A pin is a run's training settings (lrcore.settings.pins_of), trained on the data on screen:
the link carries it. Its run, and every optimizer's, is trained as the page trains its own
(runs.train, cached, cut to the same work budget), so nothing costs a rerun when none is shown.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

import lrcore
from lrcore.settings import MAX_PINS, OPTIMIZERS, Settings, bounded, pin_text, pins_of, to_params

from .. import figures, runs
from ..text import BY_REPR, digest, words
from .conditioning import epochs_1pct
from .limit import why


@dataclass(frozen=True)
class Snapshot:
    """A finished run as the comparison keeps it: what it was, how it went, how to draw it."""

    label: str  # its settings in a few words
    data_id: str  # which data it ran on
    x_range: tuple[float, float]  # where its line is drawn
    frames: tuple  # lrcore States at the frame epochs: its path
    curve: tuple  # lrcore States at the loss-curve epochs
    row: dict  # its line in the comparison table
    name: str = "the pinned run"  # what the summary calls it ("the pinned run 1 in blue, dashed")


def data_id(data) -> str:
    return digest(np.asarray(data.x).tobytes(), np.asarray(data.y).tobytes())


def row(settings: Settings, data, run) -> dict:
    """One run's line in the comparison table."""
    fit = lrcore.closed_form(data.x, data.y)
    last = run.last
    seen, exact = epochs_1pct(run)
    predicted = why(settings, data).epochs_to_1pct
    return {  # what a phone shows without scrolling sideways first
        "epochs to 1%": seen if exact else None,
        "epochs to 1% (charted)": seen if not exact else None,
        "predicted epochs to 1%": None if math.isinf(predicted) else math.ceil(predicted),
        "final loss": last.loss,
        "distance from least squares": math.hypot(last.w - fit.w, last.b - fit.b),
        "least-squares loss": fit.loss,
        "final W": last.w,
        "final b": last.b,
        "final epoch": last.epoch,
        "diverged": last.diverged,
        "run": words(settings),
    }


def snapshot(settings: Settings, data, run) -> Snapshot:
    x = np.asarray(data.x)
    return Snapshot(
        words(settings),
        data_id(data),
        (float(x.min()), float(x.max())),
        tuple(run.frames),
        tuple(run.curve),
        row(settings, data, run),
    )


OVERLAY = "optimizers"  # settings.compare: every optimizer side by side


class Shown(NamedTuple):
    """The runs drawn over the run on screen: the pins, or every optimizer."""

    optimizers: bool  # every optimizer side by side (else the pins)
    snapshots: tuple[Snapshot, ...]  # in OVERLAY_STYLES' order
    cuts: tuple[str, ...]  # for each run cut to the work budget, the sentence saying so


@st.cache_resource(show_spinner=False, max_entries=64, hash_funcs=BY_REPR)
def _snapshot(settings: Settings, data_key: str, _data, _run: runs.Run) -> Snapshot:
    """The Snapshot of the run these settings gave on the data data_key names (cached as
    runs.train is, and immutable: cache_resource shares it without a copy)."""
    return snapshot(settings, _data, _run)


def trained(settings: Settings, data_key: str, data) -> tuple[Snapshot, str | None]:
    """These settings' run as the page would train it (cut to the work budget, cached), and
    the sentence saying it was cut, if it was."""
    settings, cut = bounded(settings, len(data.x))
    states = runs.train(settings, data_key, data)
    verdict = runs.verdict(settings, data_key, data, states)
    run = runs.split(states, settings.iterations, "", verdict)
    return _snapshot(settings, data_key, data, run), cut


def shown(settings: Settings, data, data_key: str) -> Shown:
    """The runs to draw over this one: every optimizer from its start with its settings (when
    the side by side is on), else the pinned runs (none: nothing is computed). The page asks
    three times a run (views, summary, table): one cache lookup each."""
    if settings.compare != OVERLAY and not settings.pins:
        return Shown(False, (), ())
    return _shown(pinned_id(settings), data_key, settings, data)


@st.cache_resource(show_spinner=False, max_entries=64)
def _shown(overlay_id: str, data_key: str, _settings: Settings, _data) -> Shown:
    """shown() for the runs overlay_id names (pinned_id) on the data data_key names."""
    settings, data = _settings, _data
    optimizers = settings.compare == OVERLAY
    if optimizers:
        base = runs.run_settings(settings)
        wanted = [base.replace(optimizer=name) for name in OPTIMIZERS]
    else:
        wanted = list(pins_of(settings))
    out, cuts = [], []
    for i, one in enumerate(wanted):
        snap, cut = trained(one, data_key, data)
        look = figures.OVERLAY_STYLES[i][2]
        name = f"the {one.optimizer} run" if optimizers else f"the pinned run {i + 1}"
        name = f"{name} in {look}"
        out.append(dataclasses.replace(snap, name=name))
        if cut:
            cuts.append(f"{one.optimizer}: {cut}")
    return Shown(optimizers, tuple(out), tuple(cuts))


def pinned_id(settings: Settings) -> str:
    """Changes whenever the runs drawn over this one do, on the same data (part of the chart's
    identity): every optimizer follows the settings on screen; a pin has its own training
    settings, and sgd's shuffling takes the seed."""
    if settings.compare == OVERLAY:
        return digest(OVERLAY, to_params(runs.run_settings(settings)))
    return digest(settings.pins, settings.seed)


def overlay(settings: Settings, data, data_key: str) -> tuple[list[dict], tuple]:
    """The traces of the runs drawn over this one (faded, each in its OVERLAY_STYLES), and
    their frames, which the view ranges hold too."""
    show = shown(settings, data, data_key)
    if not show.snapshots:
        return [], ()
    return _overlay(pinned_id(settings), data_key, show)


@st.cache_resource(show_spinner=False, max_entries=64)
def _overlay(overlay_id: str, data_key: str, _show: Shown) -> tuple[list[dict], tuple]:
    """overlay() for the runs overlay_id names on the data data_key names: built once, shared
    and never changed (figures.chart copies the list)."""
    show = _show
    traces = []
    for i, snap in enumerate(show.snapshots):
        label = OPTIMIZERS[i] if show.optimizers else f"pinned {i + 1}: {snap.label}"
        traces += figures.pinned(
            snap.frames,
            snap.curve,
            x_range=snap.x_range,
            label=label,
            look=i,
            group="optimizers" if show.optimizers else "pinned",
            opacity=0.8 if show.optimizers else 0.6,
        )
    hold = []
    for snap in show.snapshots:
        limit = 10 * snap.frames[0].loss  # a diverging run must not stretch the views
        hold += [s for s in snap.frames if math.isfinite(s.loss) and s.loss <= limit]
    return traces, tuple(hold)


# --- the buttons ------------------------------------------------------------------------------


def _pins() -> list[str]:
    return [text for text in st.session_state.get("pins", "").split(";") if text]


def _pin(settings: Settings) -> None:
    """Pin the run on screen (once: the same settings again change nothing); a fifth pin
    drops the oldest, so that the button always does what it says. Shows the pins."""
    pins, new = _pins(), pin_text(settings)
    if new not in pins:
        pins = [*pins, new][-MAX_PINS:]
    st.session_state["pins"] = ";".join(pins)
    st.session_state["compare"] = ""


def _unpin(i: int | None = None) -> None:
    """Remove pin i (from 0), or every pin."""
    pins = _pins()
    st.session_state["pins"] = ";".join(p for k, p in enumerate(pins) if i is not None and k != i)


def _compare_scaling(settings: Settings) -> None:
    """Pin this run and run the same settings on the other x: raw ↔ standardized."""
    _pin(settings)
    st.session_state["standardize"] = not settings.standardize


def _every(settings: Settings) -> None:
    """Every optimizer side by side, or back to the pins."""
    st.session_state["compare"] = "" if settings.compare == OVERLAY else OVERLAY


EPOCH_COLUMNS = ("epochs to 1%", "epochs to 1% (charted)", "predicted epochs to 1%", "final epoch")


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """The runs side by side; epochs stay whole numbers where one run has none."""
    table = pd.DataFrame(rows)
    table = table.astype({name: "Int64" for name in EPOCH_COLUMNS if name in table})
    return table.dropna(axis=1, how="all")


def compare_ui(settings: Settings, data, run, data_key: str) -> None:
    """Pin this run (a faded copy stays on the views), compare raw and standardized x, every
    optimizer side by side, each pin's remove button, and the table with its CSV."""
    show = shown(settings, data, data_key)
    buttons = st.container(horizontal=True)  # one block, where columns are one each
    buttons.button(
        "Pin this run",
        key="pin",
        icon=":material/push_pin:",
        on_click=_pin,
        args=(settings,),
        width="stretch",
        help=f"Keep a faded copy of this run on all three views while you change any setting "
        f"(up to {MAX_PINS}: a fifth replaces the oldest)",
    )
    buttons.button(
        "Unpin all",
        key="unpin",
        on_click=_unpin,
        disabled=not settings.pins,
        width="stretch",
        help="Clear every pinned run",
    )
    other = "raw" if settings.standardize else "standardized"
    buttons.button(
        "Compare raw and standardized x",
        key="compare_scaling",
        on_click=_compare_scaling,
        args=(settings,),
        width="stretch",
        help=f"Pin this run and run the same settings on {other} x",
    )
    buttons.button(
        "Every optimizer side by side",
        key="every",
        icon=":material/stacked_line_chart:",
        on_click=_every,
        args=(settings,),
        type="primary" if show.optimizers else "secondary",
        width="stretch",
        help="Run gd, momentum, Nesterov, adam and sgd from the same start with these settings "
        "and draw them all over this run (press again to go back to the pinned runs)",
    )
    if show.optimizers:
        _optimizers_ui(settings, show)
    elif show.snapshots:
        _pins_ui(settings, data, run, show)


def _pins_ui(settings: Settings, data, run, show: Shown) -> None:
    """Each pin's remove button, and the pins beside this run in a table."""
    removes = st.container(horizontal=True, key="pins")
    for i, _ in enumerate(show.snapshots):
        removes.button(
            f"Remove pin {i + 1}",
            key=f"unpin_{i}",
            icon=":material/close:",
            on_click=_unpin,
            args=(i,),
            help=f"Remove pinned run {i + 1} ({figures.OVERLAY_STYLES[i][2]})",
        )
    rows = [
        {"": f"pin {i + 1} ({figures.OVERLAY_STYLES[i][2]})", **snap.row}
        for i, snap in enumerate(show.snapshots)
    ]
    _table_ui(compare_table([*rows, {"": "this run", **row(settings, data, run)}]), show)


OPTIMIZER_COLUMNS = ("epochs to 1%", "epochs to 1% (charted)", "final loss", "diverged")


def _optimizers_ui(settings: Settings, show: Shown) -> None:
    """Every optimizer's line in the table: its verdict's epochs to 1%, final loss, diverged."""
    rows = [
        {
            "optimizer": name,
            "line": figures.OVERLAY_STYLES[i][2],
            **{column: snap.row[column] for column in OPTIMIZER_COLUMNS},
            "final epoch": snap.row["final epoch"],
            "run": snap.label,
        }
        for i, (name, snap) in enumerate(zip(OPTIMIZERS, show.snapshots, strict=True))
    ]
    st.caption(
        f"Every optimizer from (W, b) = ({settings.w0:g}, {settings.b0:g}) with these settings, "
        f"drawn over this run ({settings.optimizer}); the loss view is logarithmic while they "
        "are shown. Epochs to 1%: the first epoch at which a run is within 1% of its starting "
        "distance from the least-squares answer (charted: the first of the epochs trained, for "
        "adam and sgd)."
    )
    _table_ui(compare_table(rows), show)


def _table_ui(table: pd.DataFrame, show: Shown) -> None:
    for cut in show.cuts:
        st.caption(cut)
    st.dataframe(table, hide_index=True, key="comparison")
    st.download_button(
        "Comparison as CSV",
        table.to_csv(index=False),
        "comparison.csv",
        "text/csv",
        key="download_comparison",
        on_click="ignore",
    )
