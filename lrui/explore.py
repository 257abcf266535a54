"""Explore: every step size at once (and, for momentum and nesterov, every β), on the data on
screen. Each point of its charts is a whole run (lrcore.sweep), from the same start for the same
epochs; a click on one makes it the run on screen: the widgets, the address bar and the views
follow, and the run plays.

The section is an expander that computes only while open, like the explanations (it costs a
closed page nothing); the lesson `?lesson=explore` opens it. gd, momentum and nesterov are
swept exactly (milliseconds for a few thousand runs); adam and sgd are simulated run by run on
a coarse grid that fits the page's work budget (lrcore.settings.WORK_BUDGET).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import streamlit as st

import lrcore
from lrcore.explain import Rates
from lrcore.optim import LINEAR, WITH_MOMENTUM  # LINEAR: what lrcore.sweep works out exactly
from lrcore.settings import DEFAULTS, WORK_BUDGET, Settings, work_seconds

from . import explore_figures as xf
from . import sources
from .explain import limit
from .explain.limit import LIMIT_RULE, step_stops, why
from .figures import Prebuilt, frozen
from .sidebar import bounds
from .text import apart, digest, fmt

KEY = "explore"  # the expander (also the lesson's name)
LESSON_OPENED = "_explore_lesson"  # st.session_state: the lesson has opened the section
TITLE = "Explore: every step size at once"
CURVE_POINTS = 200  # step sizes on the curve (gd, momentum, nesterov)
GRID_STEPS = 60  # step sizes (columns) of the map
# momenta (rows) of the map: 1 − β from 1 to 0.001 in tenths of a decade, at the slider's 0.001
MOMENTA = tuple(sorted({round(1 - 10 ** (-k / 10), 3) for k in range(31)}))
BOUNDARY = tuple(1 - np.geomspace(1, 1e-3, 120))  # the β at which the boundary is drawn
SIMULATED_POINTS = (7, 13)  # adam, sgd: at least one step size a decade, at most two
# What lrcore.sweep adds per epoch of an adam or sgd run to train's own cost (work_seconds): it
# looks at every epoch for the first within 1%. Measured on the 2-core test machine.
SWEEP_EPOCH_SECONDS = 15e-6
CONFIG = {"displayModeBar": False}  # a chart to click on: nothing to zoom, pan or select


class Plan(NamedTuple):
    """The runs of a curve: their step sizes and epochs, and why the epochs were cut, if so."""

    step_sizes: tuple[float, ...]
    iterations: int
    simulated: bool
    note: str = ""


def explore_ui(settings: Settings, data: lrcore.Dataset, source: sources.RunData) -> None:
    """The Explore expander, built only while open. `data`: the points the run fits."""
    in_lesson = settings.lesson == KEY
    if in_lesson and not st.session_state.get(LESSON_OPENED):
        st.session_state[KEY] = True  # the lesson opens it once; the student may close it
    st.session_state[LESSON_OPENED] = in_lesson
    with st.expander(TITLE, key=KEY, on_change="rerun", icon=":material/travel_explore:") as box:
        if box.open:
            try:
                section_ui(settings, data, source.key)
            except (ValueError, ArithmeticError) as error:  # data no sweep can handle
                st.warning(f"This sweep cannot be drawn for these settings: {error}")


def section_ui(settings: Settings, data: lrcore.Dataset, data_key: str) -> None:
    """The open section: the curve over the step size, and the map for momentum and nesterov.
    Both are built once for every step size (and β) and cached; each rerun only marks the run
    on screen on them."""
    swept = sweep_settings(settings)
    if settings.optimizer in LINEAR:
        curve = curve_figure(digest(data_key, swept), _settings=swept, _data=data)
    else:
        with st.spinner(f"Simulating runs of {settings.optimizer}…"):
            curve = curve_figure(digest(data_key, swept), _settings=swept, _data=data)
    key = "explore_curve_" + digest(settings.step_size, settings.momentum)  # fresh per run
    chart(xf.with_current(curve.spec, settings.step_size), key)
    # One caption under the chart (every element costs every rerun its share of the server)
    st.caption(
        f"Each point is a whole run of {settings.optimizer} on the data on screen, from the "
        f"same start: **click one** to make it the run on screen. {curve.sentence}"
        + (f"\n\n{curve.plan.note}" if curve.plan.note else "")
    )
    fastest_ui(settings, data, curve)
    if settings.optimizer in WITH_MOMENTUM:
        grid_ui(settings, data, data_key)


def fastest_run(settings: Settings, data: lrcore.Dataset, best, limit_: float | None):
    """The run the fastest step makes (rounded below the limit, with the epochs it needs to
    get within 1%), or None if it cannot get there within the epochs slider's maximum."""
    if best is None:
        return None
    step = lrcore.rounded_step(best, limit_)
    if settings.optimizer not in LINEAR:
        return settings.replace(step_size=step)
    return limit.reaching(settings, data, step) if step < limit_ else None


