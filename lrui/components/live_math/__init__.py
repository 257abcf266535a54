"""The live math: the update at the player's epoch, written out with its numbers. Every frame's
lines come with the page once per run; the script (live_math.js) shows those of the frame the
player announces (window event "lr-frame"), with no rerun."""

from __future__ import annotations

from .. import register

_live_math = register("lr_math", "live_math")


def live_math(lines: bytes, *, key: str) -> None:
    """Mount the panel: `lines` is explain.update.live_payload()'s JSON,
    {"run": run id, "frames": [[heading, line, ...] for each frame]}."""
    _live_math(key=key, data=lines)
