"""The step-size limit: the largest step that converges on the data on screen, the sentence
under the step-size slider, and what a diverged (or diverging) run says."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import streamlit as st

import lrcore
from lrcore.explain import Rates, rates
from lrcore.optim import LINEAR  # the optimizers with a sharp step-size limit
from lrcore.settings import FIELDS, Settings

from ..text import apart, factor, fmt, number

LIMIT_RULE = {"gd": "2/λmax", "momentum": "2(1+β)/λmax", "nesterov": "2(1+β)/((1+2β)·λmax)"}

# The step-size slider's stops: 1, 1.5, 2, 3, ... 8 in each decade from 1e-6 to 1. Data whose
# limit is lower (x in the thousands: years, incomes) gets stops down to a thousandth of it.
MANTISSAS = (1, 1.5, 2, 3, 4, 5, 6, 7, 8)
STEP_SIZES = [float(f"{m}e{e}") for e in range(-6, 0) for m in MANTISSAS] + [1.0]
DEEP = 6  # decades below 1e-6 with every mantissa; further down, 1, 2 and 5 only
# The epochs slider's stops, up to its maximum
MOST_EPOCHS = FIELDS["iterations"].metadata["hi"]
ITERATIONS = [m * 10**e for e in range(6) for m in (1, 2, 5)] + [MOST_EPOCHS]
# momentum's and nesterov's predicted epochs are rough (their oscillations): advice asks for this
# many times as many, gd's are exact
SLACK = {"momentum": 1.5, "nesterov": 1.5}


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
    return stable_stop_of(limit_of(settings, data))


def stable_stop_of(limit: float) -> float:
    """The largest stop of the slider on data with this limit that is below it."""
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
    # above the limit, in red at full strength: a caption's 60% grey would leave red at 2.9:1
    (st.markdown if above else st.caption)(text)
    if above:
        offer = advice(settings, data).offers[0]
        st.button(
            offer.label,
            key=offer.key + "_sidebar",
            on_click=apply,
            args=(offer.changes,),
            help=offer.help,
        )


NO_LIMIT = {
    "adam": "it moves each parameter by about η per epoch, whatever the size of the gradient.",
    "sgd": "each mini-batch step follows a noisy gradient; keep the step size below gd's limit "
    "(2/λmax) on this data.",
}


class Offer(NamedTuple):
    """One button of the advice: what it says, the settings it changes, its tooltip."""

    label: str
    key: str  # the button's key
    changes: dict  # setting name -> value
    help: str


class Advice(NamedTuple):
    """What to do about a run that diverged or is not within 1% yet: the offers, the first
    one a run that gets within 1% within the epochs slider's maximum when one can, and the
    sentence that says why the first is what it is ("" when it needs no saying)."""

    offers: tuple[Offer, ...]
    sentence: str = ""


def needs(settings: Settings, data) -> float:
    """The epochs these settings need to get within 1% of the answer, as the Hessian predicts
    (gd's for adam and sgd, as a guide; inf if never), with momentum's slack."""
    return why(settings, data).epochs_to_1pct * SLACK.get(settings.optimizer, 1.0)


def reaching(settings: Settings, data, step: float) -> Settings | None:
    """These settings at this step, with the epochs raised to the first slider stop that gets
    within 1% if the current ones do not; None if even the slider's maximum would not."""
    at = settings.replace(step_size=step)
    need = needs(at, data)
    if need <= settings.iterations:
        return at
    more = [n for n in ITERATIONS if n >= need]
    return at.replace(iterations=more[0]) if more else None


def on_standardized(settings: Settings, data) -> Settings:
    """Standardized x, with the step (the largest stop below its limit) and epochs that get
    within 1% if the current ones would not."""
    on = settings.replace(standardize=True)
    if on.step_size < limit_of(on, data) and needs(on, data) <= on.iterations:
        return on
    return reaching(on, data, stable_stop(on, data)) or on


def advice(settings: Settings, data) -> Advice:
    """The offers for a run that diverged or has not got within 1%: the current step with more
    epochs, or the largest slider stop below the limit (with more epochs if it needs them), or,
    when plain gd cannot get there within the slider's epochs, standardized x first."""
    limit = limit_of(settings, data)
    steps = dict.fromkeys(s for s in (settings.step_size, stable_stop(settings, data)) if s < limit)
    plain = next(filter(None, (reaching(settings, data, s) for s in steps)), None)
    std = None if settings.standardize else offer(settings, on_standardized(settings, data))
    if plain is not None:  # (no offer at all if these settings already get there)
        return Advice(tuple(o for o in (offer(settings, plain), std) if o and plain != settings))
    stop = settings.replace(step_size=stable_stop(settings, data))
    if std is None:  # already standardized: the stable step is the best there is
        return Advice((offer(settings, stop),))
    stopping = (
        ()
        if settings.step_size < limit
        else (
            Offer(
                f"Only stop diverging: step size {stop.step_size:g}",
                "use_stable_step",
                {"step_size": stop.step_size},
                "The largest step on the slider below the limit: the run stops diverging, "
                "but does not get near the answer within the slider's epochs",
            ),
        )
    )
    return Advice((std, *stopping), far_text(settings, data, stop, std))


def offer(settings: Settings, target: Settings) -> Offer | None:
    """The button that turns `settings` into `target` (step size, epochs, standardized x)."""
    changes = {
        name: getattr(target, name)
        for name in ("standardize", "step_size", "iterations")
        if getattr(target, name) != getattr(settings, name)
    }
    step, epochs = changes.get("step_size"), changes.get("iterations")
    if not changes:
        return None
    if changes.get("standardize"):
        label, key = "Train on standardized x", "use_standardized"
        label += "" if step is None else f" at step size {step:g}"
        label += "" if epochs is None else f" for {epochs:,} epochs"
        tip = (
            "x shifted and scaled to mean 0 and standard deviation 1: the limit is then about "
            "2 (for gd), whatever the scale of x"
        )
    elif step is not None:
        label, key = f"Use step size {step:g}", "use_stable_step"
        label += "" if epochs is None else f" and {epochs:,} epochs"
        tip = "The largest step on the slider below this data's limit"
    else:
        label, key = f"Train for {epochs:,} epochs", "use_more_epochs"
        tip = "As many epochs as this step needs to get within 1% of the answer"
    return Offer(label, key, changes, tip)


def far_text(settings: Settings, data, stop: Settings, std: Offer) -> str:
    """Why standardized x comes first: x far from zero (or spread wide) makes the loss a narrow
    valley that plain gd crosses too slowly for the slider's epochs."""
    x = np.asarray(data.x)
    r = why(stop, data)
    where = "far from zero" if abs(x.mean()) > x.std() else "a wide range"
    opt = "plain gd" if settings.optimizer == "gd" else f"{settings.optimizer} on raw x"
    slow = (
        f"{opt} would need about {number(r.epochs_to_1pct)} epochs to get within 1%, more "
        f"than the slider's {MOST_EPOCHS:,}"
        if math.isfinite(r.epochs_to_1pct)
        else f"{opt} gets no closer in any number of epochs (its flat direction shrinks by "
        "less than a float can show)"
    )
    target = settings.replace(**std.changes)
    took = max(1, math.ceil(why(target, data).epochs_to_1pct))
    return (
        f"x runs from {number(x.min())} to {number(x.max())}, {where}, so the loss is a narrow "
        f"valley (condition number κ = {number(r.condition)}): {slow}. On standardized x it "
        f"takes {took:,} epoch{'s' * (took > 1)}."
    )


ICONS = {"use_standardized": ":material/straighten:", "use_more_epochs": ":material/update:"}


def apply(changes: dict) -> None:
    """An offer's button: set the settings it changes."""
    for name, value in changes.items():
        st.session_state[name] = value


def slow(settings: Settings, data, last) -> bool:
    """Whether a run of gd, momentum or nesterov below the limit ended without getting within
    1% of the answer, ‖θ − θ*‖ > 0.01·‖θ₀ − θ*‖ (lrcore.explain's measure)."""
    if last.diverged or settings.optimizer not in LINEAR or limit_text(settings, data)[1]:
        return False
    fit = lrcore.closed_form(data.x, data.y)
    start = math.hypot(settings.w0 - fit.w, settings.b0 - fit.b)
    return math.hypot(last.w - fit.w, last.b - fit.b) > 0.01 * start


def advice_ui(settings: Settings, data, lead: str = "") -> None:
    """The advice's sentence, if any, after `lead`, and its buttons (the first one a run that
    gets within 1% when any can)."""
    found = advice(settings, data)
    if not found.offers:
        return
    if lead or found.sentence:
        st.caption(" ".join(filter(None, (lead, found.sentence))))
    columns = st.columns(len(found.offers)) if len(found.offers) > 1 else [st]
    for column, offer in zip(columns, found.offers, strict=True):
        column.button(
            offer.label,
            key=offer.key,
            on_click=apply,
            args=(offer.changes,),
            icon=ICONS.get(offer.key, ":material/check:"),
            width="stretch",
            help=offer.help,
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
    todo = ADVICE + ("" if settings.standardize else " or train on standardized x")
    todo += " (the buttons below)"
    if advice(settings, data).sentence:  # plain gd cannot get there: standardized x first
        todo = "Train on standardized x: below, why"
    if settings.optimizer not in LINEAR:
        return f"{text}. {todo}."
    limit = limit_of(settings, data)
    return (
        f"{text}: it converges only below {fmt(limit, apart(limit, settings.step_size))} "
        f"({LIMIT_RULE[settings.optimizer]}). {growth_text(settings, data)} {todo}."
    )


ADVICE = "Use a step size below the limit"
SLOW = "This run ends short of the answer (not within 1% of it)."


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
