"""The page: watch linear regression learn by gradient descent.

    streamlit run app.py

Every control is a setting of lrcore/settings.py: its widget key, its URL key and its CLI flag
are the setting's name, so the address bar is always a link to exactly this run. Training and
settings live in lrcore; the figure is built in figures.py; this file only lays out the page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import urllib.parse

import pandas as pd
import streamlit as st

import data_ui
import explain_ui
import figures
import lessons
import lrcore
import runs
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
    views_ui(s, data, run, source)  # first: the chart leaves before the sidebar's widgets
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
    columns = st.columns(2)
    for column, name in zip(columns, (left, right), strict=True):
        with column:
            number(name)


def new_seed() -> None:
    st.session_state.seed = (st.session_state.seed + 1) % (bounds("seed")[1] + 1)


# --- views and results ------------------------------------------------------------------------

def views_ui(s: cfg.Settings, data: lrcore.Dataset, run: runs.Run,
             source: data_ui.RunData) -> None:
    """The one figure (data and line | loss curve | landscape) and its player. `data`: the
    points the run fits; `source`: every point, and which are left out."""
    run_id = run.id
    overlay, hold = explain_ui.overlay(data)  # a pinned run, faded, if any
    spec = figures.build(source.points.x, source.points.y, run.frames, run.curve,
                         left_out=source.left_out, truth=source.truth, loss_scale=s.loss_scale,
                         run_id=run_id, overlay=overlay, hold=hold)
    st.plotly_chart(figures.Prebuilt(spec), key="views", theme=None,  # its own neutral colours
                    config={"displaylogo": False, "toImageButtonOptions": {  # PNG export
                        "format": "png", "filename": "gradient-descent", "scale": 2}},
                    alt="The data with the fitted line, the loss curve and the loss landscape "
                        "with the path of the run", **data_ui.selectable(source))
    controls, scale = st.columns([5, 1], vertical_alignment="bottom")
    with controls:
        player(key="player", data={
            "id": run_id, "ms": figures.FRAME_MS, "narrow": figures.narrow_layout(),
            "names": [str(f.epoch) for f in run.frames],
            "readouts": [figures.readout(f) for f in run.frames]})
    scale.segmented_control(label("loss_scale"), cfg.LOSS_SCALES, key="loss_scale",
                            required=True)
    data_ui.exclusion_ui(source)  # how many points are left out, and how to bring them back
    explain_ui.summary_ui(data, run, lrcore.closed_form(data.x, data.y))


def digest(value) -> str:
    return hashlib.sha1(json.dumps(value).encode()).hexdigest()[:16]


def results_ui(chosen: cfg.Settings, run: runs.Run, fit: lrcore.Fit) -> None:
    """Final stats, the reference answer, the blog's log, downloads and the share link."""
    last = run.last
    st.subheader("Result" + (" (diverged)" if last.diverged else ""))
    cols = st.columns(5)
    cols[0].metric("Epochs run", f"{last.epoch:,}")
    cols[1].metric("Final W", f"{last.w:.6g}")
    cols[2].metric("Final b", f"{last.b:.6g}")
    cols[3].metric("Final loss", f"{last.loss:.6g}")
    cols[4].metric("Gradient (dW, db)", f"{last.dw:.3g}, {last.db:.3g}")
    st.subheader("Reference answer: least squares")
    cols = st.columns(5)
    cols[0].metric("W*", f"{fit.w:.6g}")
    cols[1].metric("b*", f"{fit.b:.6g}")
    cols[2].metric("R²", f"{fit.r2:.4f}")
    cols[3].metric("RMSE", f"{fit.rmse:.6g}")
    cols[4].metric("Run − answer (W, b)", f"{last.w - fit.w:.3g}, {last.b - fit.b:.3g}",
                   help=f"loss above the lowest: {last.loss - fit.loss:.3g}")
    st.subheader(f"Training log (every {runs.log_every(chosen.iterations):,} epochs)")
    log = log_table(run.log)
    st.dataframe(log, hide_index=True, key="log")
    csv, settings_json, link = st.columns([1, 1, 3], vertical_alignment="bottom")
    csv.download_button("Log as CSV", log.to_csv(index=False), "training_log.csv", "text/csv",
                        key="download_log", on_click="ignore")
    settings_json.download_button(
        "Settings as JSON", json.dumps(dataclasses.asdict(chosen), indent=2), "settings.json",
        "application/json", key="download_settings", on_click="ignore")
    with link:
        st.caption(data_ui.link_caption())
        st.code(share_link(chosen), language=None, wrap_lines=True)


