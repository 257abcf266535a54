"""Why the run does what it does (issue 5): the step-size limit, what the Hessian predicts, a
pinned run to compare with, the update rule with this run's numbers, lessons for teachers and
a text summary of the views. Only app.py imports this; every number comes from lrcore.

The numbers are those of the run's last epoch, computed on the server: the player moves
through the epochs in the browser, which the server never sees. The math panel is the one
exception: it sends the update at every frame once, and follows the player in the browser.
"""

from __future__ import annotations

import hashlib
import json
import math
import urllib.parse
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

import figures
import lessons
import lrcore
from lrcore import settings as cfg
from lrcore.explain import Rates, epochs_to_1pct, rates

LINEAR = ("gd", "momentum", "nesterov")  # the optimizers with a sharp step-size limit
LIMIT_RULE = {"gd": "2/λmax", "momentum": "2(1+β)/λmax", "nesterov": "2(1+β)/((1+2β)·λmax)"}
# widgets that go with a hidden setting (keys of app.py's and data_ui.py's widgets)
ALSO_HIDDEN = {"seed": ("new_data",), "dataset": ("upload_file", "x_col", "y_col")}


# --- numbers as a person reads them -----------------------------------------------------------

def fmt(v: float, sig: int = 4) -> str:
    """v to `sig` significant digits with thousands separated (9,527,000; 0.0006008), and in
    powers of ten when very large or small."""
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("∞" if v > 0 else "-∞")
    if v == 0:
        return "0"
    v = float(f"{v:.{sig}g}")
    mag = math.floor(math.log10(abs(v)))
    if mag >= 12 or mag < -5:
        return f"{v:.{sig - 1}e}"
    return f"{v:,.{max(0, sig - 1 - mag)}f}"


def words(s: cfg.Settings) -> str:
    """A run's settings in a few words: 'gd, η = 0.0005, raw x, 50,000 epochs'."""
    parts = [s.optimizer, f"η = {s.step_size:g}"]
    if s.optimizer in ("momentum", "nesterov"):
        parts.append(f"β = {s.momentum:g}")
    if s.optimizer == "sgd":
        parts.append(f"batch {s.batch_size}")
    parts += ["standardized x" if s.standardize else "raw x", f"{s.iterations:,} epochs"]
    return ", ".join(parts)


# --- the step-size limit ----------------------------------------------------------------------

def why(s: cfg.Settings, data) -> Rates:
    """What the Hessian of this data predicts for these settings (lrcore.explain.rates)."""
    return rates(data.x, data.y, s.step_size, s.optimizer, s.momentum, s.standardize, s.w0,
                 s.b0)


def limit_text(s: cfg.Settings, data) -> tuple[str, bool]:
    """The sentence under the step-size slider, and whether the step size is above the limit.
    The limit is lrcore.stable_step_size's, to 4 significant digits."""
    limit = lrcore.stable_step_size(data.x, data.y, s.optimizer, s.momentum, s.standardize)
    rule = LIMIT_RULE.get(s.optimizer)
    if rule is None:
        return (f"{s.optimizer} has no sharp step-size limit; gd's on this data is "
                f"{fmt(limit)}."), False
    above = s.step_size > limit
    text = f"Largest step that converges here: **{fmt(limit)}** ({rule})."
    if above:
        text = f":red[{text} This step size is above it: the run will diverge.]"
    return text, above


def limit_ui(s: cfg.Settings, data) -> None:
    """The limit under the step-size slider."""
    text, _ = limit_text(s, data)
    st.caption(text)


def growth_text(s: cfg.Settings, data) -> str:
    """By how much the error grows each epoch when the step size is above the limit."""
    r = why(s, data)
    if s.optimizer == "gd":
        return (f"Along the loss's steepest direction (curvature λmax = {fmt(r.lam_max)}, the "
                f"largest eigenvalue of its Hessian) each epoch multiplies the error by "
                f"|1 − η·λmax| = |1 − {s.step_size:g} × {fmt(r.lam_max)}| = {fmt(r.growth)}, "
                f"and the loss by its square, {fmt(r.growth**2)}.")
    return (f"Along the loss's steepest direction (λmax = {fmt(r.lam_max)}) each epoch of "
            f"{s.optimizer} multiplies the error by about {fmt(r.growth)} (the spectral "
            f"radius of its update), and the loss by about {fmt(r.growth**2)}.")


