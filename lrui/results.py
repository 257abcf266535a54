"""Under the views: the run's last state beside the least-squares answer, the blog's log,
downloads and the share link."""

from __future__ import annotations

import dataclasses
import functools
import json

import streamlit as st

import lrcore
from lrcore.settings import Settings

from . import runs, sources
from .url import share_link


def results_ui(chosen: Settings, run: runs.Run, fit: lrcore.Fit) -> None:
    """The final state beside the least-squares answer, the blog's log, downloads and the
    share link. Few page elements: a rerun's cost on the server and in the browser grows with
    their number."""
    last = run.last
    st.subheader("Result" + (" (diverged)" if last.diverged else ""))
    st.markdown(result_table(last, fit))
    st.caption(f"Least squares: R² = {fit.r2:.4f}, RMSE = {fit.rmse:.6g}.")
    st.subheader(f"Training log (every {runs.log_every(chosen.iterations):,} epochs)")
    st.markdown(log_table(run.log))
    with st.expander("Downloads and the share link", key="share", on_change="rerun") as box:
        if box.open:  # built only when opened: every element costs each rerun
            share_ui(chosen, run)


def share_ui(chosen: Settings, run: runs.Run) -> None:
    """The log as CSV, the settings as JSON, and the link to this run."""
    csv, settings_json = st.columns(2)
    csv.download_button(
        "Log as CSV",
        functools.partial(log_csv, run.log),
        "training_log.csv",
        "text/csv",
        key="download_log",
        on_click="ignore",
    )
    settings_json.download_button(
        "Settings as JSON",
        functools.partial(settings_text, chosen),
        "settings.json",
        "application/json",
        key="download_settings",
        on_click="ignore",
    )
    st.caption(sources.link_caption())
    st.code(share_link(chosen), language=None, wrap_lines=True)


def result_table(last: lrcore.State, fit: lrcore.Fit) -> str:
    """The run's last state, the least-squares answer and their difference, as a Markdown
    table (numbers only: nothing a user typed)."""
    rows = [
        ("this run, epoch " + f"{last.epoch:,}", last.w, last.b, last.loss, last.dw, last.db),
        ("least squares", fit.w, fit.b, fit.loss, 0.0, 0.0),
        ("run − least squares", last.w - fit.w, last.b - fit.b, last.loss - fit.loss, None, None),
    ]
    lines = ["| | W | b | loss | dW | db |", "|---|--:|--:|--:|--:|--:|"]
    for name, *values in rows:
        cells = ["" if v is None else f"{v:.6g}" for v in values]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def log_table(states: list[lrcore.State]) -> str:
    """The blog's log as a Markdown table, every number in full (as the blog printed it)."""
    lines = ["| epoch | W | b | loss | dW | db |", "|--:|--:|--:|--:|--:|--:|"]
    lines += [
        f"| {s.epoch} | {s.w!r} | {s.b!r} | {s.loss!r} | {s.dw!r} | {s.db!r} |" for s in states
    ]
    return "\n".join(lines)


def log_csv(states: list[lrcore.State]) -> str:
    """The log as CSV (made when the button is pressed)."""
    return "epoch,W,b,loss,dW,db\n" + "".join(
        f"{s.epoch},{s.w!r},{s.b!r},{s.loss!r},{s.dw!r},{s.db!r}\n" for s in states
    )


def settings_text(settings: Settings) -> str:
    return json.dumps(dataclasses.asdict(settings), indent=2)
