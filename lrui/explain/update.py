"""The math, with this run's numbers: the loss, its gradient and the update rule, then the
update at the player's epoch written out (it follows the player in the browser: see
components/live_math)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

import lrcore
from lrcore.optim import LINEAR, WITH_MOMENTUM
from lrcore.settings import Settings, train_args

from ..components.live_math import live_math
from ..text import BY_REPR, fmt

LOSS_TEX = r"L(W, b) = \frac{1}{2n}\sum_{i=1}^{n} \left(W x_i + b - y_i\right)^2"
GRADIENT_TEX = [
    r"dW = \frac{\partial L}{\partial W} = \frac{1}{n}\sum_{i=1}^{n}"
    r"\left(W x_i + b - y_i\right) x_i",
    r"db = \frac{\partial L}{\partial b} = \frac{1}{n}\sum_{i=1}^{n}"
    r"\left(W x_i + b - y_i\right)",
]
STANDARDIZED_TEX = [
    r"z_i = \frac{x_i - m}{s},\qquad \hat y_i = u z_i + c",
    r"W = \frac{u}{s},\qquad b = c - \frac{u\,m}{s}",
]
RULE_TEX = {
    "gd": r"W \leftarrow W - \eta\, dW, \qquad b \leftarrow b - \eta\, db",
    "momentum": r"v \leftarrow \beta v + g, \qquad \theta \leftarrow \theta - \eta\, v",
    "nesterov": r"v \leftarrow \beta v + g, \qquad \theta \leftarrow \theta - \eta\,(g + \beta v)",
    "adam": (
        r"\begin{aligned} m &\leftarrow \beta_1 m + (1-\beta_1)\, g, & \hat m &= "
        r"\frac{m}{1-\beta_1^t} \\ s &\leftarrow \beta_2 s + (1-\beta_2)\, g^2, & \hat s &= "
        r"\frac{s}{1-\beta_2^t} \\ \theta &\leftarrow \theta - \eta\,\frac{\hat m}"
        r"{\sqrt{\hat s} + \epsilon} \end{aligned}"
    ),
    "sgd": r"\theta \leftarrow \theta - \eta\, g_B \quad \text{for each mini-batch } B",
}
SYMBOLS = {
    "momentum": " (θ = (W, b) together, g = (dW, db) its gradient, v its velocity)",
    "nesterov": " (θ = (W, b) together, g = (dW, db) its gradient, v its velocity)",
    "adam": " (θ = (W, b), g = (dW, db), β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸, t the step)",
    "sgd": " (g_B: the gradient over the mini-batch B only)",
}
NARROW_MATH = """<style>
.st-key-math .katex-display { overflow-x: auto; overflow-y: hidden; }
@media (max-width: 640px) { .st-key-math .katex { font-size: 1em; } }
</style>"""
READ_OFF = {  # what the written-out update of adam and sgd cannot show, and why
    "adam": "m̂/(√ŝ + ε) is read off the step the run took: its first step has m̂ = g and "
    "ŝ = g², so each parameter moves by η whatever the gradient's size.",
    "sgd": "Each epoch takes {batches} mini-batch steps; the sum of their gradients, Σ_B, is "
    "read off the step the run took.",
}
DIRECTIONS_TEX = (
    r"\hat e(t) = Q^\top(\theta_t - \theta^*), \qquad "
    r"\hat e_i(t) \approx \rho_i^{\,t}\,\hat e_i(0)"
)
RATE = {  # each direction's rate ρᵢ, for "the error along each direction"
    "gd": "ρᵢ = |1 − ηλᵢ|, exactly",
    "momentum": "ρᵢ the spectral radius of direction i's 2×2 update map (θ and v together): "
    "the envelope of its oscillation",
    "nesterov": "ρᵢ the spectral radius of direction i's 2×2 update map (θ and v together): "
    "the envelope of its oscillation",
}
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


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_REPR)
def last_states(x, y, settings: Settings, last: int) -> list:
    """The states at epochs last − 2, last − 1 and last of a gd, momentum or nesterov run
    (about as cheap as one state: these runs jump between epochs)."""
    run = {**train_args(settings), "iterations": last}
    states = lrcore.train(x, y, **run, at=[last - 2, last - 1])
    return [state for state in states if state.epoch >= last - 2]


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

    def change(self, du: float, dc: float) -> tuple[float, float]:
        """A change (du, dc) of the training parameters as the change of (W, b) it makes:
        (du/s, dc − m·du/s)."""
        return du / self.s, dc - self.m * du / self.s


def coordinates(settings: Settings, data) -> Coordinates:
    if not settings.standardize:
        return Coordinates(0.0, 1.0)
    return Coordinates(float(np.mean(data.x)), float(np.std(data.x)))


def update_lines(
    settings: Settings, name: str, k: int, theta: float, grad: float, v_old: float
) -> list[str]:
    """One parameter's update k → k + 1 by gd, momentum or nesterov, as lines of text: the
    rule, the numbers put in, the result (the formula lrcore computes)."""
    eta, beta, d = settings.step_size, settings.momentum, "d" + sym(name, k)
    new, old = sym(name, k + 1), sym(name, k)
    if settings.optimizer == "gd":
        return [
            f"{new} = {old} − η·{d} = {num(theta)} − {num(eta)} × {num(grad, 6, True)} = "
            f"{num(theta - eta * grad)}"
        ]
    v = beta * v_old + grad
    v_new, v_old_name = sym(VELOCITY[name], k + 1), sym(VELOCITY[name], k)
    if settings.optimizer == "momentum":
        step, rule = v, f"{new} = {old} − η·{v_new}"
    else:
        step, rule = grad + beta * v, f"{new} = {old} − η·({d} + β·{v_new})"
    return [
        f"{v_new} = β·{v_old_name} + {d} = {num(beta)} × {num(v_old, 6, True)} + "
        f"{num(grad, 6, True)} = {num(v, 6)}",
        f"{rule} = {num(theta)} − {num(eta)} × {num(step, 6, True)} = {num(theta - eta * step)}",
    ]


def velocity(settings: Settings, coords: Coordinates, before, now, i: int) -> float:
    """Parameter i's velocity at `now`, recovered from the step just taken:
    momentum: θ_k = θ_{k−1} − η·v_k;  nesterov: θ_k = θ_{k−1} − η·(g_{k−1} + β·v_k)."""
    step = (coords.params(before)[i] - coords.params(now)[i]) / settings.step_size
    if settings.optimizer == "momentum":
        return step
    return (step - coords.gradient(before)[i]) / settings.momentum if settings.momentum else 0.0


def step_line(settings: Settings, name: str, k: int, theta: float, theta_next: float) -> str:
    """One parameter's update k → k + 1 by adam or sgd, with the step read off the run."""
    rule = "m̂/(√ŝ + ε)" if settings.optimizer == "adam" else f"Σ_B d{name}_B"
    step = (theta - theta_next) / settings.step_size
    return (
        f"{sym(name, k + 1)} = {sym(name, k)} − η·{rule} = {num(theta)} − "
        f"{num(settings.step_size)} × {num(step, 6, True)} = {num(theta_next)}"
    )