def divergence_text(s: cfg.Settings, data, last, first) -> str:
    """A diverged run explained with its numbers."""
    text = (f"The run diverged at epoch {last.epoch:,} and was stopped: the loss reached "
            f"{last.loss:.3g} (it started at {first.loss:.3g}). The step size "
            f"{s.step_size:g} is too large for {s.optimizer} on this data")
    if s.optimizer not in LINEAR:
        return text + ". Try a smaller step size, or standardized x."
    limit = lrcore.stable_step_size(data.x, data.y, s.optimizer, s.momentum, s.standardize)
    return (f"{text}: it converges only below {fmt(limit)} ({LIMIT_RULE[s.optimizer]}). "
            f"{growth_text(s, data)} Try a smaller step size, or standardized x.")


def warning_text(s: cfg.Settings, data, last) -> str | None:
    """A warning for a run above the limit that has not diverged yet (too few epochs)."""
    if last.diverged or s.optimizer not in LINEAR or not limit_text(s, data)[1]:
        return None
    return (f"The step size {s.step_size:g} is above the limit for {s.optimizer} on this data, "
            f"so this run diverges if it runs long enough. {growth_text(s, data)}")


# --- conditioning: predicted and observed epochs to 1% ----------------------------------------

@st.cache_data(show_spinner=False, max_entries=256)
def observed_1pct(x, y, s: cfg.Settings, iterations: int) -> int | None:
    """The first epoch within 1% of the optimum (lrcore.explain.epochs_to_1pct), exact."""
    return epochs_to_1pct(x, y, iterations, step_size=s.step_size, optimizer=s.optimizer,
                          momentum=s.momentum, standardize=s.standardize, w0=s.w0, b0=s.b0)


def first_charted_1pct(states, fit) -> int | None:
    """The first of the given states within 1% of the optimum: adam and sgd are not scanned
    epoch by epoch (that would cost as much as the run again)."""
    def dist(st_):
        return math.hypot(st_.w - fit.w, st_.b - fit.b)
    start = dist(states[0])
    return next((st_.epoch for st_ in states[1:]
                 if not st_.diverged and dist(st_) <= 0.01 * start), None)


def epochs_1pct(s: cfg.Settings, data, run) -> tuple[int | None, bool]:
    """(epochs to within 1% of the optimum, exact?) for this run."""
    if run.last.diverged:
        return None, True
    if s.optimizer in LINEAR:
        return observed_1pct(data.x, data.y, s, run.last.epoch), True
    return first_charted_1pct(run.curve, lrcore.closed_form(data.x, data.y)), False


def why_ui(s: cfg.Settings, data, run) -> None:
    """The step-size limit and the conditioning, with what they predict for this run."""
    r = why(s, data)
    seen, exact = epochs_1pct(s, data, run)
    predicted = "never" if math.isinf(r.epochs_to_1pct) else f"{math.ceil(r.epochs_to_1pct):,}"
    cols = st.columns(4)
    cols[0].metric("Largest stable step", fmt(r.limit),
                   help=LIMIT_RULE.get(s.optimizer, "gd's limit, 2/λmax, as a guide"))
    cols[1].metric("Condition number κ", fmt(r.condition))
    cols[2].metric("Predicted epochs to 1%" + ("" if s.optimizer in LINEAR else " (gd)"),
                   predicted)
    cols[3].metric("Epochs to 1%, this run", "not reached" if seen is None else
                   f"{seen:,}" if exact else f"≈ {seen:,}")
    st.markdown(limit_paragraph(s, r))
    st.markdown(conditioning_paragraph(s, r, seen, exact))


def limit_paragraph(s: cfg.Settings, r: Rates) -> str:
    x_name = "standardized x" if s.standardize else "x"
    rule = LIMIT_RULE.get(s.optimizer, "gd's: adam and sgd have no sharp limit")
    return (f"**The step-size limit.** The loss is a bowl in (W, b). Its Hessian H (on "
            f"{x_name}) has eigenvalues λmax = {fmt(r.lam_max)} along the steepest direction "
            f"and λmin = {fmt(r.lam_min)} along the flattest. Along a direction of curvature "
            f"λ, gd multiplies the error by (1 − η·λ) each epoch, so it converges only while "
            f"|1 − η·λmax| < 1, that is η < 2/λmax. For {s.optimizer} on this data the limit "
            f"is **{fmt(r.limit)}** ({rule}); this run uses η = {s.step_size:g}.")


