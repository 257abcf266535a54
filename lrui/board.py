"""The class's board: what the teacher projects while students work (`?board=CODE&key=KEY`).

The key is read once into this session and taken out of the address bar at once, so a projected
board never shows it; the tab keeps it (components/board_key: sessionStorage, this tab only), so
a reload opens the board again. A wrong or missing key gets the very message an unknown class
gets. The
board polls the store every REFRESH seconds (st.fragment(run_every=...): Streamlit cannot push
from one session to another): how many joined and are active, every student's last run as a
point on the class's Explore chart (with its stability limit), the runs ranked by the lesson's
goal (names hidden until the teacher shows them), and pause, the results as CSV, end.
"""

from __future__ import annotations

import functools
import html
import math
import urllib.parse

import numpy as np
import pandas as pd
import streamlit as st

from lrclass import Store, StoreUnavailable, StudentRow, TooManyTries, codes, results
from lrcore.optim import WITH_MOMENTUM
from lrcore.settings import DEFAULTS, Settings, from_params

from . import classroom, explore, lessons, sources
from . import explore_figures as xf
from .address import qr_ui, reachable_base
from .components.board_key import board_key
from .figures import PATH, Prebuilt
from .text import digest, escape

BOARD, KEY = "board", "key"  # the board link's query parameters
REFRESH = 2  # seconds between two looks at the store
TABLE_ROWS = 40  # a table of up to this many students is shown whole, without scrolling
# st.session_state keys of this module
KEYS = "_board_keys"  # {code: key}: the keys this session was given
GONE = "_board_gone"  # the code that turned out unknown (or its key wrong): no more looks
ENDED = "_board_ended"  # the code of the class this session ended
CONFIRM = "_board_confirm_end"  # the teacher pressed "End the class" once
PICKED = "_board_picked"  # the id of the student clicked on the chart
NOTICE = "_board_notice"  # what a button could not do, shown once
# The board's own switches, kept through a look that draws only a notice (the store could not
# be reached): Streamlit forgets the state of a widget that a run does not draw.
SWITCHES = ("board_names", "board_qr")

UNKNOWN = (
    "There is no running class with this code and key. Check the board's link, or start a "
    "class under **Lessons for teachers**."
)
UNREACHABLE = "The class store cannot be reached: the board tries again every 2 s."
TOO_MANY = "Too many unknown class codes or wrong keys from here: try again in a minute."
OUTCOMES = {"within": "within 1%", "not_yet": "not yet within 1%", "diverged": "diverged"}
GOAL_TEXT = {
    "fastest": "fastest to 1% first (fewest epochs)",
    "largest_step": "largest step that still converges first",
}


def board_ui() -> bool:
    """The board instead of the page when the address names one (`?board=CODE`): True if so."""
    if BOARD not in st.query_params:
        return False
    code = codes.normalise(st.query_params.get(BOARD)) or ""
    keys = st.session_state.setdefault(KEYS, {})
    if KEY in st.query_params:  # read once, and out of the address bar before anything shows
        keys[code] = st.query_params[KEY]
        del st.query_params[KEY]
        if st.session_state.get(GONE) == code:  # a new key: look again
            del st.session_state[GONE]
    st.title("Class board")
    kept = board_key(code, keys.get(code), key="board_key")  # this tab keeps it for a reload
    if code not in keys:
        if kept is None:  # the tab answers in a moment (a rerun)
            st.caption("Opening the board…")
            return True
        if kept:
            keys[code] = kept
    live_ui(code, keys.get(code))
    return True


