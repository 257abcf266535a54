"""The page: watch linear regression learn by gradient descent.

    streamlit run app.py

Every control is a setting of lrcore/settings.py: its widget key, its URL key and its CLI flag
are the setting's name, so the address bar is always a link to exactly this run. Training and
settings live in lrcore; the chart and its player in views_ui.py; this file lays out the page.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import urllib.parse

import streamlit as st

import data_ui
import explain_ui
import lessons
import lrcore
import runs
import views_ui
from lrcore import settings as cfg

INTRO = ("Fit a line y ≈ W·x + b to noisy points by gradient descent, as in the blog post. "
         "Each run plays by itself: the fitted line, the loss and the path over the loss "
         "landscape move together. Drag the epoch slider under the chart, or step through it. "
         "Change any setting in the sidebar; the address bar always holds a link to this run.")

# Slider stops. A value from a link that is not on a grid is added to it, so links stay exact.
STEP_SIZES = [float(f"{m}e{e}") for e in range(-6, 0) for m in (1, 1.5, 2, 3, 4, 5, 6, 7, 8)]
STEP_SIZES += [1.0]
ITERATIONS = [m * 10**e for e in range(6) for m in (1, 2, 5)] + [1_000_000]
POINTS = [2, 5] + [m * 10**e for e in range(1, 5) for m in (1, 2, 5)] + [100_000]
NOISES = [0.0] + [float(m * 10**e) for e in range(6) for m in (1, 2, 3, 5)] + [1e6]
NUMBER_STEPS = {"slope": 1.0, "intercept": 100.0, "x_min": 1.0, "x_max": 1.0, "w0": 1.0,
                "b0": 100.0, "seed": 1, "batch_size": 1}

def main() -> None:
    st.set_page_config(page_title="Gradient descent, live", page_icon="📉", layout="wide")
    st.title("Linear regression by gradient descent")
    st.caption(INTRO)
    data_ui.prepare(settings_from_url())
    chosen = cfg.Settings(**{name: st.session_state[name] for name in cfg.FIELDS})
    notices = st.container()
    s, notes = cfg.from_params(cfg.to_params(chosen))  # fixes settings that clash, if any
    source = data_ui.run_data(s)  # every point, and those the run fits
    data = source.kept
    bounded, cut_note = cfg.bounded(runs.run_settings(s), len(data))  # a link can't tie up CPU
    run_id = digest([cfg.to_params(s), explain_ui.pinned_id(), source.key])
    run = runs.split(runs.train(bounded, source.key, data), bounded.iterations, run_id)
    views_ui.views_ui(s, data, run, source)  # first: the chart leaves before the sidebar's widgets
    explain_ui.panels_ui(chosen, s, data, run)  # pin and compare, why, the math, lessons
    with st.sidebar:
        controls_ui(s, data)
    with notices:
        explain_ui.lesson_ui(s)
        link_ui(chosen)
        if notes:
            st.warning("These settings do not fit together:\n\n" + code_block(notes))
        if cut_note:
            st.info(cut_note)
        if run.last.diverged:
            st.error(explain_ui.divergence_text(s, data, run.last, run.frames[0]))
        elif warning := explain_ui.warning_text(s, data, run.last):
            st.warning(warning)
    results_ui(chosen, run, lrcore.closed_form(data.x, data.y))


# --- settings <-> URL -------------------------------------------------------------------------

def settings_from_url() -> bool:
    """When the URL is new to this session (its first run, or an address edited by hand), load
    its settings into the widgets, nearest valid values for bad ones, and note what changed.
    True if it did."""
    params = st.query_params.to_dict()
    if st.session_state.get("_url") == params:
        return False
    loaded, notes = cfg.from_params(lessons.with_lesson(params))
    for name in cfg.FIELDS:
        st.session_state[name] = getattr(loaded, name)
    st.session_state["_url"] = params
    st.session_state["_loaded"] = loaded, notes
    return True


def link_ui(chosen: cfg.Settings) -> None:
    """Write the settings to the URL, and say once what a hand-edited link had wrong."""
    params = cfg.to_params(chosen)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    st.session_state["_url"] = params
    loaded, notes = st.session_state["_loaded"]
    if notes and chosen == loaded:
        st.warning("This link had settings that could not be used as they were, so the nearest "
                   "valid ones are loaded:\n\n" + code_block(notes))


def code_block(lines: list[str], width: int = 160) -> str:
    """Lines as a Markdown code block, so whatever a link holds shows as plain text."""
    text = "\n".join(line if len(line) <= width else line[:width] + "…" for line in lines)
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


# --- controls ---------------------------------------------------------------------------------

def controls_ui(s: cfg.Settings, data: lrcore.Dataset) -> None:
    """The sidebar: data and training controls, keyed by setting name."""
    st.header("Data")
    uses = data_ui.dataset_ui()  # the generated-data controls this dataset listens to
    if "n" in uses:
        grid_slider("n", POINTS, "{:,}")
    if "noise" in uses:
        grid_slider("noise", NOISES, "{:g}")
    if "slope" in uses:
        pair("slope", "intercept")
        pair("x_min", "x_max")
    if "seed" in uses:
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        with left:
            number("seed")
        right.button("New data", key="new_data", on_click=new_seed, width="stretch",
                     help="Draw a new sample: the next random seed")
    st.header("Training")
    optimizer = st.session_state.optimizer
    st.selectbox(label("optimizer"), cfg.OPTIMIZERS, key="optimizer")
    grid_slider("step_size", STEP_SIZES, "{:g}")
    explain_ui.limit_ui(s, data)  # the largest step that converges on this data
    grid_slider("iterations", ITERATIONS, "{:,}")
    number("batch_size", disabled=optimizer != "sgd")
    lo, hi = bounds("momentum")
    st.slider(label("momentum"), lo, hi, step=0.001, key="momentum", format="%.3f",
              disabled=optimizer not in ("momentum", "nesterov"))
    pair("w0", "b0")
    st.toggle(label("standardize"), key="standardize")


def label(name: str) -> str:
    text = cfg.FIELDS[name].metadata["help"]
    return text[:1].upper() + text[1:]


def bounds(name: str) -> tuple:
    f = cfg.FIELDS[name]
    kind = type(f.default)
    return kind(f.metadata["lo"]), kind(f.metadata["hi"])


def grid_slider(name: str, grid: list, fmt: str) -> None:
    lo, hi = bounds(name)
    options = sorted({v for v in grid if lo <= v <= hi} | {st.session_state[name]})
    st.select_slider(label(name), options, key=name, format_func=fmt.format)


def number(name: str, disabled: bool = False) -> None:
    lo, hi = bounds(name)
    st.number_input(label(name), lo, hi, step=type(lo)(NUMBER_STEPS[name]), key=name,
                    format="%d" if isinstance(lo, int) else "%g", disabled=disabled)


def pair(left: str, right: str) -> None:
    """Two number inputs, one under the other (side by side in columns cost every rerun about
    a tenth of what the page costs the server)."""
    number(left)
    number(right)


def new_seed() -> None:
    st.session_state.seed = (st.session_state.seed + 1) % (bounds("seed")[1] + 1)


# --- views and results ------------------------------------------------------------------------

def digest(value) -> str:
    return hashlib.sha1(json.dumps(value).encode()).hexdigest()[:16]


def results_ui(chosen: cfg.Settings, run: runs.Run, fit: lrcore.Fit) -> None:
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


def share_ui(chosen: cfg.Settings, run: runs.Run) -> None:
    """The log as CSV, the settings as JSON, and the link to this run."""
    csv, settings_json = st.columns(2)
    csv.download_button("Log as CSV", functools.partial(log_csv, run.log), "training_log.csv",
                        "text/csv", key="download_log", on_click="ignore")
    settings_json.download_button(
        "Settings as JSON", functools.partial(settings_text, chosen), "settings.json",
        "application/json", key="download_settings", on_click="ignore")
    st.caption(data_ui.link_caption())
    st.code(share_link(chosen), language=None, wrap_lines=True)


def result_table(last: lrcore.State, fit: lrcore.Fit) -> str:
    """The run's last state, the least-squares answer and their difference, as a Markdown
    table (numbers only: nothing a user typed)."""
    rows = [
        ("this run, epoch " + f"{last.epoch:,}", last.w, last.b, last.loss, last.dw, last.db),
        ("least squares", fit.w, fit.b, fit.loss, 0.0, 0.0),
        ("run − least squares", last.w - fit.w, last.b - fit.b, last.loss - fit.loss, None,
         None),
    ]
    lines = ["| | W | b | loss | dW | db |", "|---|--:|--:|--:|--:|--:|"]
    for name, *values in rows:
        cells = ["" if v is None else f"{v:.6g}" for v in values]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def log_table(states: list[lrcore.State]) -> str:
    """The blog's log as a Markdown table, every number in full (as the blog printed it)."""
    lines = ["| epoch | W | b | loss | dW | db |", "|--:|--:|--:|--:|--:|--:|"]
    lines += [f"| {s.epoch} | {s.w!r} | {s.b!r} | {s.loss!r} | {s.dw!r} | {s.db!r} |"
              for s in states]
    return "\n".join(lines)


def log_csv(states: list[lrcore.State]) -> str:
    """The log as CSV (made when the button is pressed)."""
    return "epoch,W,b,loss,dW,db\n" + "".join(
        f"{s.epoch},{s.w!r},{s.b!r},{s.loss!r},{s.dw!r},{s.db!r}\n" for s in states)


def settings_text(s: cfg.Settings) -> str:
    return json.dumps(dataclasses.asdict(s), indent=2)


def share_link(s: cfg.Settings) -> str:
    base = (st.context.url or "").split("?")[0]
    return base + "?" + urllib.parse.urlencode(cfg.to_params(s))


if __name__ == "__main__":  # streamlit run (and AppTest) run this file as __main__
    main()