ACCURACY = {"gd": "For gd the prediction is exact (to the epoch).",
            "momentum": "Momentum's path can swing to and fro, so its prediction is rough.",
            "nesterov": "Nesterov's path can swing to and fro, so its prediction is rough."}


def conditioning_paragraph(s: cfg.Settings, r: Rates, seen: int | None, exact: bool) -> str:
    who = "it needs" if s.optimizer in LINEAR else "gd would need"
    if r.growth >= 1:
        outlook = (f"At this step size the error grows by a factor {fmt(r.growth)} per epoch, "
                   f"so the run never gets near the optimum.")
    else:
        outlook = (f"At this step size the slowest direction's error shrinks by a factor "
                   f"{r.growth:.6g} per epoch, so {who} about "
                   f"**{math.ceil(r.epochs_to_1pct):,} epochs** to get within 1% of the "
                   f"optimum (‖(W, b) − (W*, b*)‖ at most 1% of what it was at the start).")
    observed = ("This run did not get within 1%." if seen is None else
                f"This run: **{seen:,}**." if exact else
                f"This run: first within 1% at the charted epoch {seen:,}.")
    blog = (" This is why the blog post needed 50,000 epochs." if s.optimizer == "gd" and
            s.step_size == 0.0005 and r.condition > 1000 else "")
    return (f"**Conditioning.** The condition number κ = λmax/λmin = {fmt(r.condition)} says "
            f"how much more slowly the flattest direction converges than the steepest. "
            f"{outlook} {observed} {ACCURACY.get(s.optimizer, '')}{blog}")


# --- the math, with this run's numbers --------------------------------------------------------

LOSS_TEX = r"L(W, b) = \frac{1}{2n}\sum_{i=1}^{n} \left(W x_i + b - y_i\right)^2"
GRADIENT_TEX = [r"dW = \frac{\partial L}{\partial W} = \frac{1}{n}\sum_{i=1}^{n}"
                r"\left(W x_i + b - y_i\right) x_i",
                r"db = \frac{\partial L}{\partial b} = \frac{1}{n}\sum_{i=1}^{n}"
                r"\left(W x_i + b - y_i\right)"]
STANDARDIZED_TEX = [r"z_i = \frac{x_i - m}{s},\qquad \hat y_i = u z_i + c",
                    r"W = \frac{u}{s},\qquad b = c - \frac{u\,m}{s}"]
RULE_TEX = {
    "gd": r"W \leftarrow W - \eta\, dW, \qquad b \leftarrow b - \eta\, db",
    "momentum": r"v \leftarrow \beta v + g, \qquad \theta \leftarrow \theta - \eta\, v",
    "nesterov": r"v \leftarrow \beta v + g, \qquad \theta \leftarrow \theta - \eta\,(g + \beta v)",
    "adam": (r"\begin{aligned} m &\leftarrow \beta_1 m + (1-\beta_1)\, g, & \hat m &= "
             r"\frac{m}{1-\beta_1^t} \\ s &\leftarrow \beta_2 s + (1-\beta_2)\, g^2, & \hat s &= "
             r"\frac{s}{1-\beta_2^t} \\ \theta &\leftarrow \theta - \eta\,\frac{\hat m}"
             r"{\sqrt{\hat s} + \epsilon} \end{aligned}"),
    "sgd": r"\theta \leftarrow \theta - \eta\, g_B \quad \text{for each mini-batch } B",
}
SYMBOLS = {"momentum": " (θ = (W, b) together, g = (dW, db) its gradient, v its velocity)",
           "nesterov": " (θ = (W, b) together, g = (dW, db) its gradient, v its velocity)",
           "adam": " (θ = (W, b), g = (dW, db), β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸, t the step)",
           "sgd": " (g_B: the gradient over the mini-batch B only)"}
