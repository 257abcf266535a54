"""The page: watch linear regression learn by gradient descent.

    streamlit run app.py

A table of contents of the page, top to bottom; each section lives in lrui/. Every control is
a setting of lrcore/settings.py: its widget key, URL key and CLI flag are the setting's name,
so the address bar is always a link to exactly the run on screen.
"""

from __future__ import annotations

import streamlit as st

import lrcore
from lrcore.settings import FIELDS, Settings, bounded, from_params, to_params
from lrui import explain, explore, figures, lessons, results, runs, sidebar, sources, url, views
from lrui.explain import limit, pinned
from lrui.text import code_block, digest

INTRO = (
    "Fit a line y ≈ W·x + b to noisy points by gradient descent, as in the blog post. "
    "Each run plays by itself: the fitted line, the loss and the path over the loss "
    "landscape move together. Drag the epoch slider under the chart, or step through it. "
    "Change any setting in the sidebar; the address bar always holds a link to this run."
)

# Less room above the title than Streamlit's default, so the chart and its player fit a laptop's
# window under a lesson's prompt; on a phone, the lesson's button goes under its prompt.
PAGE_CSS = (
    "<style>[data-testid=stMainBlockContainer] { padding-top: 2.5rem; }"
    "@media (max-width: 640px) { .st-key-lesson_prompt { flex-wrap: wrap; } }"
    f"{figures.TEXT_CSS}</style>"
)


def main() -> None:
    st.set_page_config(page_title="Gradient descent, live", page_icon="📉", layout="wide")
    st.html(PAGE_CSS)
    st.title("Linear regression by gradient descent")
    top = st.container()  # the intro, or a lesson's prompt
    sources.prepare(url.settings_from_url())
    chosen = Settings(**{name: st.session_state[name] for name in FIELDS})
    settings, notes = from_params(to_params(chosen))  # fixes settings that clash, if any
    source = sources.run_data(settings)  # every point, and those the run fits
    data = source.kept
    run_settings, cut_note = bounded(runs.run_settings(settings), len(data))  # bounded work
    run_id = digest(to_params(settings), pinned.pinned_id(), source.key)
    states = runs.train(run_settings, source.key, data)
    verdict = runs.verdict(run_settings, source.key, data, states)
    run = runs.split(states, run_settings.iterations, run_id, verdict)
    views.views_ui(settings, data, run, source)  # first: the chart leaves before the sidebar
    notices = st.container(key="notices")  # under the player: the chart stays in view above
    explore.explore_ui(settings, data, source)  # every step size at once (only when open)
    explain.panels_ui(chosen, settings, data, run)  # pin and compare, why, the math, lessons
    with st.sidebar:
        sidebar.controls_ui(settings, data)
    with top:
        if not lessons.lesson_ui(settings):
            st.caption(INTRO)
    with notices:
        results.verdict_ui(verdict)
        url.link_ui(chosen)
        if notes:
            st.warning("These settings do not fit together:\n\n" + code_block(notes))
        if cut_note:
            st.info(cut_note)
        if run.last.diverged:
            st.error(limit.divergence_text(settings, data, run.last, run.frames[0]))
            limit.advice_ui(settings, data)
        elif warning := limit.warning_text(settings, data, run.last):
            st.warning(warning)
        elif limit.slow(settings, data, run.last):
            limit.advice_ui(settings, data, limit.SLOW)
        if note := limit.optimizer_note(settings, data, run.last):
            st.info(note)
    results.results_ui(chosen, run, lrcore.closed_form(data.x, data.y))


if __name__ == "__main__":  # streamlit run (and AppTest) run this file as __main__
    main()
