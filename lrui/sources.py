"""The page's data: the dataset picker, your own CSV file, and points left out of the fit.

Three settings name the data (lrcore/settings.py): `dataset` (a built-in one, or "upload"),
`points` (an upload small enough to travel in a link) and `exclude` (the points left out, by
number from 0). run_data() is the one place that turns them into the run's points. What must
outlive a rerun lives in st.session_state under the keys below: the last good file (a bad one
never replaces it) and messages for the next run.
"""

from __future__ import annotations

import gc
import threading
from typing import NamedTuple

import numpy as np
import streamlit as st

import lrcore
from lrcore.csvdata import MAX_BYTES, MAX_ROWS, CsvData, CsvError, load_csv
from lrcore.datasets import BUILTINS, load_builtin
from lrcore.linkpoints import MAX_LINK_POINTS, decode_points, encode_points
from lrcore.settings import (
    CONTROLS,
    DEFAULTS,
    FIELDS,
    MAX_EXCLUDE_CHARS,
    UPLOAD,
    Settings,
    exclude_ranges,
    exclude_text,
)

from . import figures
from .text import digest, escape

FALLBACK = DEFAULTS.dataset  # what "upload" shows while there is no file (a link's)
# st.session_state keys of this module
USER_DATA = "_user_data"  # UserData: the last good file, or the points a link carried
MESSAGES = "_data_messages"  # {place: [(kind, text)]}: shown once, on this or the next run
SHOWN = "_data_shown"  # Shown: the points as the chart draws them, for its selections
EXCLUDE_FOR = "_exclude_for"  # the data that the points left out were picked from

UPLOAD_HELP = (
    f"A text CSV file of up to {MAX_BYTES / 1e6:g} MB and {MAX_ROWS:,} rows: a header row, then "
    "numbers, separated by commas, semicolons or tabs (UTF-8 or Latin-1 text). Pick the x and "
    "y columns below it; rows missing either are left out and counted. A file of up to "
    f"{MAX_LINK_POINTS} points travels in the share link; a bigger one stays on this page."
)
SELECT_HELP = (
    "Drag a box (or lasso) over points in the data view to leave them out of the "
    "fit; do the same over left-out points (hollow) to bring them back."
)


class UserData(NamedTuple):
    """Data the user brought: a CSV file that was read, or the points a link carried."""

    data: lrcore.Dataset
    source: str  # the file's name; "" for a link's points
    points: str  # encode_points text for a link; "" when there are too many points
    key: str  # names the points: the same points from a file or a link have the same key
    raw: bytes | None  # the file, to pick other columns (None for a link's points)
    csv: CsvData | None  # how the file was read: its columns, notes and rows dropped


class RunData(NamedTuple):
    """The run's data: every point as the chart draws it, and the points the run fits."""

    points: lrcore.Dataset  # every point, in the data's order
    kept: lrcore.Dataset  # the points the run fits: all but those left out
    left_out: np.ndarray  # indices (into points) of the points left out, sorted
    key: str  # names the points and what is left out: for caches and the chart's id
    truth: tuple[float, float] | None  # (slope, intercept) the data was drawn from, if known


class Shown(NamedTuple):
    """The points as drawn, to turn a selection on the chart (indices per trace) into rows."""

    x: np.ndarray  # every point's x
    left_out: np.ndarray  # indices of the points drawn as left out


# --- the data, cached on hashable inputs ------------------------------------------------------

# A built-in dataset is read-only (lrcore.as_dataset), so every session may share one copy:
# cache_data would unpickle it at every rerun.
builtin = st.cache_resource(show_spinner=False, max_entries=64)(load_builtin)
decoded = st.cache_data(show_spinner=False, max_entries=64)(decode_points)


@st.cache_data(show_spinner=False, max_entries=8)
def read_csv(raw: bytes, x_col: str | None = None, y_col: str | None = None) -> CsvData:
    """A file read by lrcore.csvdata.load_csv (CsvError for a bad one: never cached)."""
    return load_csv(raw, x_col, y_col)


def from_file(name: str, raw: bytes, csv: CsvData) -> UserData:
    x, y = csv.data.x, csv.data.y
    points = encode_points(x, y) if len(x) <= MAX_LINK_POINTS else ""
    key = digest(points) if points else digest(x.tobytes(), y.tobytes())
    return UserData(csv.data, name, points, key, raw, csv)


def from_link(points: str) -> UserData:
    x, y = decoded(points)
    return UserData(lrcore.as_dataset(x, y, "link"), "", points, digest(points), None, None)