def data_units_lines(coords: Coordinates, after) -> list[str]:
    """The standardized run's parameters after the update, in the data's units."""
    u, c = coords.params(after)
    w, k = sym("W", after.epoch), after.epoch
    return [
        f"{w} = {sym('u', k)}/s = {num(u)} / {num(coords.s)} = {num(after.w)}",
        f"{sym('b', k)} = {sym('c', k)} − {w}·m = {num(c)} − {num(after.w, 10, True)} × "
        f"{num(coords.m, 10, True)} = {num(after.b)}",
    ]


def update_text(settings: Settings, coords: Coordinates, before, now, after) -> list[str]:
    """The update from `now` to `after` written out for each parameter (`before`: the state
    one epoch earlier, for the velocity; None at the start)."""
    names = ("u", "c") if settings.standardize else ("W", "b")
    theta, grad, theta_next = coords.params(now), coords.gradient(now), coords.params(after)
    lines = []
    for i, name in enumerate(names):
        if settings.optimizer in LINEAR:
            v_old = velocity(settings, coords, before, now, i) if before else 0.0
            lines += update_lines(settings, name, now.epoch, theta[i], grad[i], v_old)
        else:
            lines.append(step_line(settings, name, now.epoch, theta[i], theta_next[i]))
    return lines + (data_units_lines(coords, after) if settings.standardize else [])


