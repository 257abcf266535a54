"""The views in words: what each shows at the run's last epoch (for anyone who cannot see the
chart, and for everyone on a small screen)."""

from __future__ import annotations

import streamlit as st

from ..text import fmt
from .pinned import Snapshot, pinned


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
        lines.append(
            f"Faded and dashed, the pinned run ({pin.label}): line y = {fmt(end.w)}x + "
            f"{fmt(end.b, 5)}, loss {fmt(end.loss, 5)} at epoch {end.epoch:,}."
        )
    return lines


def summary_ui(data, run, fit) -> None:
    with st.container(key="chart_summary"):
        st.caption("  \n".join(summary(data, run, fit, pinned())))
