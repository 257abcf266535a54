"""A marker that follows the player on a chart of its own: every frame's marker positions and
readout come with the page once per run; the script (frame_marker.js) moves the chart's marker
traces to the frame the player announces (window event "lr-frame") with Plotly.restyle, and
shows that frame's readout, with no rerun."""

from __future__ import annotations

from .. import register

_frame_marker = register("lr_marker", "frame_marker")


def frame_marker(marks: bytes, *, key: str) -> None:
    """Mount the marker: `marks` is JSON, {"run": run id, "chart": the st.plotly_chart's key,
    "uids": the marker traces' uids, "x": [frame i's x], "y": [[frame i's y] per trace],
    "readouts": [frame i's text]} (None in x or y: no place on the axes, the marker hides).
    It moves the markers of the chart whose layout.meta is the same run id."""
    _frame_marker(key=key, data=marks)
