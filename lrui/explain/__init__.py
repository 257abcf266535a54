"""Why the run does what it does: the step-size limit, what the Hessian predicts, pinned runs
to compare with, the update rule with this run's numbers, and a text summary of the views.
Every number comes from lrcore.

The numbers are those of the run's last epoch, computed on the server: the player moves
through the epochs in the browser, which the server never sees. The math panel is the one
exception: it sends the update at every frame once, and follows the player in the browser.

    limit.py         the largest step that converges; what a diverged run says
    conditioning.py  predicted and observed epochs to 1%
    directions.py    the error along each eigen-direction, following the player
    update.py        the math, with this run's numbers
    pinned.py        pinned runs, every optimizer side by side, and the comparison table
    summary.py       the views in words
"""

from __future__ import annotations

import streamlit as st

from lrcore.settings import Settings

from ..lessons import lessons_ui
from .conditioning import why_ui
from .directions import directions_ui
from .pinned import compare_ui
from .update import math_ui


def panels_ui(chosen: Settings, settings: Settings, data, run, data_key: str) -> None:
    """The comparison row, then the explanations in expanders that compute only when open.
    data_key names the data (sources.RunData.key), as runs.train is keyed."""
    compare_ui(settings, data, run, data_key)
    with st.expander("Why this run behaves as it does", key="why", on_change="rerun") as box:
        if box.open:
            why_ui(settings, data, run)
    title = "Why it converges: the error along each direction"
    with st.expander(title, key="directions", on_change="rerun") as box:
        if box.open:
            directions_ui(settings, data, run)
    with st.expander("The math, with this run's numbers", key="math", on_change="rerun") as box:
        if box.open:
            math_ui(settings, data, run)
    with st.expander("Lessons for teachers", key="lessons", on_change="rerun") as box:
        if box.open:
            lessons_ui(chosen)
