"""The sidebar: the data and training controls, each keyed by its setting's name (so the widget,
the URL and the CLI flag are one name)."""

from __future__ import annotations

import streamlit as st

import lrcore
from lrcore.optim import WITH_MOMENTUM
from lrcore.settings import DEFAULTS, FIELDS, OPTIMIZERS, Settings

from . import lessons, sources
from .explain.limit import ITERATIONS, limit_of, limit_ui, step_stops
from .text import label

# Slider stops (the step size's and the epochs' are explain.limit's). A value from a link that is
# not on a grid is added to it, so links stay exact.
POINTS = [2, 5] + [m * 10**e for e in range(1, 5) for m in (1, 2, 5)] + [100_000]
NOISES = [0.0] + [float(m * 10**e) for e in range(6) for m in (1, 2, 3, 5)] + [1e6]
# Rarely changed controls, each group in an expander drawn only while open: every control costs
# every rerun its share of the server's time, touched or not (the seven number inputs: about
# 2 of the page's 21 ms of CPU a run, measured with scripts/loadtest.py --pid).
FOLDS = {  # expander key: (title, settings)
    "fold_line": ("True line and x range", ("slope", "intercept", "x_min", "x_max")),
    "fold_start": ("Where the run starts (W0, b0)", ("w0", "b0")),
}
FOLD_SEEN = "_fold_seen"  # st.session_state: each fold's values at the last run
NUMBER_STEPS = {
    "slope": 1.0,
    "intercept": 100.0,
    "x_min": 1.0,
    "x_max": 1.0,
    "w0": 1.0,
    "b0": 100.0,
    "seed": 1,
    "batch_size": 1,
}


def controls_ui(settings: Settings, data: lrcore.Dataset) -> None:
    """The sidebar: data and training controls, keyed by setting name."""
    st.button(
        "Reset to the blog's run",
        key="reset",
        on_click=reset,
        icon=":material/restart_alt:",
        width="stretch",
        help="Every setting back to the blog post's: its data, gd, step size 0.0005, 50,000 epochs",
    )
    hidden = lessons.hidden(settings)

    def shown(name: str) -> bool:  # not hidden by the link (whose values are kept)
        return lessons.shown(name, settings)

    st.header("Data")
    uses = sources.dataset_ui(picker=shown("dataset"))  # the data controls this dataset uses
    if "n" in uses and shown("n"):
        grid_slider("n", POINTS, "{:,}")
    if "noise" in uses and shown("noise"):
        grid_slider("noise", NOISES, "{:g}")
    if "slope" in uses:
        folded("fold_line", hidden)
    if "seed" in uses and shown("seed"):
        with st.container(horizontal=True, vertical_alignment="bottom"):  # one block
            number("seed")
            st.button(
                "New data",
                key="new_data",
                on_click=new_seed,
                help="Draw a new sample: the next random seed",
            )
    st.header("Training")
    optimizer = st.session_state.optimizer
    if shown("optimizer"):
        st.selectbox(label("optimizer"), OPTIMIZERS, key="optimizer")
    if shown("step_size"):
        grid_slider("step_size", step_stops(limit_of(settings, data)), "{:g}")
        limit_ui(settings, data)  # the largest step that converges on this data
    if shown("iterations"):
        grid_slider("iterations", ITERATIONS, "{:,}")
    if shown("batch_size"):
        number("batch_size", disabled=optimizer != "sgd")
    if shown("momentum"):
        lo, hi = bounds("momentum")
        st.slider(
            label("momentum"),
            lo,
            hi,
            step=0.001,
            key="momentum",
            format="%.3f",
            disabled=optimizer not in WITH_MOMENTUM,
        )
    folded("fold_start", hidden)
    if shown("standardize"):
        st.toggle(label("standardize"), key="standardize")


def folded(key: str, hidden: tuple[str, ...]) -> None:
    """A fold's number inputs, drawn while its expander is open. It opens by itself when its
    values came from elsewhere (a link, a lesson: they cannot change while it is closed) and
    are not the defaults; a link that hides some of them leaves those out, all of them the
    fold."""
    title, names = FOLDS[key]  # (their values are kept while closed: sources.prepare)
    state = st.session_state
    if set(names) <= set(hidden):
        return
    values = tuple(state[name] for name in names)
    seen = state.setdefault(FOLD_SEEN, {})
    if seen.get(key) != values and values != tuple(getattr(DEFAULTS, n) for n in names):
        state[key] = True
    seen[key] = values
    with st.expander(title, key=key, on_change="rerun") as box:
        if box.open:
            for name in names:
                if name not in hidden:
                    number(name)


def bounds(name: str) -> tuple:
    f = FIELDS[name]
    kind = type(f.default)
    return kind(f.metadata["lo"]), kind(f.metadata["hi"])


def grid_slider(name: str, grid: list, fmt: str) -> None:
    lo, hi = bounds(name)
    options = sorted({v for v in grid if lo <= v <= hi} | {st.session_state[name]})
    st.select_slider(label(name), options, key=name, format_func=fmt.format)


def number(name: str, disabled: bool = False) -> None:
    lo, hi = bounds(name)
    st.number_input(
        label(name),
        lo,
        hi,
        step=type(lo)(NUMBER_STEPS[name]),
        key=name,
        format="%d" if isinstance(lo, int) else "%g",
        disabled=disabled,
    )


def new_seed() -> None:
    st.session_state.seed = (st.session_state.seed + 1) % (bounds("seed")[1] + 1)


def reset() -> None:
    """Every setting back to its default (the blog's run); a file already read stays on hand."""
    for name in FIELDS:
        st.session_state[name] = getattr(DEFAULTS, name)