@st.fragment(run_every=REFRESH)
def live_ui(code: str, key: str | None) -> None:
    """The board, looked up again at every refresh."""
    for switch in SWITCHES:  # set by this run, so kept even if it draws only a notice
        if switch in st.session_state:
            st.session_state[switch] = st.session_state[switch]
    if st.session_state.get(ENDED) == code:
        st.success(f"Class {code} has ended: its students' runs are deleted.")
        return
    if st.session_state.get(GONE) == code:
        st.error(UNKNOWN)  # no more looks: each would count as a failed try
        return
    store = classroom.store()
    try:
        info = store.board(code, key, classroom.client())
        rows = store.students(info.code) if info is not None else []
    except StoreUnavailable:
        st.warning(UNREACHABLE)
        return
    except TooManyTries:
        st.error(TOO_MANY)
        return
    if info is None:
        st.session_state[GONE] = code
        st.error(UNKNOWN)
        return
    settings, _ = from_params(lessons.with_lesson(info.settings))
    header_ui(info.code, info.paused, settings, rows, store.clock())
    names = st.toggle("Show names", key="board_names", help="Off while the board is projected")
    labels = {row.id: row.name if names else f"Student {i}" for i, row in enumerate(rows, start=1)}
    base, _ = reachable_base()
    try:
        chart_ui(settings, rows, labels, base)
    except (ValueError, ArithmeticError) as error:  # data no sweep can handle (as Explore)
        st.warning(f"The class's chart cannot be drawn for its settings: {error}")
    goal = goal_of(settings)
    st.markdown(f"**Ranked by the lesson's goal:** {GOAL_TEXT[goal]}.")
    st.dataframe(
        table(rows, goal, labels, base),
        key="board_table",
        hide_index=True,
        height="content" if len(rows) <= TABLE_ROWS else "auto",  # a class shows whole
        column_config={
            "run": st.column_config.LinkColumn("run", display_text="open", help="Their run"),
            "step size": st.column_config.NumberColumn(format="%.4g"),
            "final loss": st.column_config.NumberColumn(format="%.6g"),
        },
    )
    actions_ui(info.code, key, info.paused, rows)
    with st.expander("The students' link", key="board_link"):
        link = classroom.students_link(base, info.code, info.settings)
        st.markdown(f"[{info.code}]({link})")
        st.code(link, language=None, wrap_lines=True)
        qr_ui(link, key="board_qr")


def goal_of(settings: Settings) -> str:
    """The ranking's goal: the largest step that converges in the "limit" lesson, else the
    fastest to 1%."""
    return "largest_step" if settings.lesson == "limit" else "fastest"


def header_ui(code: str, paused: bool, settings: Settings, rows, now: float) -> None:
    """The class's code and state, and its counts."""
    lesson = lessons.LESSONS.get(settings.lesson)
    about = f" · lesson: {lesson.title}" if lesson else ""
    st.header(f"Class {code}{about}")
    if paused:
        st.warning("Paused: the students' controls wait until you resume the class.")
    c = results.counts(rows, now)
    with st.container(horizontal=True, key="board_counts"):
        st.metric("Joined", c.joined)
        st.metric("Active", c.active, help="Joined or ran in the last 2 minutes")
        st.metric("Within 1%", c.within_1pct)
        st.metric("Not yet", c.not_yet, help="Ran without diverging, not yet within 1%")
        st.metric("Diverged", c.diverged)
        st.metric("No run yet", c.waiting)


def actions_ui(code: str, key: str, paused: bool, rows) -> None:
    """Pause or resume, the results as CSV, end (asked twice)."""
    if notice := st.session_state.pop(NOTICE, None):
        st.warning(notice)
    with st.container(horizontal=True):
        if paused:
            st.button(
                "Resume the class", key="board_resume", on_click=_act, args=("resume", code, key)
            )
        else:
            st.button(
                "Pause the class",
                key="board_pause",
                on_click=_act,
                args=("pause", code, key),
                help="Students' controls wait, with a message, until you resume",
            )
        st.download_button(  # the CSV is made on click (on Streamlit's thread), not every 2 s
            "Download results (CSV)",
            functools.partial(_csv, classroom.store(), code, rows),
            f"class-{code}.csv",
            "text/csv",
            key="board_csv",
            on_click="ignore",
        )
        st.button("End the class", key="board_end", on_click=_confirm, args=(True,))
    if st.session_state.get(CONFIRM):
        st.warning(
            f"End class {code} now? Every student's run is deleted (download the results "
            "first), and the students' link stops working."
        )
        with st.container(horizontal=True):
            st.button(
                "Yes, end the class", key="board_end_yes", on_click=_act, args=("end", code, key)
            )
            st.button("Cancel", key="board_end_no", on_click=_confirm, args=(False,))


def _confirm(asked: bool) -> None:
    st.session_state[CONFIRM] = asked


def _csv(store: Store, code: str, shown: list[StudentRow]) -> str:
    """The class's results as CSV: the store's rows at the click, else (the store cannot be
    reached, or the class has ended meanwhile) the rows on the board."""
    try:
        return results.to_csv(store.students(code) or shown)
    except StoreUnavailable:
        return results.to_csv(shown)