def fastest_ui(settings: Settings, data: lrcore.Dataset, curve: Curve) -> None:
    """The button under the curve: the fastest step (with more epochs if it needs them), or,
    where plain steps cannot get within 1% in the slider's epochs, standardized x."""
    target = fastest_run(settings, data, curve.best, curve.limit)
    if target is None and not settings.standardize and settings.optimizer in LINEAR:
        offer = limit.offer(settings, limit.on_standardized(settings, data))
        st.button(
            offer.label,
            key="explore_standardized",
            on_click=limit.apply,
            args=(offer.changes,),
            help="No step gets within 1% in the slider's epochs on raw x: standardized x does",
        )
        return
    more = target is not None and target.iterations != settings.iterations
    st.button(
        f"Use the fastest step and {target.iterations:,} epochs"
        if more
        else "Use the fastest step",
        key="explore_fastest",
        on_click=limit.apply,
        args=({"step_size": target.step_size, "iterations": target.iterations} if target else {},),
        disabled=target is None,
        help="Make the step with the fewest epochs to 1% the run on screen",
    )


def sweep_settings(settings: Settings) -> Settings:
    """The settings a sweep reads (the step size is what it sweeps), every other one at its
    default: one cached curve serves every step size."""
    moving = settings.optimizer in WITH_MOMENTUM
    sgd = settings.optimizer == "sgd"
    return DEFAULTS.replace(
        optimizer=settings.optimizer,
        momentum=settings.momentum if moving else DEFAULTS.momentum,
        iterations=settings.iterations,
        w0=settings.w0,
        b0=settings.b0,
        standardize=settings.standardize,
        batch_size=settings.batch_size if sgd else DEFAULTS.batch_size,
        seed=settings.seed if sgd else DEFAULTS.seed,
    )


def slider_range(limit: float) -> tuple[float, float]:
    """The step-size slider's first and last stops on data with this limit (they reach down
    to a thousandth of it)."""
    stops = step_stops(limit)
    return stops[0], stops[-1]


