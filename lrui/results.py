"""Under the views: the run's verdict (one line, also under the player), its last state beside
the least-squares answer, the blog's log, downloads and the share link."""

from __future__ import annotations

import dataclasses
import functools
import json

import streamlit as st

import lrcore
from lrcore.explain import CONVERGED, DIVERGED, NOT_YET, Verdict, verdict_text
from lrcore.settings import Settings

from . import runs, sources
from .address import qr_ui, reachable_base
from .text import NOISE, number, zeroed
from .url import share_link


def results_ui(chosen: Settings, run: runs.Run, fit: lrcore.Fit) -> None:
    """The final state beside the least-squares answer, the blog's log, downloads and the
    share link. Few page elements: a rerun's cost on the server and in the browser grows with
    their number."""
    with st.container(key="result"):
        st.header(f"Result: {HEADLINE[run.verdict.outcome]}")
        verdict_ui(run.verdict)
        st.markdown(result_table(run.last, fit, run.frames[0]))
        st.caption(f"Least squares: R² = {fit.r2:.4f}, RMSE = {number(fit.rmse, 6)}.")
    st.header(f"Training log (every {runs.log_every(chosen.iterations):,} epochs)")
    st.markdown(log_table(run.log))
    with st.expander("Downloads and the share link", key="share", on_change="rerun") as box:
        if box.open:  # built only when opened: every element costs each rerun
            share_ui(chosen, run)


HEADLINE = {CONVERGED: "converged", NOT_YET: "not yet converged", DIVERGED: "diverged"}
# The verdict's colour (behind its words) and icon: as the alerts for success, warning, error
LOOK = {
    CONVERGED: ("green", ":material/check_circle:"),
    NOT_YET: ("orange", ":material/hourglass_top:"),
    DIVERGED: ("red", ":material/error:"),
}


def verdict_ui(verdict: Verdict) -> None:
    """The run's verdict in one line, in its colour with its icon (under the player and by
    the result). Markdown, not an alert: the alerts under the player are the notes on the
    settings and on a diverged run."""
    colour, icon = LOOK[verdict.outcome]
    st.markdown(f":{colour}-background[{icon} {verdict_text(verdict)}]")


def share_ui(chosen: Settings, run: runs.Run) -> None:
    """The log as CSV, the settings as JSON, and the link to this run (as a QR code too)."""
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
    link = share_link(chosen)
    st.code(link, language=None, wrap_lines=True)
    _, note = reachable_base()
    if note:
        st.caption(note)
    qr_ui(link, key="share_qr")


COLUMNS = ("w", "b", "loss", "dw", "db")


def result_table(last: lrcore.State, fit: lrcore.Fit, first: lrcore.State) -> str:
    """The run's last state, the least-squares answer and their difference, as a Markdown
    table (numbers only: nothing a user typed), to 6 significant digits. What is zero up to
    rounding shows as 0 (text.zeroed): a value beside the size of the problem in its column
    (the run's start and the answer), a difference beside the two numbers it subtracts."""
    size = {
        "w": max(abs(first.w), abs(fit.w)),
        "b": max(abs(first.b), abs(fit.b)),
        "loss": NOISE * max(first.loss, fit.loss),  # a square: its noise is NOISE² of it
        "dw": abs(first.dw),
        "db": abs(first.db),
    }
    run = {q: getattr(last, q) for q in COLUMNS}
    answer = {"w": fit.w, "b": fit.b, "loss": fit.loss, "dw": 0.0, "db": 0.0}
    apart = {q: run[q] - answer[q] for q in ("w", "b", "loss")}
    rows = [
        (f"this run, epoch {last.epoch:,}", [zeroed(run[q], size[q]) for q in COLUMNS]),
        ("least squares", [zeroed(answer[q], size[q]) for q in COLUMNS]),
        (
            "run − least squares",
            [zeroed(d, max(abs(run[q]), abs(answer[q]))) for q, d in apart.items()] + [None] * 2,
        ),
    ]
    lines = ["| run | W | b | loss | dW | db |", "|---|--:|--:|--:|--:|--:|"]
    for name, values in rows:
        cells = ["" if v is None else number(v, 6) for v in values]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def log_table(states: list[lrcore.State]) -> str:
    """The blog's log as a Markdown table, every number in full (as the blog printed it)."""
    lines = ["| epoch | W | b | loss | dW | db |", "|--:|--:|--:|--:|--:|--:|"]
    lines += ["| " + " | ".join(_cells(state)) + " |" for state in states]
    return "\n".join(lines)


def log_csv(states: list[lrcore.State]) -> str:
    """The log as CSV (made when the button is pressed)."""
    return "epoch,W,b,loss,dW,db\n" + "".join(",".join(_cells(state)) + "\n" for state in states)


def settings_text(settings: Settings) -> str:
    return json.dumps(dataclasses.asdict(settings), indent=2)


def _cells(state: lrcore.State) -> list[str]:
    """A state as the blog's log writes it: the epoch, then W, b, loss, dW, db in full."""
    return [
        str(state.epoch),
        *(repr(v) for v in (state.w, state.b, state.loss, state.dw, state.db)),
    ]