def _act(action: str, code: str, key: str) -> None:
    """Pause, resume or end the class in the store."""
    st.session_state[CONFIRM] = False
    try:
        done = getattr(classroom.store(), action)(code, key, classroom.client())
    except StoreUnavailable:
        st.session_state[NOTICE] = f"The class store cannot be reached: try again ({action})."
        return
    except TooManyTries:
        st.session_state[NOTICE] = TOO_MANY
        return
    if action == "end" and done:
        st.session_state[ENDED] = code


# --- the chart: every student on the class's Explore chart ------------------------------------


def chart_ui(settings: Settings, rows: list[StudentRow], labels: dict[int, str], base: str) -> None:
    """The class's Explore chart (its data and settings: the curve, or the η × β map for
    momentum and nesterov, with the stability limit), each student's last run a point on it;
    a click on one gives the link to their run."""
    source = sources.run_data(settings)
    swept = explore.sweep_settings(settings)
    if settings.optimizer in WITH_MOMENTUM:
        swept = swept.replace(momentum=DEFAULTS.momentum)  # the map has every β
        found = explore.map_figure(digest(source.key, swept), _settings=swept, _data=source.kept)
        spec = on_map(found.spec, rows, labels, settings.momentum)
    else:
        found = explore.curve_figure(digest(source.key, swept), _settings=swept, _data=source.kept)
        spec = on_curve(found.spec, rows, labels)
    st.plotly_chart(
        Prebuilt(spec),
        key="board_chart",
        on_select=_pick,
        selection_mode="points",
        theme=None,
        config=explore.CONFIG,
    )
    st.caption(
        "Each pink point is a student's last run (× where it diverged), on the class's runs "
        "of every step size: **click a student** to open their run."
    )
    picked = next((row for row in rows if row.id == st.session_state.get(PICKED)), None)
    if picked is not None and picked.settings:
        st.markdown(f"**{escape(labels[picked.id])}**: [open their run]({run_link(base, picked)})")


def _pick() -> None:
    """The chart's click callback: the student clicked (customdata ["student", id])."""
    for custom in explore.clicked("board_chart"):
        if len(custom) == 2 and custom[0] == "student":
            st.session_state[PICKED] = custom[1]
            return


def run_link(base: str, row: StudentRow) -> str:
    """A link to the student's last run, as the share link writes it (no class)."""
    return base + "?" + _query(tuple((row.settings or {}).items()))


@functools.lru_cache(maxsize=4096)
def _query(settings: tuple[tuple[str, str], ...]) -> str:
    """The query of a run's link: the table asks for every student's at every refresh, and
    most have not changed since the last."""
    return urllib.parse.urlencode([(k, v) for k, v in settings if k not in ("class", BOARD, KEY)])


def outcome(row: StudentRow) -> str | None:
    """What the student's last run came to (None before any run)."""
    if row.diverged is None:
        return None
    if row.diverged:
        return "diverged"
    return "within" if row.epochs_to_1pct is not None else "not_yet"


def _hover(row: StudentRow, label: str) -> str:
    said = OUTCOMES[outcome(row)]
    if row.epochs_to_1pct is not None and not row.diverged:
        said = f"within 1% at epoch {row.epochs_to_1pct:,}"
    # a name is text: Plotly would read <b>, <a href> … in it
    return f"{html.escape(label)}<br>η {row.step_size:.4g}<br>{said}"


def _students(x, y, rows, labels, **style) -> dict:
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [float(v) for v in x],
        "y": [float(v) for v in y],
        "customdata": [["student", row.id] for row in rows],
        "hovertext": [_hover(row, labels[row.id]) for row in rows],
        "hovertemplate": "%{hovertext}<extra></extra>",
        "showlegend": False,
        "selected": {"marker": {"opacity": 1}},
        "unselected": {"marker": {"opacity": 1}},
        **style,
    }


# STUDENTS_LAST: Plotly gives the hover (and the click) to the nearest point, counting a point
# under the mouse as nearer the smaller its marker (distance 0 at a radius of 3 px or less), and
# on a tie to the later trace. So each student is also a point of radius 3 px, invisible, in a
# trace after all others (targets()): a student sitting on the curve takes the click.
HIT = {"size": 6, "opacity": 0}
MARKER = {"size": 11, "color": PATH, "line": {"width": 1, "color": "white"}}
CROSS = {"size": 12, "color": PATH, "symbol": "x", "line": {"width": 1, "color": "white"}}


