"""Conditioning: how many epochs the Hessian predicts to get within 1% of the optimum, and how
many the run took."""

from __future__ import annotations

import math

import streamlit as st

from lrcore.explain import CONVERGED, Rates
from lrcore.optim import LINEAR
from lrcore.settings import Settings

from ..text import apart, factor, fmt, number
from .limit import LIMIT_RULE, NO_LIMIT, why


def epochs_1pct(run) -> tuple[int | None, bool]:
    """(epochs to within 1% of the optimum, exact?) for this run, from its verdict: exact for
    gd, momentum and nesterov; for adam and sgd, the first of the epochs trained (scanning
    every epoch would cost as much as the run again). None unless the run converged."""
    converged = run.verdict.outcome == CONVERGED
    return (run.verdict.epoch if converged else None), run.verdict.exact


def why_ui(settings: Settings, data, run) -> None:
    """The step-size limit and the conditioning, with what they predict for this run."""
    r = why(settings, data)
    seen, exact = epochs_1pct(run)
    cols = st.columns(4)
    cols[0].metric(  # (a metric is a quarter of the page: huge and tiny numbers in powers of ten)
        "Largest stable step" if settings.optimizer in LINEAR else "gd's largest stable step",
        number(r.limit),
        help=LIMIT_RULE.get(settings.optimizer, "gd's limit, 2/λmax, as a guide"),
    )
    cols[1].metric("Condition number κ", number(r.condition))
    cols[2].metric(
        "Predicted epochs to 1%" + ("" if settings.optimizer in LINEAR else " (gd)"),
        epochs_text(r.epochs_to_1pct),
    )
    cols[3].metric(
        "Epochs to 1%, this run",
        "not reached" if seen is None else f"{seen:,}" if exact else f"≈ {seen:,}",
    )
    st.markdown(limit_paragraph(settings, r))
    st.markdown(conditioning_paragraph(settings, r, seen, exact))


def epochs_text(epochs: float) -> str:
    """Predicted epochs as a count (36,794), in powers of ten past a billion (3.4×10²¹), or
    'never'."""
    if math.isinf(epochs):
        return "never"
    return f"{math.ceil(epochs):,}" if epochs < 1e9 else number(math.ceil(epochs), 2)


def limit_paragraph(settings: Settings, r: Rates) -> str:
    x_name = "standardized x" if settings.standardize else "x"
    bowl = (
        f"**The step-size limit.** The loss is a bowl in (W, b). Its Hessian H (on "
        f"{x_name}) has eigenvalues λmax = {number(r.lam_max)} along the steepest direction "
        f"and λmin = {number(r.lam_min)} along the flattest. Along a direction of curvature "
        f"λ, gd multiplies the error by (1 − η·λ) each epoch, so it converges only while "
        f"|1 − η·λmax| < 1, that is η < 2/λmax."
    )
    if settings.optimizer not in LINEAR:
        return (
            f"{bowl} {settings.optimizer} has no sharp step-size limit: "
            f"{NO_LIMIT[settings.optimizer]} For comparison, gd's limit on this data is "
            f"{fmt(r.limit, apart(r.limit, settings.step_size))}; this run uses η = "
            f"{settings.step_size:g}."
        )
    return (
        f"{bowl} For {settings.optimizer} on this data the limit is "
        f"**{fmt(r.limit, apart(r.limit, settings.step_size))}** "
        f"({LIMIT_RULE[settings.optimizer]}); this run uses η = {settings.step_size:g}."
    )


ACCURACY = {
    "gd": "For gd the prediction is exact (to the epoch).",
    "momentum": "Momentum's path can swing to and fro, so its prediction is rough.",
    "nesterov": "Nesterov's path can swing to and fro, so its prediction is rough.",
}


def conditioning_paragraph(settings: Settings, r: Rates, seen: int | None, exact: bool) -> str:
    who = "it needs" if settings.optimizer in LINEAR else "gd would need"
    if r.growth == 1 and settings.step_size < r.limit:  # 1 − η·λmin rounds to 1
        gap = settings.step_size * r.lam_min
        how_near = f" (1 − η·λmin = 1 − {number(gap, 2)})" if settings.optimizer == "gd" else ""
        outlook = (
            f"At this step size the slowest direction's error shrinks by a factor so near 1"
            f"{how_near} that it rounds to exactly 1 in the computer's numbers, so the run "
            f"never gets near the optimum: train on standardized x instead."
        )
    elif r.growth >= 1:
        outlook = (
            f"At this step size the error grows by a factor {factor(r.growth)} per epoch, "
            f"so the run never gets near the optimum."
        )
    else:
        outlook = (
            f"At this step size the slowest direction's error shrinks by a factor "
            f"{factor(r.growth)} per epoch, so {who} about "
            f"**{epochs_text(r.epochs_to_1pct)} epochs** to get within 1% of the "
            f"optimum (‖(W, b) − (W*, b*)‖ at most 1% of what it was at the start)."
        )
    observed = (
        "This run did not get within 1%."
        if seen is None
        else f"This run: **{seen:,}**."
        if exact
        else f"This run: first within 1% at the charted epoch {seen:,}."
    )
    blog = (
        " This is why the blog post needed 50,000 epochs."
        if settings.optimizer == "gd" and settings.step_size == 0.0005 and r.condition > 1000
        else ""
    )
    return (
        f"**Conditioning.** The condition number κ = λmax/λmin = {number(r.condition)} says "
        f"how much more slowly the flattest direction converges than the steepest. "
        f"{outlook} {observed} {ACCURACY.get(settings.optimizer, '')}{blog}"
    )
