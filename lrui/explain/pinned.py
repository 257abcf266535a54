"""Pinned runs: keep a faded copy of a run on the views while settings change, compare raw and
standardized x, and the comparison table."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import lrcore
from lrcore.settings import Settings

from .. import figures
from ..text import digest, words
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


def _pin(settings: Settings, data, run) -> None:
    st.session_state["_pinned"] = snapshot(settings, data, run)


def _unpin() -> None:
    st.session_state.pop("_pinned", None)


def _compare_scaling(settings: Settings, data, run) -> None:
    """Pin this run and run the same settings on the other x: raw ↔ standardized."""
    _pin(settings, data, run)
    st.session_state["standardize"] = not settings.standardize


def pinned() -> Snapshot | None:
    return st.session_state.get("_pinned")


def pinned_id() -> str:
    """Changes whenever the pinned run does (part of the chart's identity)."""
    pin = pinned()
    return "" if pin is None else digest(pin.row)


def overlay(data) -> tuple[list[dict], tuple]:
    """The pinned run's faded traces for the chart, and its frames if the view ranges should
    hold them too (only when it ran on the same data)."""
    pin = pinned()
    if pin is None:
        return [], ()
    traces = figures.pinned(
        pin.frames, pin.curve, x_range=pin.x_range, label=f"pinned: {pin.label}"
    )
    if pin.data_id != data_id(data):
        return traces, ()
    limit = 10 * pin.frames[0].loss  # a diverging pinned run must not stretch the views
    return traces, tuple(
        state for state in pin.frames if math.isfinite(state.loss) and state.loss <= limit
    )


EPOCH_COLUMNS = ("epochs to 1%", "epochs to 1% (charted)", "predicted epochs to 1%", "final epoch")


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """The runs side by side; epochs stay whole numbers where one run has none."""
    table = pd.DataFrame(rows).astype({name: "Int64" for name in EPOCH_COLUMNS})
    return table.dropna(axis=1, how="all")


def compare_ui(settings: Settings, data, run) -> None:
    """Pin this run (a faded copy stays on the views), compare raw and standardized x, and
    the comparison table with its CSV."""
    pin = pinned()
    args = (settings, data, run)
    buttons = st.container(horizontal=True)  # one block, where three columns are four
    buttons.button(
        "Pin this run",
        key="pin",
        icon=":material/push_pin:",
        on_click=_pin,
        args=args,
        width="stretch",
        help="Keep a faded copy of this run on all three views while you change any setting",
    )
    buttons.button(
        "Unpin",
        key="unpin",
        on_click=_unpin,
        disabled=pin is None,
        width="stretch",
        help="Clear the pinned run",
    )
    other = "raw" if settings.standardize else "standardized"
    buttons.button(
        "Compare raw and standardized x",
        key="compare_scaling",
        on_click=_compare_scaling,
        args=args,
        width="stretch",
        help=f"Pin this run and run the same settings on {other} x",
    )
    if pin is None:
        return
    table = compare_table([{"": "pinned", **pin.row}, {"": "this run", **row(settings, data, run)}])
    if pin.data_id != data_id(data):
        st.caption("The pinned run was trained on other data.")
    st.dataframe(table, hide_index=True, key="comparison")
    st.download_button(
        "Comparison as CSV",
        table.to_csv(index=False),
        "comparison.csv",
        "text/csv",
        key="download_comparison",
        on_click="ignore",
    )