def builtin_of(settings: Settings) -> tuple[str, dict]:
    """The built-in dataset the settings show (the blog's for an upload without points or a
    file), and the settings it listens to."""
    user = st.session_state.get(USER_DATA)
    name = (
        FALLBACK
        if settings.dataset == UPLOAD and not settings.points and user is None
        else settings.dataset
    )
    return name, {
        p: getattr(settings, p) for p in BUILTINS[name].params
    } if name in BUILTINS else {}


def data_key(settings: Settings) -> str:
    """Names the points the settings show, without making them."""
    name, values = builtin_of(settings)
    if name != UPLOAD:
        return digest(name, values)
    return digest(settings.points) if settings.points else st.session_state[USER_DATA].key


def source(settings: Settings) -> tuple[lrcore.Dataset, tuple[float, float] | None]:
    """Every point the settings name, and the line they were drawn from if known. "upload" is
    the link's points, else the session's file, else (no file yet) the blog post's data."""
    name, values = builtin_of(settings)
    if name != UPLOAD:
        truth = (settings.slope, settings.intercept) if name == "blog" else None
        return builtin(name, **values), truth
    return (
        from_link(settings.points) if settings.points else st.session_state[USER_DATA]
    ).data, None


def axis_names(settings: Settings) -> tuple[str, str]:
    """The data view's axis titles: the x and y columns of your file when it is the data
    shown, else "x" and "y" (a built-in dataset, or a link's points without their file)."""
    user = st.session_state.get(USER_DATA)
    if (
        builtin_of(settings)[0] == UPLOAD
        and user is not None
        and user.csv is not None
        and settings.points in ("", user.points)
    ):
        return user.csv.x_col, user.csv.y_col
    return "x", "y"


def left_out_rows(exclude: str, data: lrcore.Dataset) -> tuple[np.ndarray, str | None]:
    """The indices an `exclude` setting leaves out of this data, and what was wrong with it
    (None if nothing): numbers past the data's end are ignored; an exclusion that leaves too
    little to fit a line is ignored whole."""
    ranges = exclude_ranges(exclude)
    rows = np.concatenate([np.arange(a, b + 1) for a, b in ranges] or [np.zeros(0, np.int64)])
    problem = None
    if len(rows) and rows[-1] >= len(data):
        rows = rows[rows < len(data)]
        problem = (
            f"the data has {len(data):,} points (numbered from 0), so the points left "
            f"out past {len(data) - 1:,} are ignored"
        )
    why = too_few(data.x, rows)
    if why:
        return rows[:0], f"{why}, so every point is used"
    return rows, problem


def too_few(x: np.ndarray, left_out: np.ndarray) -> str | None:
    """Why the points left after leaving out `left_out` cannot be fitted (None if they can)."""
    if len(np.unique(np.delete(x, left_out))) < 2:
        return "a line needs at least 2 points with different x left in"
    return None


def run_data(settings: Settings) -> RunData:
    """The run's data: every point the settings name, and those the run fits."""
    points, truth = source(settings)
    left_out, _ = left_out_rows(settings.exclude, points)
    keep = np.ones(len(points), bool)
    keep[left_out] = False
    kept = points if keep.all() else lrcore.as_dataset(points.x[keep], points.y[keep], points.name)
    key = digest(data_key(settings), exclude_text(left_out))
    return RunData(points, kept, left_out, key, truth)


# --- the session's settings, made to agree before a run reads them ----------------------------


def prepare(url_loaded: bool) -> None:
    """Before the run reads the settings: keep the values of the controls a run may not draw
    (a folded, hidden or unused one: a widget not drawn in a run loses its value otherwise), make
    `points` follow the dataset, and bring left-out points back when the data changes.
    url_loaded: the settings were just loaded from the URL (a link opened or edited).
    (It also has the session's memory given back once the tab has closed: watch_session_end.)"""
    watch_session_end()
    state = st.session_state
    for name in CONTROLS:
        state[name] = state[name]
    user = state.get(USER_DATA)
    if (
        url_loaded
        and state.dataset == UPLOAD
        and state.points
        and (user is None or user.points != state.points)
    ):
        state[USER_DATA] = user = from_link(state.points)
    state.points = user.points if state.dataset == UPLOAD and user is not None else ""
    key = data_key(current())
    if url_loaded:
        _, problem = left_out_rows(state.exclude, source(current())[0])
        if problem:
            say("chart", "warning", f"This link's left-out points do not fit its data: {problem}.")
    elif state.get(EXCLUDE_FOR) != key and state.exclude:
        state.exclude = ""
        say("chart", "info", "The data changed, so every point is back in the fit.")
    state[EXCLUDE_FOR] = key


def current() -> Settings:
    return Settings(**{name: st.session_state[name] for name in FIELDS})