def curve_plan(settings: Settings, n: int, limit: float, span: tuple[float, float]) -> Plan:
    """The curve's step sizes: CURVE_POINTS around the limit (xf.step_range) for gd, momentum
    and nesterov; for adam and sgd as many over the slider's range `span` as fit WORK_BUDGET,
    between SIMULATED_POINTS, with the epochs cut if even the fewest would not fit."""
    lo, hi = span
    if settings.optimizer in LINEAR:
        a, b = xf.step_range(limit, lo, hi)
        return Plan(_geom(a, b, CURVE_POINTS), settings.iterations, False)
    per_epoch = work_seconds(settings.replace(iterations=1), n) + SWEEP_EPOCH_SECONDS
    fewest, most = SIMULATED_POINTS
    count = min(most, max(fewest, int(WORK_BUDGET // (per_epoch * settings.iterations))))
    epochs = min(settings.iterations, max(1, int(WORK_BUDGET / (count * per_epoch))))
    note = (
        ""
        if epochs == settings.iterations
        else f"Each simulated run stops at epoch {epochs:,}, not {settings.iterations:,}: "
        f"{count} runs of {settings.iterations:,} epochs would take about "
        f"{count * per_epoch * settings.iterations:,.0f} s here (the page spends at most about "
        f"{WORK_BUDGET:g} s on them)."
    )
    return Plan(_geom(lo, hi, count), epochs, True, note)


def _geom(a: float, b: float, count: int) -> tuple[float, ...]:
    """count step sizes from a to b, evenly spaced on a log axis, to 7 significant digits: the
    charts carry each one, and a shorter number is a smaller chart to send at every rerun."""
    return tuple(float(f"{v:.7g}") for v in np.geomspace(a, b, count))


class Curve(NamedTuple):
    """The curve of one sweep, built once: its figure without the run on screen, its plan,
    its fastest step (None if no run got within 1%), the limit a click rounds against (None
    without a sharp one) and the sentence under it."""

    spec: dict  # shared by every session (st.cache_resource): read, never changed; frozen
    plan: Plan
    best: float | None
    limit: float | None
    sentence: str


@st.cache_resource(show_spinner=False, max_entries=64)
def curve_figure(key: str, *, _settings: Settings, _data: lrcore.Dataset) -> Curve:
    """lrcore.sweep over the curve's step sizes and its figure. `key` names the data and
    `_settings` (sweep_settings: nothing else is read)."""
    settings, data = _settings, _data
    r = why(settings, data)  # λmax, λmin and the optimizer's limit (gd's for adam and sgd)
    plan = curve_plan(settings, len(data), r.limit, slider_range(r.limit))
    moving, sharp = settings.optimizer in WITH_MOMENTUM, settings.optimizer in LINEAR
    row = lrcore.sweep(
        data.x,
        data.y,
        step_sizes=plan.step_sizes,
        iterations=plan.iterations,
        optimizer=settings.optimizer,
        momenta=[settings.momentum] if moving else None,
        w0=settings.w0,
        b0=settings.b0,
        standardize=settings.standardize,
        batch_size=settings.batch_size,
        seed=settings.seed,
    )
    fastest = 2 / (r.lam_max + r.lam_min)
    marks = xf.Marks(
        limit=r.limit,
        fastest=fastest if sharp else None,
        sharp=sharp,
        limit_label=f"limit {LIMIT_RULE[settings.optimizer]}" if sharp else "gd's limit",
        fastest_label="gd's fastest" if moving else "fastest 2/(λmin+λmax)",
    )
    if settings.optimizer == "gd":
        best = fastest
    else:
        at = xf.best_point(row.epochs, row.loss)
        best = None if at is None else float(row.step_sizes[at[1]])
    reached = bool(np.isfinite(row.epochs).any())
    sentence = curve_sentence(settings, plan, r, best, reached)
    if sharp and best is None:  # no run got within 1%: gd's fastest step, with more epochs
        best = fastest
    if not sharp or reached:
        none_within = "try more epochs"
    elif target := fastest_run(settings, _data, best, r.limit):
        none_within = f"try {target.iterations:,} epochs (the button below)"
    else:
        none_within = "on raw x no step can within the slider's epochs; standardized x can"
    spec = xf.curve(
        row.step_sizes,
        row.loss[0],
        row.epochs[0],
        row.diverged[0],
        iterations=plan.iterations,
        marks=marks,
        simulated=plan.simulated,
        none_within=none_within,
    )
    return Curve(frozen(spec), plan, best, r.limit if sharp else None, sentence)


def curve_sentence(settings: Settings, plan: Plan, r: Rates, best, reached: bool) -> str:
    """One sentence on what to look for in the curve (`best`: its fastest step; `reached`:
    some run got within 1%)."""
    opt, gd_limit = settings.optimizer, 2 / r.lam_max
    none = "" if reached else f" None of these runs gets within 1% in {plan.iterations:,} epochs."
    if opt == "gd":
        fastest = 2 / (r.lam_max + r.lam_min)
        sig = apart(fastest, r.limit)  # they are 1/κ apart: as many digits as that takes
        return (
            f"Look for the bottom of the lower plot: the fewest epochs are at the fastest step "
            f"2/(λmin+λmax) = {fmt(fastest, sig)}, just below the limit 2/λmax = "
            f"{fmt(r.limit, sig)}; a larger step overshoots along the steep direction, a smaller "
            f"one crawls along the flat one.{none}"
        )
    if opt in LINEAR:
        sig = 4 if best is None else apart(best, r.limit)
        where = "" if best is None else f" is fastest at η = {fmt(best, sig)}, and"
        side = "above" if r.limit > gd_limit else "below"
        return (
            f"Look for the bottom of the lower plot: at β = {settings.momentum:g}, {opt}{where} "
            f"converges up to its own limit {LIMIT_RULE[opt]} = {fmt(r.limit, sig)}, {side} gd's "
            f"2/λmax = {fmt(gd_limit)}.{none}"
        )
    return (
        f"Simulated: each point is a whole {opt} run ({len(plan.step_sizes)} step sizes). Look "
        f"for the step sizes with the lowest loss and those where the runs blow up (crosses); "
        f"{opt} has no sharp limit, so the dotted line is gd's, as a guide.{none}"
    )


MAP_SENTENCE = (
    "Look for the darkest cells (fewest epochs) just inside the vermillion line, the largest "
    "stable η for each β: a larger β lets a smaller η go as fast, until the runs swing too "
    "much to settle (faint vermillion cells diverged; empty ones never got within 1%)."
)


class Map(NamedTuple):
    """The map of one sweep over η × β, built once: its figure without the run on screen, the
    number of runs, its best (η, β) (None if no run got within 1%) and that row's limit."""

    spec: dict  # shared by every session (st.cache_resource): read, never changed; frozen
    runs: int
    best: tuple[float, float] | None
    best_limit: float | None


def grid_ui(settings: Settings, data: lrcore.Dataset, data_key: str) -> None:
    """The map over step size × β for momentum and nesterov, and its best-point button."""
    swept = sweep_settings(settings).replace(momentum=DEFAULTS.momentum)  # the map has every β
    found = map_figure(digest(data_key, swept), _settings=swept, _data=data)
    spec = xf.with_point(found.spec, (settings.step_size, settings.momentum))
    chart(spec, "explore_map_" + digest(settings.step_size, settings.momentum))
    st.caption(MAP_SENTENCE)
    best = found.best
    st.button(
        "Use the best (η, β)"
        if best is None
        else f"Use the best (η, β) = ({fmt(best[0], 3)}, {best[1]:g})",
        key="explore_best",
        on_click=use,
        args=(*(best or (None, None)), found.best_limit),
        disabled=best is None,
        help="Make the cell with the fewest epochs to 1% the run on screen",
    )


@st.cache_resource(show_spinner=False, max_entries=32)
def map_figure(key: str, *, _settings: Settings, _data: lrcore.Dataset) -> Map:
    """The map's sweep (GRID_STEPS step sizes × MOMENTA) and its figure, with the boundary:
    the largest stable η at each β of BOUNDARY. `key` names the data and `_settings`
    (sweep_settings at the default β: nothing else is read)."""
    settings, x, y = _settings, _data.x, _data.y
    limits = lrcore.stable_step_size(  # at each β of BOUNDARY, then of MOMENTA
        x, y, settings.optimizer, np.array(BOUNDARY + MOMENTA), settings.standardize
    ).tolist()
    boundary, limits = (BOUNDARY, tuple(limits[: len(BOUNDARY)])), limits[len(BOUNDARY) :]
    lo, hi = xf.step_range(max(boundary[1]), *slider_range(boundary[1][0]))
    sweep = lrcore.sweep(
        x,
        y,
        step_sizes=_geom(lo, hi, GRID_STEPS),
        iterations=settings.iterations,
        optimizer=settings.optimizer,
        momenta=MOMENTA,
        w0=settings.w0,
        b0=settings.b0,
        standardize=settings.standardize,
    )
    at = xf.best_point(sweep.epochs, sweep.loss)
    best = None if at is None else (float(sweep.step_sizes[at[1]]), float(sweep.momenta[at[0]]))
    spec = xf.grid(
        sweep.step_sizes,
        sweep.momenta,
        sweep.epochs,
        sweep.diverged,
        iterations=settings.iterations,
        boundary=boundary,
        best=best,
        limits=limits,
        title=f"Step size × momentum β ({settings.optimizer}): {sweep.loss.size:,} runs of "
        f"{settings.iterations:,} epochs each",
    )
    return Map(frozen(spec), sweep.loss.size, best, None if at is None else limits[at[0]])


# --- a click or a button makes a point the run on screen --------------------------------------


def chart(spec: dict, key: str) -> None:
    st.plotly_chart(
        Prebuilt(spec),
        key=key,
        on_select=functools.partial(picked, key),
        selection_mode="points",
        theme=None,
        config=CONFIG,
    )


def clicked(key: str) -> list[list]:
    """The customdata lists of the points clicked (selected) on the chart with this key."""
    event = st.session_state.get(key)
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    return [c for point in points if isinstance(c := point.get("customdata"), list) and c]


def picked(key: str) -> None:
    """A chart's click callback: the clicked point's run (its customdata: η, β, limit)."""
    for custom in clicked(key):
        if isinstance(custom[0], (int, float)):
            eta, beta, limit = (list(custom) + [None, None])[:3]
            use(eta, beta, limit)
            return


def use(eta: float | None, beta: float | None = None, limit: float | None = None) -> None:
    """Make (η, β) the run on screen: η to 3 significant digits on the same side of `limit`
    (lrcore.rounded_step), β to the slider's 0.001, both within their sliders' bounds."""
    if eta is None or not (math.isfinite(eta) and eta > 0):
        return
    lo, hi = bounds("step_size")
    st.session_state["step_size"] = min(max(lrcore.rounded_step(eta, limit), lo), hi)
    if beta is not None and math.isfinite(beta):
        lo, hi = bounds("momentum")
        st.session_state["momentum"] = min(max(round(beta, 3), lo), hi)
