"""Settings <-> the address bar: the URL is always a link to exactly the run on screen.

settings_from_url() loads an address's settings into the widgets when the address comes from
outside the page (a link opened, an address edited by hand, the browser's back or forward
button); link_ui() writes the widgets' settings back. Parsing and clamping live in
lrcore.settings (from_params, to_params): one table.

The browser sends its address with every rerun it asks for, and that address can be late: a
key press that lands while a run is in flight asks for the next run before the browser has the
address the run in flight writes, so the next run sees the address before it. An address the
page itself wrote (or loaded) in this session is therefore never read as an edit: the widgets
hold the newer settings, and they win. Only an address the page never wrote, or the back and
forward buttons, load into the widgets.

An address may also carry keys that are not settings (PAGE_KEYS: `class`, the class a student
is in): the page keeps them as the address brought them and writes them back with the
settings, until a module drops one (`drop`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lrcore.settings import FIELDS, Settings, from_params, to_params

from . import lessons
from .address import reachable_base
from .text import code_block

# st.session_state keys of this module
OWN = "_url_own"  # {address: None}: the addresses this session wrote or loaded, oldest first
WROTE = "_url_wrote"  # the address the page last sent to the browser
LOADED = "_loaded"  # (settings, notes): what the address last loaded gave, and what it lacked
PAGE = "_url_page"  # {key: value}: the address's keys that are not settings, as loaded
KEEP = 100  # addresses remembered (a late one is one or two writes old; back/forward is flagged)
PAGE_KEYS = ("class",)  # an address's keys that are not settings (student.py's class code)


def settings_from_url() -> bool:
    """When the address comes from outside the page (this session's first run, an address the
    page never wrote, back or forward), load its settings into the widgets, nearest valid
    values for bad ones, and note what changed. True if it did."""
    params = st.query_params.to_dict()
    own = st.session_state.get(OWN)
    if own is not None and _address(params) in own and not _back_or_forward():
        return False  # the page's own address, maybe late: the widgets are newer
    st.session_state[PAGE] = {k: params[k] for k in PAGE_KEYS if k in params}
    loaded, notes = from_params(lessons.with_lesson(_settings_only(params)))
    for name in FIELDS:
        st.session_state[name] = getattr(loaded, name)
    st.session_state[LOADED] = loaded, notes
    _remember(params)
    return True


def link_ui(chosen: Settings) -> None:
    """Write the settings to the URL, and say once what a hand-edited link had wrong."""
    params = {**st.session_state.get(PAGE, {}), **to_params(chosen)}
    # The address this run got may be late: the browser ends on what the page wrote last.
    if st.query_params.to_dict() != params or st.session_state.get(WROTE) != params:
        st.query_params.from_dict(params)
        st.session_state[WROTE] = params
    _remember(params)
    loaded, notes = st.session_state[LOADED]
    if notes and chosen == loaded:
        st.warning(
            "This link had settings that could not be used as they were, so the nearest "
            "valid ones are loaded:\n\n" + code_block(notes)
        )


def page_value(key: str) -> str | None:
    """The value of a PAGE_KEYS key the address brought (None if none, or dropped)."""
    return st.session_state.get(PAGE, {}).get(key)


def drop(key: str) -> None:
    """Leave a PAGE_KEYS key out of the address from this run on."""
    st.session_state.get(PAGE, {}).pop(key, None)


def share_link(settings: Settings) -> str:
    """The link to this run, at the address other computers reach the page at."""
    base, _ = reachable_base()
    return base + "?" + urllib.parse.urlencode(to_params(settings))


def _address(params: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A query as a key: the same settings in any order are the same address."""
    return tuple(sorted(params.items()))


def _settings_only(params: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in PAGE_KEYS}


def _remember(params: Mapping[str, str]) -> None:
    own = st.session_state.setdefault(OWN, {})
    own.pop(_address(params), None)
    own[_address(params)] = None  # newest last
    while len(own) > KEEP:
        del own[next(iter(own))]


def _back_or_forward() -> bool:
    """Whether the browser's back or forward button started this run. Streamlit marks such a
    run on its script-run context; without the mark (another Streamlit) the page keeps its
    widgets and writes their address back, which never loses a setting."""
    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))
