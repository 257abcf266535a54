"""The views under the title: one Plotly chart (data and line | loss curve | landscape) and the
player that animates each run in it.

The chart's figure is sent once per data (figures.chart); a new run (a new step size, say)
does not send it again. The player receives the run (figures.run, encoded once per run and
cached) and puts it into the chart in place, then plays it. Streamlit keeps a chart whose
figure is unchanged as it is, so a slider move sends only the run, and the chart is not
remounted.
"""

from __future__ import annotations

import json

import streamlit as st

import lrcore
from lrcore.settings import LOSS_SCALES, Settings

from . import figures, lessons, runs, sources
from .components.player import player
from .explain import pinned
from .explain.summary import summary_ui
from .text import label

ALT = (
    "The data with the fitted line, the loss curve and the loss landscape with the path of the run"
)
CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "filename": "gradient-descent", "scale": 2},
}


def views_ui(
    settings: Settings, data: lrcore.Dataset, run: runs.Run, source: sources.RunData
) -> None:
    """The chart and its player, the loss scale, the exclusion note and the text summary.
    `data`: the points the run fits; `source`: every point, and which are left out."""
    overlay, hold = pinned.overlay(data)  # a pinned run, faded, if any
    spec = chart_spec(
        settings.loss_scale,
        pinned.pinned_id(),
        source.key,
        sources.axis_names(settings),
        _source=source,
        _overlay=overlay,
    )
    st.plotly_chart(
        figures.Prebuilt(spec),
        key="views",
        theme=None,  # its own neutral colours
        config=CONFIG,
        alt=ALT,
        **sources.selectable(source),
    )
    with st.container(horizontal=True, vertical_alignment="bottom"):  # one block, not three
        x = source.points.x
        player(
            payload(
                run.id,
                settings.loss_scale,
                _run=run,
                _data=data,
                _hold=hold,
                _x_range=(x.min(), x.max()),
            ),
            key="player",
        )
        if lessons.shown("loss_scale", settings):
            st.segmented_control(label("loss_scale"), LOSS_SCALES, key="loss_scale", required=True)
    sources.exclusion_ui(source)  # how many points are left out, and how to bring them back
    summary_ui(data, run, lrcore.closed_form(data.x, data.y))


@st.cache_resource(show_spinner=False, max_entries=64)
def chart_spec(
    loss_scale: str,
    pinned_id: str,
    data_key: str,
    axis_titles: tuple[str, str],
    *,
    _source: sources.RunData,
    _overlay: list[dict],
) -> dict:
    """The chart for these points (data_key names them and what is left out; axis_titles
    are the data view's, a file's column names, say) and this pinned run: the same figure,
    and so the same chart on the page, for every run on them. Shared by every session
    (st.cache_resource) and frozen: read, never changed."""
    spec = figures.chart(
        _source.points.x,
        _source.points.y,
        left_out=_source.left_out,
        truth=_source.truth,
        loss_scale=loss_scale,
        overlay=_overlay,
        axis_titles=axis_titles,
    )
    return figures.frozen(spec)


@st.cache_data(show_spinner=False, max_entries=256)
def payload(
    run_id: str,
    loss_scale: str,
    *,
    _run: runs.Run,
    _data: lrcore.Dataset,
    _hold: tuple,
    _x_range: tuple[float, float],
) -> bytes:
    """What the player gets for the run `run_id` names: the run's traces, ranges and frames
    (figures.run), as JSON once per run (the page passes it on as it is)."""
    one_run = figures.run(
        _data.x,
        _data.y,
        _run.frames,
        _run.curve,
        loss_scale=loss_scale,
        run_id=run_id,
        hold=_hold,
        x_range=_x_range,
    )
    one_run.update(ms=figures.FRAME_MS, narrow=figures.narrow_layout(), path_at=figures.PATH_AT)
    return json.dumps(one_run, separators=(",", ":")).encode()