NARROW_MATH = """<style>
.st-key-math .katex-display { overflow-x: auto; overflow-y: hidden; }
@media (max-width: 640px) { .st-key-math .katex { font-size: 1em; } }
</style>"""
READ_OFF = {  # what the written-out update of adam and sgd cannot show, and why
    "adam": "m̂/(√ŝ + ε) is read off the step the run took: its first step has m̂ = g and "
            "ŝ = g², so each parameter moves by η whatever the gradient's size.",
    "sgd": "Each epoch takes {batches} mini-batch steps; the sum of their gradients, Σ_B, is "
           "read off the step the run took."}
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
TO = "\u00a0→\u00a0"  # "1,234 → 1,235" stays on one line
VELOCITY = {"W": "vᵂ", "b": "vᵇ", "u": "vᵘ", "c": "vᶜ"}  # the velocity of each parameter


def num(v: float, sig: int = 10, operand: bool = False) -> str:
    """v as the written-out update shows it: `sig` significant digits, powers of ten written
    out (1.5×10⁻⁸), a true minus sign, and bracketed when negative and an `operand` of × or +."""
    text = f"{v:.{sig}g}"
    if not math.isfinite(v):
        text = "NaN" if math.isnan(v) else text.replace("inf", "∞")
    elif "e" in text:
        mantissa, power = text.split("e")
        text = f"{mantissa}×10{str(int(power)).translate(SUPERSCRIPT)}"
    text = text.replace("-", "−")
    return f"({text})" if operand and v < 0 else text


def sym(name: str, k: int) -> str:
    """A symbol at epoch k: W₁₂₃₄."""
    return name + str(k).translate(SUBSCRIPT)


@st.cache_data(show_spinner=False, max_entries=64)
def last_states(x, y, s: cfg.Settings, last: int) -> list:
    """The states at epochs last − 2, last − 1 and last of a gd, momentum or nesterov run
    (about as cheap as one state: these runs jump between epochs)."""
    states = lrcore.train(x, y, step_size=s.step_size, iterations=last, optimizer=s.optimizer,
                          momentum=s.momentum, standardize=s.standardize, w0=s.w0, b0=s.b0,
                          at=[last - 2, last - 1])
    return [st_ for st_ in states if st_.epoch >= last - 2]


@dataclass(frozen=True)
class Coordinates:
    """Where training happens: raw x (m = 0, s = 1) or standardized x."""

    m: float
    s: float

    def params(self, state) -> tuple[float, float]:
        """(W, b) in training coordinates: (u, c) = (W·s, b + W·m)."""
        return state.w * self.s, state.b + state.w * self.m

    def gradient(self, state) -> tuple[float, float]:
        """(dW, db) in training coordinates: (du, dc) = ((dW − m·db)/s, db)."""
        return (state.dw - self.m * state.db) / self.s, state.db


def coordinates(s: cfg.Settings, data) -> Coordinates:
    if not s.standardize:
        return Coordinates(0.0, 1.0)
    return Coordinates(float(np.mean(data.x)), float(np.std(data.x)))


def update_lines(s: cfg.Settings, name: str, k: int, theta: float, grad: float,
                 v_old: float) -> list[str]:
    """One parameter's update k → k + 1 by gd, momentum or nesterov, as lines of text: the
    rule, the numbers put in, the result (the formula lrcore computes)."""
    eta, beta, d = s.step_size, s.momentum, "d" + sym(name, k)
    new, old = sym(name, k + 1), sym(name, k)
    if s.optimizer == "gd":
        return [f"{new} = {old} − η·{d} = {num(theta)} − {num(eta)} × {num(grad, 6, True)} = "
                f"{num(theta - eta * grad)}"]
    v = beta * v_old + grad
    v_new, v_old_name = sym(VELOCITY[name], k + 1), sym(VELOCITY[name], k)
    if s.optimizer == "momentum":
        step, rule = v, f"{new} = {old} − η·{v_new}"
    else:
        step, rule = grad + beta * v, f"{new} = {old} − η·({d} + β·{v_new})"
    return [f"{v_new} = β·{v_old_name} + {d} = {num(beta)} × {num(v_old, 6, True)} + "
            f"{num(grad, 6, True)} = {num(v, 6)}",
            f"{rule} = {num(theta)} − {num(eta)} × {num(step, 6, True)} = "
            f"{num(theta - eta * step)}"]


