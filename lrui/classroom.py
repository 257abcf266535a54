"""A class on the page: the store every worker shares, and "Start a class" for the teacher.

The store (lrclass.Store) is one per process and database (st.cache_resource), at $LR_CLASS_DB
or lrclass's default SQLite file. "Start a class" (in Lessons for teachers) makes a class whose
starting run is the settings on screen and shows its code, the students' link (`?class=CODE`
with those settings; as a QR code too) and the board's link (`?board=CODE&key=KEY`). The key is
in the board's link only: the store keeps its hash, and this session the link, no one else.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping

import streamlit as st

from lrclass import Store, StoreUnavailable
from lrclass.store import ENV
from lrcore.settings import Settings, to_params

from .address import qr_ui, reachable_base

STARTED = "_class_started"  # st.session_state: (code, key, settings) of the class started here
START_ERROR = "_class_start_error"  # st.session_state: why the last start failed, once
UNREACHABLE = "The class store cannot be reached right now: try again in a moment."


@st.cache_resource(show_spinner=False)
def _store(url: str | None) -> Store:
    return Store(url)


def store() -> Store:
    """The class store of this process (one per LR_CLASS_DB URL, else lrclass's default)."""
    return _store(os.environ.get(ENV) or None)


def client() -> str:
    """Who asks, for the store's count of failed look-ups: the connection's address ("" on
    this computer, or where Streamlit knows none)."""
    address = st.context.ip_address
    return address if isinstance(address, str) else ""


def students_link(base: str, code: str, settings: Mapping[str, str]) -> str:
    """The link students open: the class's code, then its starting settings (never the key)."""
    return base + "?" + urllib.parse.urlencode({"class": code, **settings})


def board_link(base: str, code: str, key: str) -> str:
    """The teacher's link to the class's board; its key is the secret that opens it."""
    return base + "?" + urllib.parse.urlencode({"board": code, "key": key})


def _start(settings: dict[str, str]) -> None:
    try:
        st.session_state[STARTED] = (*store().create_class(settings), settings)
    except StoreUnavailable:
        st.session_state[START_ERROR] = UNREACHABLE
    except ValueError as error:  # settings the store will not keep (a link too long)
        st.session_state[START_ERROR] = f"This run cannot start a class: {error}."


def start_ui(chosen: Settings) -> None:
    """The "Start a class" button, and once pressed the class's code and links."""
    started = st.session_state.get(STARTED)
    st.button(
        "Start another class" if started else "Start a class",
        key="start_class",
        on_click=_start,
        args=(to_params(chosen),),
        help="A class starts from the run on screen; its board shows every student's run live",
    )
    if error := st.session_state.pop(START_ERROR, None):
        st.warning(error)
    if not started:
        st.caption(
            "A class starts from the run on screen (with its lesson): students open one link, "
            "and your board shows each student's run as they work."
        )
        return
    code, key, settings = started
    base, _ = reachable_base()
    students = students_link(base, code, settings)
    st.metric("Class code", code, help="Six letters to read aloud, in any case")
    st.markdown(f"Students open **[this link]({students})**:")
    st.code(students, language=None, wrap_lines=True)
    qr_ui(students, key="class_qr")
    board = board_link(base, code, key)
    st.markdown(f"Your board: **[open the board]({board})**")
    st.code(board, language=None, wrap_lines=True)
    st.caption(
        "Keep the board's link to yourself: it holds the class's key, which is shown only "
        "here. The board takes it out of the address bar once it has read it, so you can "
        "project the board."
    )
