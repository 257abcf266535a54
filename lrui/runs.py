"""One training run as the page shows it: trained once per settings (cached), and sorted into
the animation's frames, the loss curve and the blog's log.

A module of its own, not part of app.py: Streamlit executes app.py anew on every rerun, and a
cached function or a dataclass defined there would be built again each time.
"""

from __future__ import annotations

import dataclasses
import functools

import streamlit as st

import lrcore
from lrcore import explain
from lrcore.optim import LINEAR
from lrcore.settings import DEFAULTS, OPTIMIZERS, Settings, group, train_args

from . import figures
from .text import BY_REPR

SLOW = tuple(o for o in OPTIMIZERS if o not in LINEAR)  # adam, sgd: one epoch at a time, so
# long runs get a progress bar


def run_settings(settings: Settings) -> Settings:
    """The settings that decide a run (view settings set to their defaults)."""
    view = {n: getattr(DEFAULTS, n) for n in group("view")}
    return settings.replace(**view)


def log_every(iterations: int) -> int:
    return max(1, iterations // 10)


def epochs(iterations: int) -> list[int]:
    """Every epoch the page needs: the frames and the epochs either side of each (the update
    at a frame, with its numbers, is worked out from them), the loss curve and the log."""
    frames = figures.frame_epochs(iterations)
    around = {e + d for e in frames for d in (-1, 1) if 0 <= e + d <= iterations}
    return sorted(
        set(frames)
        | around
        | set(figures.curve_epochs(iterations))
        | set(range(0, iterations + 1, log_every(iterations)))
    )


# cache_resource, not cache_data: every rerun reads its run, and a tuple of immutable states
# needs no copy (cache_data would unpickle every state of it at every rerun).
@st.cache_resource(show_spinner=False, max_entries=256, hash_funcs=BY_REPR)
def train(settings: Settings, data_key: str, _data: lrcore.Dataset) -> tuple[lrcore.State, ...]:
    """The run's states at epochs(iterations), up to the epoch where it diverged if it did.
    adam and sgd step epoch by epoch: a long run shows a progress bar. _data: the points
    fitted (data_ui.run_data), which data_key names for the cache."""
    data = _data
    states = lrcore.train(
        data.x,
        data.y,
        **train_args(settings),
        at=epochs(settings.iterations),
    )
    if settings.optimizer not in SLOW or settings.iterations < 2000:
        return tuple(states)
    text = f"Training {settings.iterations:,} epochs of {settings.optimizer}…"
    bar, shown, out = st.progress(0.0, text=text), 0.0, []
    for state in states:
        out.append(state)
        if state.epoch / settings.iterations - shown >= 0.02:
            shown = state.epoch / settings.iterations
            bar.progress(shown, text=text)
    bar.empty()
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Run:
    states: tuple  # every State trained (see epochs()), in order
    frames: list  # States at the frame epochs: the animation
    curve: list  # States for the loss curve
    log: list  # States every iterations/10 epochs: the blog's log
    last: lrcore.State  # the final state, or the one where the run diverged
    id: str = ""  # names this run on the page (settings, data, pinned run)
    verdict: explain.Verdict | None = None  # how it ended: converged, not yet or diverged

    def at(self, epoch: int) -> lrcore.State | None:
        """The state after `epoch` updates, if the run reached it and it was trained."""
        return self._by_epoch.get(epoch)

    @functools.cached_property
    def _by_epoch(self) -> dict:
        return {state.epoch: state for state in self.states}


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs=BY_REPR)
def verdict(
    settings: Settings, data_key: str, _data: lrcore.Dataset, _states: tuple[lrcore.State, ...]
) -> explain.Verdict:
    """The verdict on the run train(settings, data_key, _data) gave (lrcore.explain.verdict):
    computed once per run, as train is keyed. For adam and sgd, from the states trained."""
    args = train_args(settings)
    del args["iterations"]
    return explain.verdict(_data.x, _data.y, _states, **args)


def split(
    states: tuple[lrcore.State, ...],
    iterations: int,
    run_id: str = "",
    verdict: explain.Verdict | None = None,
) -> Run:
    """The states of one run sorted into the animation, the loss curve and the log."""

    def pick(wanted) -> list:
        wanted = set(wanted) | {states[-1].epoch}
        return [state for state in states if state.epoch in wanted]

    return Run(
        states,
        pick(figures.frame_epochs(iterations)),
        pick(figures.curve_epochs(iterations)),
        pick(range(0, iterations + 1, log_every(iterations))),
        states[-1],
        run_id,
        verdict,
    )
