"""A student in a class: a link `?class=CODE&…settings…` joins the class with no sign-up, and
every run the student makes is recorded in the class store (lrclass) for the teacher's board.

Who the student is: this browser's token (components/browser_token: a secret made in the
browser and kept in its localStorage, never in the address), so a reload, a reconnect or a
second tab of the browser is the same student and a link forwarded to a neighbour is not. The
token's element is in the class bar, so handing it over reruns the bar alone. The class code
stays in the address (url.PAGE_KEYS) until the student leaves or the class ends.

The class bar is a fragment that runs with every run of the page, and on its own every
POLL_OPEN seconds while the class is open (POLL while it is paused): it says "In class CODE as
NAME" (the name, generated or chosen, as text), hands the run to the store's writer thread
when it changed (Store.keep: the page never waits for a write; the store writes a student's
run at most once a second), and follows the class's state. The page reads that state as the
store's watcher thread last read it (Store.recent_status: at most about half a second old,
read for all the worker's students at once, so a run makes no call to the database). `hold`
reads it at the start of every run of the page, and while the teacher has paused the class
it puts the settings of the last run back before the page reads them: any change, from the
sidebar, the explore panel, the chart or the address, waits until the class resumes, from
within half a second of the pause. When the store cannot be reached the page carries on with
one notice and tries again at the bar's next look (from the page's next run on, every POLL
seconds until the store answers); the run on screen is recorded by the store's thread once the
store is back.

Why two intervals: a look of its own costs the server a whole (fragment) run of the page,
about 7 ms of CPU on the 2-core test machine, whatever it finds. Every 2 s for 200 students,
that was as much CPU as the students' own slider moves (one every 10 s, about 30 ms each).
Each run of the page starts the bar's interval again, so a student who moves within it never
pays for a look (deploy/SCALING.md, "Class load"). While the class is open, nothing a
look would find needs it sooner: a pause holds the controls at the student's next change
anyway (`hold` reads the state then) and says so; an idle student sees it within POLL_OPEN
seconds, and from then on the bar looks every POLL seconds, so the resume shows at once.
"""

from __future__ import annotations

import contextlib
import math
import time

import streamlit as st

import lrcore
from lrclass import Outcome, StoreUnavailable, Student, TooManyTries, codes, names
from lrcore.explain import CONVERGED, DIVERGED
from lrcore.settings import FIELDS, Settings, to_params

from . import runs, url
from .classroom import client, store
from .components.browser_token import browser_token
from .text import escape

CLASS = "class"  # the address's key for the class code
POLL = 2.0  # seconds between two looks at a paused class (the students wait for the resume)
POLL_OPEN = 60.0  # seconds between two looks at an open class (a pause, the end, the store back)

# st.session_state keys of this module
TOKEN = "_class_token"  # this browser's token, once the browser has handed it over
STUDENT = "_class_student"  # the Student this page is, once joined
STATUS = "_class_status"  # "open" or "paused": the class's state at the last look
RAN = "_class_ran"  # the settings of the page's last run: held while the class is paused
RECORDED = "_class_recorded"  # (code, settings, outcome) last handed to the store
RETRY = "_class_retry"  # (when to try again (monotonic), the notice meanwhile), after a failure
GONE = "_class_gone"  # what to say once about a class the page is no longer in
NAME = "class_name"  # the name field's key
NAME_NOTE = "_class_name_note"  # why a chosen name was not taken

UNREACHABLE = (
    "The class store cannot be reached just now. The page works as usual; your runs are "
    "recorded again as soon as it is back."
)
TOO_MANY = "Too many unknown class codes were tried from here: try again in a minute."
PAUSED = "The teacher paused the class: your settings wait here until the class resumes."


def hold() -> None:
    """While the class is paused, put the last run's settings back into the widgets before
    the page reads them: the student's change waits. The class's state is read now (as last
    seen if the store cannot be reached)."""
    state = st.session_state
    student = state.get(STUDENT)
    if student is None or url.page_value(CLASS) is None:
        return
    with contextlib.suppress(StoreUnavailable):  # no answer, or (None) an ended class: the bar
        if status := store().recent_status(student):  # says so in this run
            state[STATUS] = status
    ran = state.get(RAN)
    if ran is not None and state.get(STATUS) == "paused":
        for name in FIELDS:
            state[name] = getattr(ran, name)


def class_ui(settings: Settings, data: lrcore.Dataset, run: runs.Run) -> None:
    """The class bar when the address names a class (else nothing): join, say so, record the
    run, follow the class. Says once why the page left a class."""
    state = st.session_state
    if gone := state.pop(GONE, None):
        st.info(gone, icon=":material/groups:")
    code = url.page_value(CLASS)
    if code is None:
        return
    state[RAN] = settings
    # every POLL s while paused or while the store could not be reached (so the notice goes
    # as soon as it is back), else every POLL_OPEN s
    bar = _bar_paused if state.get(STATUS) == "paused" or RETRY in state else _bar_open
    bar(to_params(settings), outcome(data, run))


def outcome(data: lrcore.Dataset, run: runs.Run) -> Outcome:
    """What the run came to, as the class store keeps it: the verdict's (lrcore.explain)."""
    verdict, last = run.verdict, run.last
    if verdict.outcome == DIVERGED:
        return Outcome(None, None, True, None)
    fit = lrcore.closed_form(data.x, data.y)
    return Outcome(
        final_loss=float(last.loss),
        epochs_to_1pct=verdict.epoch if verdict.outcome == CONVERGED else None,
        diverged=False,
        distance=math.hypot(last.w - fit.w, last.b - fit.b),
    )


