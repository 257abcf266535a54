"""The step-size limit: the largest step that converges on the data on screen, the sentence
under the step-size slider, and what a diverged (or diverging) run says."""

from __future__ import annotations

import math

import streamlit as st

import lrcore
from lrcore.explain import Rates, rates
from lrcore.optim import LINEAR  # the optimizers with a sharp step-size limit
from lrcore.settings import Settings

from ..text import apart, factor, fmt

LIMIT_RULE = {"gd": "2/λmax", "momentum": "2(1+β)/λmax", "nesterov": "2(1+β)/((1+2β)·λmax)"}

# The step-size slider's stops: 1, 1.5, 2, 3, ... 8 in each decade from 1e-6 to 1. Data whose
# limit is lower (x in the thousands: years, incomes) gets stops down to a thousandth of it.
MANTISSAS = (1, 1.5, 2, 3, 4, 5, 6, 7, 8)
STEP_SIZES = [float(f"{m}e{e}") for e in range(-6, 0) for m in MANTISSAS] + [1.0]
DEEP = 6  # decades below 1e-6 with every mantissa; further down, 1, 2 and 5 only


def limit_of(settings: Settings, data) -> float:
    """The largest step size that converges for these settings on this data (gd's for adam
    and sgd, which have no sharp limit of their own)."""
    return lrcore.stable_step_size(
        data.x, data.y, settings.optimizer, settings.momentum, settings.standardize
    )


def step_stops(limit: float) -> list[float]:
    """The step sizes the slider offers on data with this limit: STEP_SIZES, and below 1e-6
    down to (at least) a thousandth of the limit."""
    lowest = math.floor(math.log10(limit / 1000)) if limit > 0 else -6
    deeper = [
        float(f"{m}e{e}")
        for e in range(lowest, -6)
        for m in (MANTISSAS if e >= -6 - DEEP else (1, 2, 5))
    ]
    return deeper + STEP_SIZES


def stable_stop(settings: Settings, data) -> float:
    """The largest slider stop below the limit: the step the advice buttons offer."""
    limit = limit_of(settings, data)
    return max([v for v in step_stops(limit) if v < limit] or [step_stops(limit)[0]])


def why(settings: Settings, data) -> Rates:
    """What the Hessian of this data predicts for these settings (lrcore.explain.rates)."""
    return rates(
        data.x,
        data.y,
        settings.step_size,
        settings.optimizer,
        settings.momentum,
        settings.standardize,
        settings.w0,
        settings.b0,
    )


def limit_text(settings: Settings, data) -> tuple[str, bool]:
    """The sentence under the step-size slider, and whether the step size is above the limit.
    The limit is lrcore.stable_step_size's, to 4 significant digits."""
    limit = limit_of(settings, data)
    rule = LIMIT_RULE.get(settings.optimizer)
    if rule is None:
        return (
            f"{settings.optimizer} has no sharp step-size limit: {NO_LIMIT[settings.optimizer]}",
            False,
        )
    above = settings.step_size > limit
    sig = apart(limit, settings.step_size)  # a step a hair above it: the digits that show it
    text = f"Largest step that converges here: **{fmt(limit, sig)}** ({rule})."
    if above:
        text = f":red[{text} This step size is above it: the run will diverge.]"
    return text, above


def limit_ui(settings: Settings, data) -> None:
    """The limit under the step-size slider, and above it a button for a step that converges."""
    text, above = limit_text(settings, data)
    st.caption(text)
    if above:
        step = stable_stop(settings, data)
        st.button(
            f"Use step size {step:g}",
            key="use_stable_step_sidebar",
            on_click=use_step,
            args=(step,),
            help="The largest step on the slider below the limit",
        )


NO_LIMIT = {
    "adam": "it moves each parameter by about η per epoch, whatever the size of the gradient.",
    "sgd": "each mini-batch step follows a noisy gradient; keep the step size below gd's limit "
    "(2/λmax) on this data.",
}


def use_step(step: float) -> None:
    st.session_state["step_size"] = step


def use_standardized() -> None:
    st.session_state["standardize"] = True