def targets(traces: list[dict]) -> list[dict]:
    """The students' traces as invisible points of radius 3 px, to click (STUDENTS_LAST)."""
    return [{**t, "name": f"{t['name']} (to click)", "marker": HIT} for t in traces]


def on_curve(spec: dict, rows: list[StudentRow], labels: dict[int, str]) -> dict:
    """The Explore curve with the students: their loss (upper plot; a diverged run as a cross
    along its top) and their epochs to 1% (lower plot), at their step size; the step-size
    axis from just below the smallest step a student tried (a decade below the curve's end at
    most)."""
    ran = [r for r in rows if r.step_size and r.step_size > 0 and r.diverged is not None]
    lossy = [r for r in ran if not r.diverged and r.final_loss and r.final_loss > 0]
    diverged = [r for r in ran if r.diverged]
    within = [r for r in ran if not r.diverged and r.epochs_to_1pct]
    data = [
        _students(
            [r.step_size for r in lossy],
            [r.final_loss for r in lossy],
            lossy,
            labels,
            name="students: loss",
            marker=MARKER,
        ),
        _students(
            [r.step_size for r in diverged],
            [0.96] * len(diverged),
            diverged,
            labels,
            name="students: diverged",
            yaxis="y3",
            marker=CROSS,
        ),
        _students(
            [r.step_size for r in within],
            [r.epochs_to_1pct for r in within],
            within,
            labels,
            name="students: epochs to 1%",
            xaxis="x2",
            yaxis="y2",
            marker=MARKER,
        ),
    ]
    top = {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True}
    layout = {**spec["layout"], "yaxis3": top}
    if ran:  # from a little left of the smallest step a student tried (and of the limit)
        lo, hi = layout["xaxis"]["range"]
        shown = [math.log10(r.step_size) for r in ran] + [hi - 1]
        x_range = [max(lo, min(shown) - 0.15), hi]
        for axis in ("xaxis", "xaxis2"):
            layout[axis] = {**layout[axis], "range": x_range}
    return {"data": [*spec["data"], *data, *targets(data)], "layout": layout}  # STUDENTS_LAST


def on_map(spec: dict, rows: list[StudentRow], labels: dict[int, str], beta: float) -> dict:
    """The η × β map with the students at their (η, β): a dot within 1%, a ring not yet, a
    cross diverged. `beta`: the class's, for a run that names none."""
    ran = [r for r in rows if r.step_size and r.step_size > 0 and r.diverged is not None]
    betas = [_beta(r, beta) for r in ran]
    symbols = {"within": "circle", "not_yet": "circle-open", "diverged": "x"}
    marker = {**MARKER, "symbol": [symbols[outcome(r)] for r in ran]}
    marker["line"] = {"width": 2, "color": PATH}
    data = _students(
        np.log10([r.step_size for r in ran]),
        xf.beta_y(betas),
        ran,
        labels,
        name="students",
        marker=marker,
    )
    return {"data": [*spec["data"], data, *targets([data])], "layout": spec["layout"]}


def _beta(row: StudentRow, default: float) -> float:
    try:
        beta = float((row.settings or {}).get("momentum", default))
    except ValueError:
        return default
    return min(max(beta, 0.0), 0.999) if math.isfinite(beta) else default


# --- the table: ranked by the lesson's goal ---------------------------------------------------


def table(rows: list[StudentRow], goal: str, labels: dict[int, str], base: str) -> pd.DataFrame:
    """The runs that meet the goal, best first (lrclass.results.ranked), then everyone else in
    the order they joined."""
    best = results.ranked(rows, goal)
    ranked_ids = {row.id for row in best}
    rest = [row for row in rows if row.id not in ranked_ids]
    records = [
        {
            "rank": rank,
            "student": labels[row.id],
            "step size": row.step_size,
            "epochs to 1%": row.epochs_to_1pct,
            "final loss": row.final_loss,
            "outcome": OUTCOMES.get(outcome(row), "no run yet"),
            "run": run_link(base, row) if row.settings else None,
        }
        for rank, row in [*enumerate(best, start=1), *((None, row) for row in rest)]
    ]
    columns = ["rank", "student", "step size", "epochs to 1%", "final loss", "outcome", "run"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.astype({"rank": "Int64", "epochs to 1%": "Int64"})
