"""Lessons for teachers: six ready links, each a short prompt plus the settings it starts from.

A lesson link is `?lesson=NAME`: the page loads the lesson's settings (any others in the link
override them), shows its prompt above the views and hides the controls the lesson does not
need (the `hide` setting), so a class works on one question. The lessons are data; the
functions at the end draw the prompt and the list of links.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

import streamlit as st

from lrcore.settings import CONTROLS, DATA_CONTROLS, Settings, to_params

from . import classroom
from .address import reachable_base
from .text import label

START = ("w0", "b0")
# where the controls a prompt names are: a phone hides the sidebar behind its » button
SIDEBAR = "in the sidebar (on a phone, open it with **»** at the top left)"


@dataclass(frozen=True)
class Lesson:
    """One exercise: what the page asks, and the settings it starts from."""

    title: str  # a few words, for the list of links
    prompt: str  # what the student is asked to do and notice (Markdown)
    settings: Mapping[str, str] = field(default_factory=dict)  # as the URL spells them
    hide: tuple[str, ...] = ()  # the controls a student does not need for it


LESSONS: dict[str, Lesson] = {
    "blog": Lesson(
        "The blog post's run",
        "This is the blog post's experiment: gradient descent with step size 0.0005 for "
        "50,000 epochs. Play it and watch the line, the loss and the path move together. "
        "Why does it need so many epochs? Open **Why this run behaves as it does** and "
        "compare the epochs the Hessian predicts with the epochs the run took.",
        hide=("optimizer", "momentum", "batch_size", "standardize", *START),
    ),
    "limit": Lesson(
        "Find the largest step size that converges",
        f"Move only the step-size slider {SIDEBAR}, one stop at a time from 0.0005. At which "
        "step does the run stop converging? Compare with the limit printed under the slider, "
        "and read by what factor the error grows each epoch just above it.",
        hide=(
            "optimizer",
            "momentum",
            "batch_size",
            "standardize",
            "iterations",
            *START,
            *DATA_CONTROLS,
        ),
    ),
    "scaling": Lesson(
        "Feature scaling: raw or standardized x",
        "Press **Compare raw and standardized x** under the chart: the same data and step "
        "size, once on x as it is and once on x shifted and scaled to mean 0 and standard "
        "deviation 1. Which run gets within 1% of the answer first, and why? Then raise the "
        f"step size {SIDEBAR}: how far can the standardized run go before it diverges?",
        hide=("optimizer", "momentum", "batch_size", *START, *DATA_CONTROLS),
    ),
    "momentum": Lesson(
        "Momentum on a long, narrow valley",
        "The loss here is a long, narrow valley (its condition number is about 13,000), so "
        "gradient descent crawls along the floor. Press **Pin this run**, then switch the "
        f"optimizer to momentum {SIDEBAR}. How many epochs does each need to get within 1% of the "
        "answer? Then try a momentum β of 0.99: what does the path do?",
        hide=("batch_size", "standardize", *START, *DATA_CONTROLS),
    ),
    "outliers": Lesson(
        "Outliers pull the line",
        "A few points lie far below the line. Least squares squares every error, so these "
        "few pull the whole line towards them. Press **Pin this run**, then draw a box or a "
        "lasso around the outliers on the data view to leave them out of the fit. How far "
        "does the line move, and what happens to the loss?",
        settings={"dataset": "outliers"},
        hide=(
            "optimizer",
            "momentum",
            "batch_size",
            "standardize",
            "step_size",
            "iterations",
            *START,
        ),
    ),
    "explore": Lesson(
        "Every step size at once: where is the fastest?",
        "**Explore** below the chart runs gradient descent on the blog's data at 200 step "
        "sizes at once: the loss each run ends with, and the epochs each needs to get within "
        "1% of the answer. Which step size is fastest? Click it, or press **Use the fastest "
        "step**, and compare it with the limit 2/λmax where the runs start to diverge. Why is "
        "the fastest step 2/(λmin+λmax), just below the limit? (Hint: read the two curvatures "
        "λmax and λmin in **Why this run behaves as it does**.) Then switch the optimizer to "
        f"momentum {SIDEBAR}: where on the map is the best (η, β)?",
        hide=("batch_size", "standardize", *START, *DATA_CONTROLS),
    ),
}


def with_lesson(params: Mapping[str, str]) -> dict[str, str]:
    """A link's parameters with its lesson's settings filled in underneath: what the link
    names itself wins, and a lesson link without `hide` hides the lesson's controls."""
    lesson = LESSONS.get(str(params.get("lesson", "")))
    if lesson is None:
        return dict(params)
    preset = {**lesson.settings, "hide": ",".join(lesson.hide)}
    return {**preset, **params}


def link(base_url: str, name: str) -> str:
    """The ready link of one lesson."""
    return f"{base_url}?lesson={name}"


def hidden(settings: Settings) -> tuple[str, ...]:
    """The setting names the link hides."""
    return tuple(name for name in settings.hide.split(",") if name)


# --- on the page ------------------------------------------------------------------------------


def shown(name: str, settings: Settings) -> bool:
    """Draw the control of setting `name`? Not if the link hides it: it is then not drawn at
    all (every control costs each rerun its share of the server; sources.prepare keeps the
    value of a control that is not drawn)."""
    return name not in hidden(settings)


def _leave_lesson() -> None:
    st.session_state["lesson"] = ""
    st.session_state["hide"] = ""


def lesson_ui(settings: Settings) -> bool:
    """The lesson's prompt above the views (its hidden controls are not drawn: shown()). True
    if a lesson's prompt is shown."""
    lesson = LESSONS.get(settings.lesson)
    if lesson is None:
        return False
    # One row (a horizontal container: one block, where columns are three)
    with st.container(
        key="lesson_prompt", horizontal=True, wrap=False, vertical_alignment="center"
    ):
        st.info(f"**Lesson: {lesson.title}.** {lesson.prompt}", icon=":material/school:")
        st.button(  # beside the prompt: the chart and its player stay in view under it
            "Leave this lesson",
            key="leave_lesson",
            on_click=_leave_lesson,
            help="Show every control again",
        )
    return True


def lessons_ui(chosen: Settings) -> None:
    """The ready links, a link to this run with chosen controls hidden, and "Start a class"."""
    base, note = reachable_base()
    st.markdown("Each link opens the page with a prompt and only the controls the exercise needs:")
    st.markdown(
        "\n".join(
            f"- **[{lesson.title}]({link(base, name)})** — `{link(base, name)}`"
            for name, lesson in LESSONS.items()
        )
    )
    choices = list(CONTROLS)
    hide = st.multiselect(
        "Or share this run with these controls hidden",
        choices,
        default=[n for n in hidden(chosen) if n in choices],
        key="hide_picker",
        format_func=label,
    )
    params = to_params(chosen.replace(hide=",".join(n for n in choices if n in hide)))
    st.code(base + "?" + urllib.parse.urlencode(params), language=None, wrap_lines=True)
    if note:  # which address the links above use
        st.caption(note)
    st.divider()
    classroom.start_ui(chosen)