def advice_ui(settings: Settings, data) -> None:
    """Buttons that do what a diverged run's message advises: a step size below the limit,
    and standardized x (whose limit does not depend on the scale of x)."""
    step = stable_stop(settings, data)
    left, right = st.columns(2)
    left.button(
        f"Use step size {step:g}",
        key="use_stable_step",
        on_click=use_step,
        args=(step,),
        icon=":material/check:",
        width="stretch",
        help="The largest step on the slider below this data's limit",
    )
    if not settings.standardize:
        right.button(
            "Train on standardized x",
            key="use_standardized",
            on_click=use_standardized,
            icon=":material/straighten:",
            width="stretch",
            help="x shifted and scaled to mean 0 and standard deviation 1: the limit "
            "is then about 2 (for gd), whatever the scale of x",
        )


def growth_text(settings: Settings, data) -> str:
    """By how much the error grows each epoch when the step size is above the limit."""
    r = why(settings, data)
    if settings.optimizer == "gd":
        return (
            f"Along the loss's steepest direction (curvature λmax = {fmt(r.lam_max)}, the "
            f"largest eigenvalue of its Hessian) each epoch multiplies the error by "
            f"|1 − η·λmax| = |1 − {settings.step_size:g} × {fmt(r.lam_max)}| = {factor(r.growth)}, "
            f"and the loss by its square, {factor(r.growth**2)}."
        )
    return (
        f"Along the loss's steepest direction (λmax = {fmt(r.lam_max)}) each epoch of "
        f"{settings.optimizer} multiplies the error by about {factor(r.growth)} (the spectral "
        f"radius of its update), and the loss by about {factor(r.growth**2)}."
    )


def divergence_text(settings: Settings, data, last, first) -> str:
    """A diverged run explained with its numbers."""
    text = (
        f"The run diverged at epoch {last.epoch:,} and was stopped: the loss reached "
        f"{last.loss:.3g} (it started at {first.loss:.3g}). The step size "
        f"{settings.step_size:g} is too large for {settings.optimizer} on this data"
    )
    advice = ADVICE + ("" if settings.standardize else " or train on standardized x")
    if settings.optimizer not in LINEAR:
        return f"{text}. {advice} (the buttons below)."
    limit = limit_of(settings, data)
    return (
        f"{text}: it converges only below {fmt(limit, apart(limit, settings.step_size))} "
        f"({LIMIT_RULE[settings.optimizer]}). "
        f"{growth_text(settings, data)} {advice} (the buttons below)."
    )


ADVICE = "Use a step size below the limit"


def warning_text(settings: Settings, data, last) -> str | None:
    """A warning for a run above the limit that has not diverged yet (too few epochs)."""
    if last.diverged or settings.optimizer not in LINEAR or not limit_text(settings, data)[1]:
        return None
    return (
        f"The step size {settings.step_size:g} is above the limit for {settings.optimizer} on "
        f"this data, so this run diverges if it runs long enough. {growth_text(settings, data)}"
    )


def optimizer_note(settings: Settings, data, last) -> str | None:
    """Why an adam or sgd run ends where it does, in one sentence with its numbers (None for
    the others, and for a run that got where it should)."""
    fit = lrcore.closed_form(data.x, data.y)
    if last.diverged:
        return None
    if settings.optimizer == "adam":
        w0, b0 = settings.w0, settings.b0
        far = math.hypot(last.w - fit.w, last.b - fit.b) > 0.01 * math.hypot(w0 - fit.w, b0 - fit.b)
        reach = settings.step_size * last.epoch
        return (
            f"Adam moves each parameter by about η per epoch, whatever the size of the "
            f"gradient: in {last.epoch:,} epochs at η = {settings.step_size:g}, W and b move "
            f"by at most about {fmt(reach)}, and the optimum is at W* = {fmt(fit.w)}, "
            f"b* = {fmt(fit.b)}. Raise the step size or the epochs to get there."
            if far
            else None
        )
    if settings.optimizer == "sgd" and fit.loss > 0 and last.loss > 1.01 * fit.loss:
        return (
            f"SGD does not settle: each step follows one mini-batch's gradient, so the run "
            f"jitters around the optimum at a noise floor set by the batch size "
            f"({settings.batch_size}) and the step size ({settings.step_size:g}). Here the "
            f"final loss is {last.loss / fit.loss:.3g}× the least-squares loss; a smaller step "
            f"or a larger batch lowers the floor."
        )
    return None