def update_states(settings: Settings, data, run, k: int) -> tuple | None:
    """The states at epochs k − 1 (None at the start), k and k + 1, or None when the run did
    not keep them (adam or sgd diverging between frames)."""
    states = [run.at(e) if e >= 0 else None for e in (k - 1, k, k + 1)]
    needed = states[1:] + (states[:1] if settings.optimizer in LINEAR and k else [])
    if None not in needed:
        return tuple(states)
    if settings.optimizer in LINEAR:  # the run's last update: recomputed, cheaply
        rest = last_states(data.x, data.y, settings, k + 1)
        return tuple([None] * (3 - len(rest)) + rest)
    return None


def frame_lines(settings: Settings, data, run, coords: Coordinates, epoch: int) -> list[str]:
    """What the math panel shows while the player is at `epoch`: a heading, then the update
    from there to the next epoch written out (at the run's last epoch: the update that led
    there)."""
    last = run.last
    k = epoch if epoch < last.epoch else epoch - 1
    note = (
        f" (the run diverged at epoch {last.epoch:,} and stopped)"
        if last.diverged and k + 1 == last.epoch
        else ""
    )
    heading = (
        f"The update at epoch {k:,}{TO}{k + 1:,}{note}, where the player is:"
        if k == epoch
        else f"The player is at the run's last epoch, {epoch:,}: the update that led there, "
        f"{k:,}{TO}{epoch:,}{note}:"
    )
    states = update_states(settings, data, run, k) if k >= 0 else None
    if states is None:
        return [
            f"The run stopped at epoch {last.epoch:,}"
            + (", where it diverged" if last.diverged else "")
            + ": no update to show."
        ]
    return [heading, *update_text(settings, coords, *states)]


def frame_steps(
    settings: Settings, data, run, coords: Coordinates, epoch: int
) -> dict[str, tuple] | None:
    """The update the math panel writes out while the player is at `epoch`, as arrows on the
    landscape, each (W, b) at its tail and the change (ΔW, Δb) to its tip: "gradient", −η∇L
    from the current point; for momentum and nesterov "velocity", −η·β·v from the gradient's
    tip (v the velocity the rule multiplies by β: v_k for momentum, v_{k+1} for nesterov), so
    the two add up to "step", θ_{k+1} − θ_k, all adam and sgd draw (their step is no
    multiple of the gradient, nor a sum of it and a velocity). Changes in the
    training coordinates (u, c) are drawn as the changes of (W, b) they make. None where the
    run kept no such update or it is not finite (a diverged run)."""
    k = epoch if epoch < run.last.epoch else epoch - 1
    states = update_states(settings, data, run, k) if k >= 0 else None
    if states is None:
        return None
    before, now, after = states
    eta, beta = settings.step_size, settings.momentum
    du, dc = coords.gradient(now)
    gradient = coords.change(-eta * du, -eta * dc)
    steps = {"gradient": (now.w, now.b, *gradient)} if settings.optimizer in LINEAR else {}
    if settings.optimizer in WITH_MOMENTUM:
        v = [velocity(settings, coords, before, now, i) if before else 0.0 for i in (0, 1)]
        if settings.optimizer == "nesterov":  # v_{k+1} = β·v_k + g_k
            v = [beta * v[0] + du, beta * v[1] + dc]
        carried = coords.change(-eta * beta * v[0], -eta * beta * v[1])
        steps["velocity"] = (now.w + gradient[0], now.b + gradient[1], *carried)
    if settings.optimizer != "gd":  # (gd's step is its gradient's)
        steps["step"] = (now.w, now.b, after.w - now.w, after.b - now.b)
    finite = all(math.isfinite(v) for arrow in steps.values() for v in arrow)
    return steps if finite else None