def velocity(s: cfg.Settings, coords: Coordinates, before, now, i: int) -> float:
    """Parameter i's velocity at `now`, recovered from the step just taken:
    momentum: θ_k = θ_{k−1} − η·v_k;  nesterov: θ_k = θ_{k−1} − η·(g_{k−1} + β·v_k)."""
    step = (coords.params(before)[i] - coords.params(now)[i]) / s.step_size
    if s.optimizer == "momentum":
        return step
    return (step - coords.gradient(before)[i]) / s.momentum if s.momentum else 0.0


def step_line(s: cfg.Settings, name: str, k: int, theta: float, theta_next: float) -> str:
    """One parameter's update k → k + 1 by adam or sgd, with the step read off the run."""
    rule = "m̂/(√ŝ + ε)" if s.optimizer == "adam" else f"Σ_B d{name}_B"
    step = (theta - theta_next) / s.step_size
    return (f"{sym(name, k + 1)} = {sym(name, k)} − η·{rule} = {num(theta)} − "
            f"{num(s.step_size)} × {num(step, 6, True)} = {num(theta_next)}")


def data_units_lines(coords: Coordinates, after) -> list[str]:
    """The standardized run's parameters after the update, in the data's units."""
    u, c = coords.params(after)
    w, k = sym("W", after.epoch), after.epoch
    return [f"{w} = {sym('u', k)}/s = {num(u)} / {num(coords.s)} = {num(after.w)}",
            f"{sym('b', k)} = {sym('c', k)} − {w}·m = {num(c)} − {num(after.w, 10, True)} × "
            f"{num(coords.m, 10, True)} = {num(after.b)}"]


def update_text(s: cfg.Settings, coords: Coordinates, before, now, after) -> list[str]:
    """The update from `now` to `after` written out for each parameter (`before`: the state
    one epoch earlier, for the velocity; None at the start)."""
    names = ("u", "c") if s.standardize else ("W", "b")
    theta, grad, theta_next = coords.params(now), coords.gradient(now), coords.params(after)
    lines = []
    for i, name in enumerate(names):
        if s.optimizer in LINEAR:
            v_old = velocity(s, coords, before, now, i) if before else 0.0
            lines += update_lines(s, name, now.epoch, theta[i], grad[i], v_old)
        else:
            lines.append(step_line(s, name, now.epoch, theta[i], theta_next[i]))
    return lines + (data_units_lines(coords, after) if s.standardize else [])


def update_states(s: cfg.Settings, data, run, k: int) -> tuple | None:
    """The states at epochs k − 1 (None at the start), k and k + 1, or None when the run did
    not keep them (adam or sgd diverging between frames)."""
    states = [run.at(e) if e >= 0 else None for e in (k - 1, k, k + 1)]
    needed = states[1:] + (states[:1] if s.optimizer in LINEAR and k else [])
    if None not in needed:
        return tuple(states)
    if s.optimizer in LINEAR:  # the run's last update: recomputed, cheaply
        rest = last_states(data.x, data.y, s, k + 1)
        return tuple([None] * (3 - len(rest)) + rest)
    return None


def frame_lines(s: cfg.Settings, data, run, coords: Coordinates, epoch: int) -> list[str]:
    """What the math panel shows while the player is at `epoch`: a heading, then the update
    from there to the next epoch written out (at the run's last epoch: the update that led
    there)."""
    last = run.last
    k = epoch if epoch < last.epoch else epoch - 1
    note = (f" (the run diverged at epoch {last.epoch:,} and stopped)"
            if last.diverged and k + 1 == last.epoch else "")
    heading = (f"The update at epoch {k:,}{TO}{k + 1:,}{note}, where the player is:"
               if k == epoch else
               f"The player is at the run's last epoch, {epoch:,}: the update that led there, "
               f"{k:,}{TO}{epoch:,}{note}:")
    states = update_states(s, data, run, k) if k >= 0 else None
    if states is None:
        return [f"The run stopped at epoch {last.epoch:,}"
                + (", where it diverged" if last.diverged else "") + ": no update to show."]
    return [heading, *update_text(s, coords, *states)]


