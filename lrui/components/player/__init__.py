"""The player: play/pause, step, a scrubber over every frame, speed and the numbers at the
current epoch, beside the chart. Its script (player.js) puts each run into the chart in place
(Plotly.update and addFrames) and drives the frames (Plotly has no relative step, and its own
slider and buttons cost more to draw than the data); it plays each new run once, and stacks the
views on a phone-wide screen."""

from __future__ import annotations

from .. import register

_player = register("lr_player", "player")


def player(run: bytes, *, key: str) -> None:
    """Mount the player for one run: `run` is views.payload()'s JSON (figures.run's traces,
    layout and frames, with the frame duration and the phone layout)."""
    _player(key=key, data=run)