def step_arrows(settings: Settings, data, run) -> list[dict[str, tuple] | None]:
    """For every frame of the run, in order: frame_steps()."""
    coords = coordinates(settings, data)
    return [frame_steps(settings, data, run, coords, frame.epoch) for frame in run.frames]


def live_lines(settings: Settings, data, run) -> list[list[str]]:
    """For every frame of the run, in order: its heading and its update with the numbers."""
    coords = coordinates(settings, data)
    return [frame_lines(settings, data, run, coords, frame.epoch) for frame in run.frames]


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_REPR)
def live_payload(run_id: str, settings: Settings, *, _data, _run) -> bytes:
    """What the math panel's script gets for the run `run_id` names (settings, data and all):
    {"run": run_id, "frames": live_lines(...)}, as UTF-8 JSON once per run (it is sent as it
    is: half the size of Streamlit's ASCII-escaped JSON)."""
    frames = live_lines(settings, _data, _run)
    return json.dumps(
        {"run": run_id, "frames": frames}, ensure_ascii=False, separators=(",", ":")
    ).encode()


def math_ui(settings: Settings, data, run) -> None:
    """The loss, its gradient and the update rule, then the update at the player's epoch with
    its numbers (it follows the player in the browser)."""
    st.html(NARROW_MATH)
    for formula in [LOSS_TEX, *GRADIENT_TEX]:
        st.latex(formula)
    coords = coordinates(settings, data)
    if settings.standardize:
        st.markdown(
            f"Training runs on standardized x (m = {fmt(coords.m)}, "
            f"s = {fmt(coords.s)}) with parameters u and c; the page shows W and b:"
        )
        for formula in STANDARDIZED_TEX:
            st.latex(formula)
    beta = f" and β = {settings.momentum:g}" if settings.optimizer in WITH_MOMENTUM else ""
    st.markdown(
        f"The update rule of **{settings.optimizer}**, with step size η = {settings.step_size:g}"
        f"{beta}{SYMBOLS.get(settings.optimizer, '')}:"
    )
    st.latex(RULE_TEX[settings.optimizer])
    if settings.optimizer in READ_OFF:
        st.caption(
            READ_OFF[settings.optimizer].format(batches=-(-len(data.x) // settings.batch_size))
        )
    live_math(live_payload(run.id, settings, _data=data, _run=run), key="live_math")
    if settings.standardize:
        st.caption("W = u/s and b = c − u·m/s convert these back to the data's units.")
    directions_text(settings)


def directions_text(settings: Settings) -> None:
    """How "Why it converges: the error along each direction" is computed."""
    where = "(u, c) on standardized x" if settings.standardize else "(W, b)"
    st.markdown(
        f"**The error along each direction.** With θ the parameters training steps, {where}, "
        "and H = Q·diag(λ₁, λ₂)·Qᵀ the loss's curvature (its Hessian) there, the columns of Q "
        "are the eigen-directions, and the error along them is"
    )
    st.latex(DIRECTIONS_TEX)
    rate = RATE.get(settings.optimizer)
    st.caption(
        f"θ* is the least-squares answer and {rate}; the first epoch with "
        "|êᵢ(t)| ≤ 1% of |êᵢ(0)| is direction i's milestone."
        if rate
        else f"{settings.optimizer} has no such ρᵢ: its errors ê(t) come from the run's own "
        "θₜ, and its milestones from the epochs the run kept."
    )