def live_lines(s: cfg.Settings, data, run) -> list[list[str]]:
    """For every frame of the run, in order: its heading and its update with the numbers."""
    coords = coordinates(s, data)
    return [frame_lines(s, data, run, coords, frame.epoch) for frame in run.frames]


@st.cache_data(show_spinner=False, max_entries=16)
def live_payload(run_id: str, s: cfg.Settings, *, _data, _run) -> bytes:
    """What the math panel's script gets for the run `run_id` names (settings, data and all):
    {"run": run_id, "frames": live_lines(...)}, as UTF-8 JSON once per run (it is sent as it
    is: half the size of Streamlit's ASCII-escaped JSON)."""
    frames = live_lines(s, _data, _run)
    return json.dumps({"run": run_id, "frames": frames}, ensure_ascii=False,
                      separators=(",", ":")).encode()


# The update at the player's epoch: every frame's lines are sent with the page, and the script
# shows those of the frame the player announces (window event "lr-frame"), with no rerun.
MATH_HTML = """<div class="live" aria-live="off">
<p class="heading"></p><div class="lines"></div></div>"""
MATH_CSS = """
.live { font-family: var(--st-font); color: var(--st-text-color);
  font-size: var(--st-base-font-size); }
.heading { margin: 0 0 0.4rem; }
.lines { font-variant-numeric: tabular-nums; background: var(--st-secondary-background-color);
  border: 1px solid var(--st-border-color); border-radius: var(--st-base-radius);
  padding: 0.5rem 0.75rem; overflow-x: auto; line-height: 1.6; }
.line { padding-left: 1.5em; text-indent: -1.5em; }
.line + .line { margin-top: 0.35rem; }
.part { display: inline-block; white-space: nowrap; text-indent: 0; }"""
MATH_JS = """
export default function ({ parentElement, data: bytes }) {
  const data = JSON.parse(new TextDecoder().decode(bytes));
  const root = parentElement.querySelector(".live");
  const heading = parentElement.querySelector(".heading");
  const lines = parentElement.querySelector(".lines");
  const last = data.frames.length - 1;
  const line = (text) => {  // wraps only at its "=" signs
    const div = document.createElement("div");
    div.className = "line";
    text.split(" = ").forEach((part, j) => {
      const span = document.createElement("span");
      span.className = "part";
      span.textContent = (j ? "= " : "") + part;
      div.append(span, " ");
    });
    return div;
  };
  const show = (i) => {
    i = Math.max(0, Math.min(last, Number(i) || 0));
    const [head, ...rest] = data.frames[i];
    root.dataset.index = i;
    heading.textContent = head;
    lines.replaceChildren(...rest.map(line));
    lines.hidden = rest.length === 0;
  };
  const now = window.__lrFrame;
  show(now && now.run === data.run ? now.index : 0);
  const follow = (event) => {
    if (event.detail && event.detail.run === data.run) show(event.detail.index);
  };
  if (window.__lrMath) window.removeEventListener("lr-frame", window.__lrMath);
  window.__lrMath = follow;  // one listener: this render's (an older one is replaced)
  window.addEventListener("lr-frame", follow);
  root.dataset.run = data.run;
  return () => {
    window.removeEventListener("lr-frame", follow);
    if (window.__lrMath === follow) window.__lrMath = null;
  };
}"""
live_math = st.components.v2.component("lr_math", html=MATH_HTML, css=MATH_CSS, js=MATH_JS)