def say(place: str, kind: str, text: str) -> None:
    """Keep a message (kind: error, warning or info) to show at `place` ("data": the sidebar,
    "chart": under the views) on this run or the next; text is Markdown written here, and
    user text in it must be escape()d."""
    st.session_state.setdefault(MESSAGES, {}).setdefault(place, []).append((kind, text))


def messages_ui(place: str) -> None:
    for kind, text in st.session_state.get(MESSAGES, {}).pop(place, []):
        getattr(st, kind)(text)


# --- memory: what a closed tab held goes back --------------------------------------------------
# Streamlit keeps a closed tab's session (its st.session_state: an uploaded file's bytes, the
# uploader's copy, the points) for server.disconnectedSessionTTL, in case the tab reconnects, and
# drops the expired ones when a later tab disconnects. A dropped session's state sits in
# reference cycles (Streamlit's own), so only a full garbage collection frees it, and the workers
# no longer run one after every rerun (runner.postScriptGC false: deploy/SCALING.md). Hence one
# full collection shortly after a tab disconnects, once Streamlit has dropped what expired.
COLLECT_AFTER = 1.0  # seconds after a disconnect: Streamlit drops expired sessions right after it
_collection: list[threading.Timer] = []  # the collection due, if any: one for a burst of closes


@st.cache_resource(scope="session", on_release=lambda _: collect_soon(), show_spinner=False)
def watch_session_end() -> bool:
    """Nothing to cache: Streamlit releases a session's resources when its tab disconnects."""
    return True


def collect_soon() -> None:
    if _collection and _collection[0].is_alive():
        return
    timer = threading.Timer(COLLECT_AFTER, gc.collect)
    timer.daemon = True
    _collection[:] = [timer]
    timer.start()


# --- the sidebar: which data ------------------------------------------------------------------


def dataset_ui(picker: bool = True) -> tuple[str, ...]:
    """The Data section's top: the dataset picker, what the data teaches (or where your data
    came from) and the uploader for your own file; without the `picker` (a link hides it),
    what the data teaches alone. Returns the settings this dataset listens to: the
    generated-data controls to show."""
    user = st.session_state.get(USER_DATA)
    name = st.session_state.dataset
    if picker:
        options = [*BUILTINS, *([UPLOAD] if user is not None or name == UPLOAD else [])]
        st.selectbox("Dataset", options, key="dataset", format_func=lambda n: title(n, user))
    if name != UPLOAD:
        st.caption(BUILTINS[name].lesson)
    elif user is None:
        st.info(
            f"This run used a file of more than {MAX_LINK_POINTS} points, too big for the "
            "link, and this server does not have it (the link was shared, or the server that "
            "had it restarted): upload the same file below again to see the same run. "
            "Until then the page shows the blog post's data."
        )
    else:
        st.caption(summary(user))
    uses = BUILTINS[name].params if name in BUILTINS else ()
    if not picker:  # and no file to pick either
        return uses
    with st.container():  # (one place whatever it holds: the expander below stays open)
        messages_ui("data")  # a file that could not be used, say
    with st.expander("Your own data (CSV file)", expanded=name == UPLOAD and user is None):
        st.file_uploader(
            "CSV file",
            type=["csv", "txt", "tsv"],
            key="upload_file",
            on_change=read_upload,
            help=UPLOAD_HELP,
            max_upload_size=MAX_BYTES // 1_000_000,
        )
        if user is not None and user.csv is not None:
            columns_ui(user)
    return uses


def title(name: str, user: UserData | None) -> str:
    if name != UPLOAD:
        return BUILTINS[name].title
    if user is None:
        return "Your own data (not loaded)"
    return f"Your data: {user.source}" if user.source else "Your data (from the link)"


def summary(user: UserData) -> str:
    """Where the points came from and what was left out, as Markdown."""
    n = len(user.data)
    text = f"{n:,} points from " + (escape(user.source) if user.source else "the link")
    if user.csv is not None and user.csv.rows_dropped:
        dropped = user.csv.rows_dropped
        text += f"; {dropped:,} row{'s' if dropped > 1 else ''} with missing values left out"
    if not user.points:
        text += (
            f". The share link holds the settings but not these points (a link carries "
            f"at most {MAX_LINK_POINTS}): whoever opens it must upload the same file"
        )
    return text + "."


def columns_ui(user: UserData) -> None:
    """The x and y pickers (the columns of numbers), and notes on how the file was read."""
    st.session_state.x_col, st.session_state.y_col = user.csv.x_col, user.csv.y_col
    # one under the other: side by side, each box had half the sidebar and cut a column's name
    st.selectbox("x column", user.csv.columns, key="x_col", on_change=pick_columns)
    st.selectbox("y column", user.csv.columns, key="y_col", on_change=pick_columns)
    for note in user.csv.notes:
        st.text(note)


