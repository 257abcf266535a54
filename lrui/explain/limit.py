"""The step-size limit: the largest step that converges on the data on screen, the sentence
under the step-size slider, and what a diverged (or diverging) run says."""

from __future__ import annotations

import streamlit as st

import lrcore
from lrcore.explain import Rates, rates
from lrcore.optim import LINEAR  # the optimizers with a sharp step-size limit
from lrcore.settings import Settings

from ..text import fmt

LIMIT_RULE = {"gd": "2/λmax", "momentum": "2(1+β)/λmax", "nesterov": "2(1+β)/((1+2β)·λmax)"}


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
    limit = lrcore.stable_step_size(
        data.x, data.y, settings.optimizer, settings.momentum, settings.standardize
    )
    rule = LIMIT_RULE.get(settings.optimizer)
    if rule is None:
        return (
            f"{settings.optimizer} has no sharp step-size limit; gd's on this data is {fmt(limit)}."
        ), False
    above = settings.step_size > limit
    text = f"Largest step that converges here: **{fmt(limit)}** ({rule})."
    if above:
        text = f":red[{text} This step size is above it: the run will diverge.]"
    return text, above


def limit_ui(settings: Settings, data) -> None:
    """The limit under the step-size slider."""
    text, _ = limit_text(settings, data)
    st.caption(text)


def growth_text(settings: Settings, data) -> str:
    """By how much the error grows each epoch when the step size is above the limit."""
    r = why(settings, data)
    if settings.optimizer == "gd":
        return (
            f"Along the loss's steepest direction (curvature λmax = {fmt(r.lam_max)}, the "
            f"largest eigenvalue of its Hessian) each epoch multiplies the error by "
            f"|1 − η·λmax| = |1 − {settings.step_size:g} × {fmt(r.lam_max)}| = {fmt(r.growth)}, "
            f"and the loss by its square, {fmt(r.growth**2)}."
        )
    return (
        f"Along the loss's steepest direction (λmax = {fmt(r.lam_max)}) each epoch of "
        f"{settings.optimizer} multiplies the error by about {fmt(r.growth)} (the spectral "
        f"radius of its update), and the loss by about {fmt(r.growth**2)}."
    )


def divergence_text(settings: Settings, data, last, first) -> str:
    """A diverged run explained with its numbers."""
    text = (
        f"The run diverged at epoch {last.epoch:,} and was stopped: the loss reached "
        f"{last.loss:.3g} (it started at {first.loss:.3g}). The step size "
        f"{settings.step_size:g} is too large for {settings.optimizer} on this data"
    )
    if settings.optimizer not in LINEAR:
        return text + ". Try a smaller step size, or standardized x."
    limit = lrcore.stable_step_size(
        data.x, data.y, settings.optimizer, settings.momentum, settings.standardize
    )
    return (
        f"{text}: it converges only below {fmt(limit)} ({LIMIT_RULE[settings.optimizer]}). "
        f"{growth_text(settings, data)} Try a smaller step size, or standardized x."
    )


def warning_text(settings: Settings, data, last) -> str | None:
    """A warning for a run above the limit that has not diverged yet (too few epochs)."""
    if last.diverged or settings.optimizer not in LINEAR or not limit_text(settings, data)[1]:
        return None
    return (
        f"The step size {settings.step_size:g} is above the limit for {settings.optimizer} on "
        f"this data, so this run diverges if it runs long enough. {growth_text(settings, data)}"
    )