def log_table(states: list[lrcore.State]) -> pd.DataFrame:
    return pd.DataFrame({"epoch": [s.epoch for s in states], "W": [s.w for s in states],
                         "b": [s.b for s in states], "loss": [s.loss for s in states],
                         "dW": [s.dw for s in states], "db": [s.db for s in states]})


def share_link(s: cfg.Settings) -> str:
    base = (st.context.url or "").split("?")[0]
    return base + "?" + urllib.parse.urlencode(cfg.to_params(s))


# --- the player ---------------------------------------------------------------------------

# The player: play/pause, step, a scrubber over every frame, speed and the numbers at the current
# epoch, in HTML beside the chart. Its script drives the Plotly chart's own frames (Plotly has no
# relative step, and its own slider and buttons cost more to draw than the data); it also plays
# each new run once, and stacks the views on a phone-wide screen.
PLAYER_HTML = """<div class="player">
<div class="readout"></div>
<div class="controls">
<button class="play" title="Play or pause the run">▶ Play</button>
<button data-go="first" title="First epoch" aria-label="First epoch">|◀</button>
<button data-go="back" title="Step back one frame" aria-label="Step back">◀</button>
<button data-go="forward" title="Step forward one frame" aria-label="Step forward">▶</button>
<button data-go="last" title="Last epoch" aria-label="Last epoch">▶|</button>
<input type="range" min="0" max="0" value="0" step="1" aria-label="Epoch">
<select aria-label="Speed" title="Speed"><option value="0.25">¼×</option>
<option value="0.5">½×</option><option value="1" selected>1×</option>
<option value="2">2×</option><option value="4">4×</option></select>
</div></div>"""
PLAYER_CSS = """
.player { font-family: var(--st-font); color: var(--st-text-color); }
.readout { font-variant-numeric: tabular-nums; margin-bottom: 0.4rem; min-height: 1.5em; }
.controls { display: flex; gap: 0.4rem; align-items: center; flex-wrap: wrap; }
.controls input { flex: 1 1 12rem; accent-color: var(--st-primary-color); }
button, select { font: inherit; padding: 0.25rem 0.7rem; cursor: pointer;
  color: var(--st-text-color); background: var(--st-secondary-background-color);
  border: 1px solid var(--st-border-color); border-radius: 0.5rem; }
button:hover, button:focus-visible { border-color: var(--st-primary-color);
  color: var(--st-primary-color); }
button:focus-visible, select:focus-visible, input:focus-visible {
  outline: 2px solid var(--st-primary-color); outline-offset: 2px; }
.play { min-width: 6.5rem; }"""
PLAYER_JS = """
export default function ({ parentElement, data }) {
  const $ = (selector) => parentElement.querySelector(selector);
  const root = $(".player"), play = $(".play"), scrub = $("input"), speed = $("select");
  const readout = $(".readout"), last = data.names.length - 1;
  let gd = null;
  root.dataset.run = data.id;
  const chart = () => [...document.querySelectorAll(".st-key-views .js-plotly-plot")]
    .filter((el) => !el.closest("[data-stale='true']")).pop();
  const options = (ms) => ({mode: "immediate", frame: {duration: ms, redraw: false},
                            transition: {duration: 0}});
  const animate = (el, frames, ms) =>  // a newer call interrupts it: that is no error here
    window.Plotly.animate(el, frames, options(ms)).catch(() => {});
  const show = (i) => {  // (the live math follows the "lr-frame" event)
    scrub.value = i;
    readout.textContent = data.readouts[i];
    window.__lrFrame = {run: data.id, index: i, epoch: Number(data.names[i])};
    window.dispatchEvent(new CustomEvent("lr-frame", {detail: window.__lrFrame}));
  };
  const playing = (on) => { play.textContent = on ? "❚❚ Pause" : "▶ Play";
                            play.dataset.on = on ? "yes" : ""; };
  const jump = (i) => {
    if (!gd) return;
    i = Math.max(0, Math.min(last, i));
    playing(false);
    animate(gd, [data.names[i]], 0);
    show(i);
  };
  const start = () => {
    if (!gd) return;
    const from = Number(scrub.value) >= last ? 0 : Number(scrub.value) + 1;
    playing(true);
    animate(gd, data.names.slice(from), data.ms / Number(speed.value));
  };
  const stop = () => { if (gd) animate(gd, [null], 0); playing(false); };
  play.onclick = () => (play.dataset.on ? stop() : start());
  const steps = {first: () => 0, back: (i) => i - 1, forward: (i) => i + 1, last: () => last};
  parentElement.querySelectorAll("[data-go]").forEach((button) => {
    button.onclick = () => jump(steps[button.dataset.go](Number(scrub.value)));
  });
  scrub.max = last;
  scrub.oninput = () => jump(Number(scrub.value));
  speed.onchange = () => { if (play.dataset.on) start(); };
  playing(false);
  show(0);
  const listen = (el) => {
    if (el.__player) {
      el.removeListener("plotly_animatingframe", el.__player.frame);
      el.removeListener("plotly_animated", el.__player.done);
    }
    el.__player = {done: () => playing(false),  // (a frame drawn after a pause or jump: ignore)
                   frame: (e) => { if (play.dataset.on) show(data.names.indexOf(e.name)); }};
    el.on("plotly_animatingframe", el.__player.frame);
    el.on("plotly_animated", el.__player.done);
  };
  // Plotly.animate (redraw: false) recomputes every trace but draws only the moving ones: the
  // others lose the link to their drawing that a box or lasso selection needs (it would throw
  // and select nothing), at every frame while a run plays. So link them to their drawing
  // again as a drag starts and while it moves (a dozen traces: cheap), once for the page.
  const relink = () => document.querySelectorAll(".st-key-views .js-plotly-plot")
    .forEach((el) => {
      const drawn = new Map();
      el.querySelectorAll(".scatterlayer .trace").forEach((g) => {
        const cd = g.__data__;
        if (cd && cd[0] && cd[0].node3) drawn.set(cd[0].trace.uid, cd[0].node3);
      });
      (el.calcdata || []).forEach((cd) => {
        if (!cd[0].node3 && drawn.has(cd[0].trace.uid)) cd[0].node3 = drawn.get(cd[0].trace.uid);
      });
    });
  if (!window.__lrRelink) {
    window.__lrRelink = true;
    for (const type of ["mousedown", "touchstart"]) document.addEventListener(type, relink, true);
    for (const type of ["mousemove", "touchmove"]) {
      document.addEventListener(type, (e) => { if (e.buttons || e.touches) relink(); }, true);
    }
  }
  let tries = 0;
  const attach = () => {  // once this run's chart is drawn: fit it to the screen, play it
    if (root.dataset.run !== data.id) return;  // a newer run took over
    const el = chart();
    if (!(el && window.Plotly && el._fullLayout && el._fullLayout.meta === data.id)) {
      if (tries++ < 900) requestAnimationFrame(attach);
      return;
    }
    gd = el;
    listen(el);
    const narrow = el.clientWidth < 640 ? window.Plotly.relayout(el, data.narrow) : null;
    Promise.resolve(narrow).catch(() => {}).then(() => {
      start();
      root.dataset.playing = data.id;  // (tests wait for this before they press anything)
    });
  };
  attach();
}"""
player = st.components.v2.component("lr_player", html=PLAYER_HTML, css=PLAYER_CSS, js=PLAYER_JS)


if __name__ == "__main__":  # streamlit run (and AppTest) run this file as __main__
    main()