def math_ui(s: cfg.Settings, data, run) -> None:
    """The loss, its gradient and the update rule, then the update at the player's epoch with
    its numbers (it follows the player in the browser)."""
    st.html(NARROW_MATH)
    for formula in [LOSS_TEX, *GRADIENT_TEX]:
        st.latex(formula)
    coords = coordinates(s, data)
    if s.standardize:
        st.markdown(f"Training runs on standardized x (m = {fmt(coords.m)}, "
                    f"s = {fmt(coords.s)}) with parameters u and c; the page shows W and b:")
        for formula in STANDARDIZED_TEX:
            st.latex(formula)
    beta = f" and β = {s.momentum:g}" if s.optimizer in ("momentum", "nesterov") else ""
    st.markdown(f"The update rule of **{s.optimizer}**, with step size η = {s.step_size:g}"
                f"{beta}{SYMBOLS.get(s.optimizer, '')}:")
    st.latex(RULE_TEX[s.optimizer])
    if s.optimizer in READ_OFF:
        st.caption(READ_OFF[s.optimizer].format(batches=-(-len(data.x) // s.batch_size)))
    live_math(key="live_math", data=live_payload(run.id, s, _data=data, _run=run))
    if s.standardize:
        st.caption("W = u/s and b = c − u·m/s convert these back to the data's units.")


# --- pinned runs ------------------------------------------------------------------------------

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
    return hashlib.sha1(np.asarray(data.x).tobytes() + np.asarray(data.y).tobytes()).hexdigest()


def row(s: cfg.Settings, data, run) -> dict:
    """One run's line in the comparison table."""
    fit = lrcore.closed_form(data.x, data.y)
    last = run.last
    seen, exact = epochs_1pct(s, data, run)
    predicted = why(s, data).epochs_to_1pct
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
        "run": words(s),
    }


def snapshot(s: cfg.Settings, data, run) -> Snapshot:
    x = np.asarray(data.x)
    return Snapshot(words(s), data_id(data), (float(x.min()), float(x.max())),
                    tuple(run.frames), tuple(run.curve), row(s, data, run))


def _pin(s: cfg.Settings, data, run) -> None:
    st.session_state["_pinned"] = snapshot(s, data, run)


def _unpin() -> None:
    st.session_state.pop("_pinned", None)


def _compare_scaling(s: cfg.Settings, data, run) -> None:
    """Pin this run and run the same settings on the other x: raw ↔ standardized."""
    _pin(s, data, run)
    st.session_state["standardize"] = not s.standardize


def pinned() -> Snapshot | None:
    return st.session_state.get("_pinned")


def pinned_id() -> str:
    """Changes whenever the pinned run does (part of the chart's identity)."""
    pin = pinned()
    return "" if pin is None else hashlib.sha1(repr(pin.row).encode()).hexdigest()[:12]


def overlay(data) -> tuple[list[dict], tuple]:
    """The pinned run's faded traces for the chart, and its frames if the view ranges should
    hold them too (only when it ran on the same data)."""
    pin = pinned()
    if pin is None:
        return [], ()
    traces = figures.pinned(pin.frames, pin.curve, x_range=pin.x_range,
                             label=f"pinned: {pin.label}")
    if pin.data_id != data_id(data):
        return traces, ()
    limit = 10 * pin.frames[0].loss  # a diverging pinned run must not stretch the views
    return traces, tuple(s for s in pin.frames if math.isfinite(s.loss) and s.loss <= limit)


EPOCH_COLUMNS = ("epochs to 1%", "epochs to 1% (charted)", "predicted epochs to 1%",
                 "final epoch")


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """The runs side by side; epochs stay whole numbers where one run has none."""
    table = pd.DataFrame(rows).astype({name: "Int64" for name in EPOCH_COLUMNS})
    return table.dropna(axis=1, how="all")


def compare_ui(s: cfg.Settings, data, run) -> None:
    """Pin this run (a faded copy stays on the views), compare raw and standardized x, and
    the comparison table with its CSV."""
    pin = pinned()
    args = (s, data, run)
    cols = st.columns(3)
    cols[0].button("Pin this run", key="pin", icon=":material/push_pin:", on_click=_pin,
                   args=args, width="stretch",
                   help="Keep a faded copy of this run on all three views while you change "
                        "any setting")
    cols[1].button("Unpin", key="unpin", on_click=_unpin, disabled=pin is None,
                   width="stretch", help="Clear the pinned run")
    other = "raw" if s.standardize else "standardized"
    cols[2].button("Compare raw and standardized x", key="compare_scaling",
                   on_click=_compare_scaling, args=args, width="stretch",
                   help=f"Pin this run and run the same settings on {other} x")
    if pin is None:
        return
    table = compare_table([{"": "pinned", **pin.row}, {"": "this run", **row(s, data, run)}])
    if pin.data_id != data_id(data):
        st.caption("The pinned run was trained on other data.")
    st.dataframe(table, hide_index=True, key="comparison")
    st.download_button("Comparison as CSV", table.to_csv(index=False), "comparison.csv",
                       "text/csv", key="download_comparison", on_click="ignore")


# --- the text summary of the views ------------------------------------------------------------

def summary(data, run, fit, pin: Snapshot | None = None) -> list[str]:
    """What each view shows at the run's last epoch, in words (for anyone who cannot see the
    chart, and for everyone on a small screen)."""
    last, first = run.last, run.frames[0]
    at = f"epoch {last.epoch:,}" + (" (diverged)" if last.diverged else "")
    lines = [
        f"Data and line, {at}: {len(data.x):,} points and the line y = {fmt(last.w)}x + "
        f"{fmt(last.b, 5)}; least squares y = {fmt(fit.w)}x + {fmt(fit.b, 5)}.",
        f"Loss: from {fmt(first.loss, 5)} at epoch 0 to {fmt(last.loss, 5)} at {at} "
        f"(least squares {fmt(fit.loss, 5)}).",
        f"Landscape: the path goes from (W, b) = ({fmt(first.w)}, {fmt(first.b, 5)}) to "
        f"({fmt(last.w)}, {fmt(last.b, 5)}); the optimum (star) is at ({fmt(fit.w)}, "
        f"{fmt(fit.b, 5)}).",
    ]
    if pin is not None:
        end = pin.frames[-1]
        lines.append(f"Faded and dashed, the pinned run ({pin.label}): line y = {fmt(end.w)}x + "
                     f"{fmt(end.b, 5)}, loss {fmt(end.loss, 5)} at epoch {end.epoch:,}.")
    return lines


def summary_ui(data, run, fit) -> None:
    with st.container(key="chart_summary"):
        st.caption("  \n".join(summary(data, run, fit, pinned())))


# --- lessons and hidden controls --------------------------------------------------------------

def _leave_lesson() -> None:
    st.session_state["lesson"] = ""
    st.session_state["hide"] = ""


def lesson_ui(s: cfg.Settings) -> None:
    """The lesson's prompt above the views, and the controls the link hides, hidden."""
    keys = [key for name in lessons.hidden(s) for key in (name, *ALSO_HIDDEN.get(name, ()))]
    if keys:
        st.html("<style>" + ", ".join(f".st-key-{key}" for key in keys)
                + " { display: none; }</style>")
    lesson = lessons.LESSONS.get(s.lesson)
    if lesson is None:
        return
    with st.container(key="lesson_prompt"):
        st.info(f"**Lesson: {lesson.title}.** {lesson.prompt}", icon=":material/school:")
        st.button("Leave this lesson", key="leave_lesson", on_click=_leave_lesson,
                  help="Show every control again")


def lessons_ui(chosen: cfg.Settings) -> None:
    """The ready links, and a link to this run with chosen controls hidden."""
    base = (st.context.url or "").split("?")[0]
    st.markdown("Each link opens the page with a prompt and only the controls the exercise "
                "needs:")
    st.markdown("\n".join(f"- **[{lesson.title}]({lessons.link(base, name)})** — "
                          f"`{lessons.link(base, name)}`"
                          for name, lesson in lessons.LESSONS.items()))
    choices = [n for n, f in cfg.FIELDS.items() if n not in cfg.LINK_ONLY]
    hide = st.multiselect("Or share this run with these controls hidden", choices,
                          default=[n for n in lessons.hidden(chosen) if n in choices],
                          key="hide_picker", format_func=label)
    link = cfg.to_params(chosen.replace(hide=",".join(n for n in choices if n in hide)))
    st.code(base + "?" + urllib.parse.urlencode(link), language=None, wrap_lines=True)


def label(name: str) -> str:
    text = cfg.FIELDS[name].metadata["help"]
    return text[:1].upper() + text[1:]


# --- the panels under the views ---------------------------------------------------------------

def panels_ui(chosen: cfg.Settings, s: cfg.Settings, data, run) -> None:
    """The comparison row, then the explanations in expanders that compute only when open."""
    compare_ui(s, data, run)
    with st.expander("Why this run behaves as it does", key="why", on_change="rerun") as box:
        if box.open:
            why_ui(s, data, run)
    with st.expander("The math, with this run's numbers", key="math",
                     on_change="rerun") as box:
        if box.open:
            math_ui(s, data, run)
    with st.expander("Lessons for teachers", key="lessons", on_change="rerun") as box:
        if box.open:
            lessons_ui(chosen)