def read_upload() -> None:
    """The uploader's callback: use the new file, or say why it cannot be used and keep the
    data the page had."""
    file = st.session_state.get("upload_file")
    if file is None:  # the file was removed: its data stays
        return
    raw = file.getvalue()
    try:
        csv = read_csv(raw)
    except CsvError as error:
        say(
            "data",
            "error",
            f"**{escape(file.name)} cannot be used:** {escape(error)}. The "
            "page keeps the data it had.",
        )
        return
    use(from_file(file.name, raw, csv))


def pick_columns() -> None:
    """The column pickers' callback: read the file again with the chosen columns."""
    user = st.session_state[USER_DATA]
    try:
        csv = read_csv(user.raw, st.session_state.x_col, st.session_state.y_col)
    except CsvError as error:
        say(
            "data",
            "error",
            f"**These columns cannot be used:** {escape(error)}. The page "
            "keeps the columns it had.",
        )
        return
    use(from_file(user.source, user.raw, csv))


def use(user: UserData) -> None:
    st.session_state[USER_DATA] = user
    st.session_state.dataset = UPLOAD
    st.session_state.points = user.points


def link_caption() -> str:
    """What the share link holds: everything, or the settings but not the uploaded file."""
    state = st.session_state
    user = state.get(USER_DATA)
    if state.dataset == UPLOAD and user is not None and not user.points:
        return (
            f"Share this run's settings: the link cannot carry your file's "
            f"{len(user.data):,} points (at most {MAX_LINK_POINTS}), so whoever opens "
            "it must upload the same file"
        )
    return "Share this run: the link holds every setting"


# --- the chart: leaving points out ------------------------------------------------------------


def selectable(data: RunData) -> dict:
    """st.plotly_chart's arguments for selecting points on the data view (and the points as
    drawn, remembered for the callback)."""
    st.session_state[SHOWN] = Shown(data.points.x, data.left_out)
    return {"on_select": toggle_selected, "selection_mode": ("box", "lasso")}


def toggle_selected() -> None:
    """The chart's selection callback: the selected points are left out of the fit, and
    selected left-out points come back."""
    event, shown = st.session_state.get("views"), st.session_state.get(SHOWN)
    if not event or shown is None:
        return
    exclude, why = toggled(event["selection"]["points"], shown)
    if why:
        say("chart", "warning", f"Those points stay in the fit: {why}.")
    elif exclude is not None:
        st.session_state.exclude = exclude


def toggled(points: list[dict], shown: Shown) -> tuple[str | None, str | None]:
    """The `exclude` value after selecting `points` on the chart (None: nothing selected on
    the data view), or why the selection cannot be used."""
    picked = selected_rows(points, shown)
    if not len(picked):
        return None, None
    left_out = np.setxor1d(shown.left_out, picked)
    why = too_few(shown.x, left_out)
    exclude = exclude_text(left_out)
    if why is None and len(exclude) > MAX_EXCLUDE_CHARS:
        why = (
            "a link could not hold that many scattered points left out; select fewer, or "
            "points next to each other in the data's order"
        )
    return (None, why) if why else (exclude, None)


def selected_rows(points: list[dict], shown: Shown) -> np.ndarray:
    """The rows of the points selected on the data view (other views' points are ignored)."""
    traces = {
        figures.DATA_TRACE: np.delete(np.arange(len(shown.x)), shown.left_out),
        figures.LEFT_OUT_TRACE: shown.left_out,
    }
    rows = []
    for point in points:
        rows_of_trace = traces.get(point.get("curve_number"))
        index = point.get("point_index")
        if rows_of_trace is not None and isinstance(index, int) and 0 <= index < len(rows_of_trace):
            rows.append(rows_of_trace[index])
    return np.unique(np.array(rows, dtype=np.int64))


def exclusion_ui(data: RunData) -> None:
    """Under the chart: how many points are left out, how to change that, and a button that
    brings them all back."""
    messages_ui("chart")
    n, out = len(data.points), len(data.left_out)
    if not out:
        st.caption(SELECT_HELP)
        return
    text, button = st.columns([5, 1], vertical_alignment="center")
    text.caption(
        f"**{out:,} of {n:,} points are left out** (hollow grey): the run fits the "
        f"other {n - out:,}. Select left-out points again to bring them back."
    )
    button.button("Bring all back", key="bring_back", on_click=bring_back, width="stretch")


def bring_back() -> None:
    st.session_state.exclude = ""
