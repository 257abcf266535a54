"""Settings <-> the address bar: the URL is always a link to exactly the run on screen.

settings_from_url() loads a link's settings into the widgets when the URL is new to the
session (a link opened, or an address edited by hand); link_ui() writes the widgets' settings
back. Parsing and clamping live in lrcore.settings (from_params, to_params): one table.
"""

from __future__ import annotations

import urllib.parse

import streamlit as st

from lrcore.settings import FIELDS, Settings, from_params, to_params

from . import lessons
from .text import code_block


def settings_from_url() -> bool:
    """When the URL is new to this session (its first run, or an address edited by hand), load
    its settings into the widgets, nearest valid values for bad ones, and note what changed.
    True if it did."""
    params = st.query_params.to_dict()
    if st.session_state.get("_url") == params:
        return False
    loaded, notes = from_params(lessons.with_lesson(params))
    for name in FIELDS:
        st.session_state[name] = getattr(loaded, name)
    st.session_state["_url"] = params
    st.session_state["_loaded"] = loaded, notes
    return True


def link_ui(chosen: Settings) -> None:
    """Write the settings to the URL, and say once what a hand-edited link had wrong."""
    params = to_params(chosen)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    st.session_state["_url"] = params
    loaded, notes = st.session_state["_loaded"]
    if notes and chosen == loaded:
        st.warning(
            "This link had settings that could not be used as they were, so the nearest "
            "valid ones are loaded:\n\n" + code_block(notes)
        )


def share_link(settings: Settings) -> str:
    base = (st.context.url or "").split("?")[0]
    return base + "?" + urllib.parse.urlencode(to_params(settings))