@st.fragment(run_every=POLL_OPEN)
def _bar_open(params: dict[str, str], result: Outcome) -> None:
    """The class bar of an open class: runs with the page's runs and every POLL_OPEN s."""
    _bar(params, result)


@st.fragment(run_every=POLL)
def _bar_paused(params: dict[str, str], result: Outcome) -> None:
    """The class bar of a paused class (or of a store that could not be reached): runs with
    the page's runs and every POLL s."""
    _bar(params, result)


def _bar(params: dict[str, str], result: Outcome) -> None:
    """The class bar: joins (once), looks at the class, records the run, says where the
    student is. A pause found by a look of the bar's own reruns the page: the bar then looks
    every POLL seconds."""
    state = st.session_state
    code = url.page_value(CLASS)
    if code is None:  # left: the page's rerun removes this fragment
        return
    if TOKEN not in state:
        token = browser_token(key="browser_token")
        if not _valid(token):  # the browser hands it over in a moment (a run of the bar)
            st.caption(f"Joining class {escape(_shortened(code))}…")
            return
        state[TOKEN] = token
    after, notice = state.get(RETRY, (-math.inf, ""))
    if time.monotonic() < after:
        _keep(params, result)
        st.warning(notice, icon=":material/cloud_off:")
        return
    try:
        student = state.get(STUDENT)
        if student is None or student.code != codes.normalise(code):
            student = _join(code)
        status = store().recent_status(student)
        if status is None:
            _leave(f"Class {student.code} has ended. The page carries on as usual.")
        paused_now = status == "paused" != state.get(STATUS)
        state[STATUS] = status
        _record(student, params, result)
    except StoreUnavailable:
        state[RETRY] = time.monotonic() + POLL, UNREACHABLE
        _keep(params, result)
        st.warning(UNREACHABLE, icon=":material/cloud_off:")
        return
    except TooManyTries:  # the store looks no further this minute
        state[RETRY] = time.monotonic() + 60, TOO_MANY
        st.warning(TOO_MANY, icon=":material/cloud_off:")
        return
    state.pop(RETRY, None)
    if paused_now:  # (in a run of the page, `hold` has just looked: only a race gets here)
        st.rerun(scope="app")
    _bar_ui(state[STUDENT], status)


def _record(student: Student, params: dict[str, str], result: Outcome) -> None:
    """Hand the run to the store's writer thread unless the store has it already: it writes
    the run at once, or a second after the student's last write (the page's run never waits
    for the database)."""
    state = st.session_state
    if state.get(RECORDED) == (student.code, params, result):
        return
    try:
        store().keep(student, params, result)
    except ValueError:  # settings too large for the store (an upload of many points)
        st.caption("This run's settings are too large to be recorded in the class.")
    state[RECORDED] = student.code, params, result


def _keep(params: dict[str, str], result: Outcome) -> None:
    """While the store cannot be reached: the run goes to the store's writer thread all the
    same, which records it as soon as the store answers (the bar may not look for a while)."""
    student = st.session_state.get(STUDENT)
    if student is not None and student.code == codes.normalise(url.page_value(CLASS) or ""):
        _record(student, params, result)


def _join(code: str) -> Student:
    """Join the class as this browser; leave the page's class (a rerun) if there is none."""
    state = st.session_state
    student = store().join(code, state[TOKEN], client=client())
    if student is None:
        _leave(
            f"There is no class {escape(_shortened(code))}: it may have ended, or the code is "
            "mistyped. "
            "The page works as usual."
        )
    state[STUDENT] = student
    return student


def _bar_ui(student: Student, status: str) -> None:
    with st.container(horizontal=True, vertical_alignment="center", key="class_bar"):
        st.markdown(
            f":material/groups: In class **{student.code}** as **{escape(student.name)}**",
            width="content",
        )
        with st.popover("Change name", icon=":material/edit:"):
            st.text_input(  # its value as the default: the popover mounts it only once opened
                "Your name in the class",
                student.name,
                max_chars=names.MAX_NAME,
                key=NAME,
                on_change=_rename,
            )
        if st.button("Leave the class", key="leave_class", icon=":material/logout:"):
            _leave("You left the class. Your last run stays with it.")
    if note := st.session_state.pop(NAME_NOTE, None):
        st.caption(note)
    if status == "paused":
        st.warning(PAUSED, icon=":material/pause_circle:")


def _rename() -> None:
    state = st.session_state
    try:
        state[STUDENT] = store().rename(state[STUDENT], state[NAME])
    except ValueError:
        state[NAME_NOTE] = "A name needs at least one letter, digit or sign."
    except StoreUnavailable:
        state[NAME_NOTE] = "The name could not be saved: the class store cannot be reached."


def _leave(why: str) -> None:
    """Drop the class from the page and its address (the store keeps the student's run), and
    rerun the page without it."""
    state = st.session_state
    url.drop(CLASS)
    for key in (STUDENT, STATUS, RECORDED, RETRY, RAN):
        state.pop(key, None)
    state[GONE] = why
    st.rerun(scope="app")


def _shortened(code: str) -> str:
    """A code from the address as the page repeats it (a hand-made one may be long)."""
    return code if len(code) <= 2 * codes.LENGTH else code[: 2 * codes.LENGTH] + "…"


def _valid(token) -> bool:
    return isinstance(token, str) and 16 <= len(token) <= 128
