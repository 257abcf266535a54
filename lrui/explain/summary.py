"""The views in words: what each shows at the run's last epoch (for anyone who cannot see the
chart, and for everyone on a small screen)."""

from __future__ import annotations

import streamlit as st

from ..figures import LOSS_DIGITS
from ..text import apart, equation, number, scales, zeroed
from .pinned import Snapshot, shown


def summary(data, run, fit, *pins: Snapshot) -> list[str]:
    """What each view shows at the run's last epoch, in words (for anyone who cannot see the
    chart, and for everyone on a small screen). Numbers as people write them; what is zero up
    to rounding beside the data's scale (a standardized run's start, say) as 0."""
    scale = scales(data.x, data.y)

    def tidy(s) -> tuple[float, float, float]:  # W, b and loss of a State or a Fit
        return tuple(zeroed(getattr(s, q), scale[q]) for q in ("w", "b", "loss"))

    (w0, b0, loss0), (w, b, loss), (fw, fb, floss) = tidy(run.frames[0]), tidy(run.last), tidy(fit)
    at = f"epoch {run.last.epoch:,}" + (" (diverged)" if run.last.diverged else "")
    # the last loss, the least-squares one and the pinned run's with the digits that tell them
    # apart, down to LOSS_DIGITS (past it is rounding); the first with those that tell it from
    # the last
    pin_losses = [tidy(pin.frames[-1])[2] for pin in pins]
    sig = min(max(apart(loss, other, 5) for other in [floss, *pin_losses]), LOSS_DIGITS)
    sig0 = min(apart(loss0, loss, 5), LOSS_DIGITS)
    lines = [
        f"Data and line, {at}: {len(data.x):,} points and the line {equation(w, b)}; "
        f"least squares {equation(fw, fb)}.",
        f"Loss: from {number(loss0, sig0)} at epoch 0 to {number(loss, sig)} at {at} "
        f"(least squares {number(floss, sig)}).",
        f"Landscape: the path goes from (W, b) = ({number(w0)}, {number(b0, 5)}) to "
        f"({number(w)}, {number(b, 5)}); the optimum (star) is at ({number(fw)}, "
        f"{number(fb, 5)}).",
    ]
    for pin in pins:
        pin_w, pin_b, pin_loss = tidy(pin.frames[-1])
        lines.append(
            f"Faded and dashed, {pin.name} ({pin.label}): line {equation(pin_w, pin_b)}, "
            f"loss {number(pin_loss, sig)} at epoch {pin.frames[-1].epoch:,}."
        )
    return lines


def summary_ui(data, run, fit, settings, data_key: str) -> None:
    """The summary, with the runs drawn over this one (pinned.shown)."""
    pins = shown(settings, data, data_key).snapshots
    with st.container(key="chart_summary"):
        st.caption("  \n".join(summary(data, run, fit, *pins)))
