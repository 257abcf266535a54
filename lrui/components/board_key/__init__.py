"""The board's key for this browser tab (board_key.js): kept in the tab's sessionStorage once the
board's link has handed it over, so a reload of the board (whose address no longer shows the
key) opens the class again. Another tab, or a link without the key, gets nothing."""

from __future__ import annotations

from .. import register

_board_key = register("lr_board_key", "board_key")


def board_key(code: str, given: str | None, *, key: str) -> str | None:
    """The key this tab keeps for the class `code` ("" if none), keeping `given` first if any;
    None until the element has answered (a rerun after it mounts)."""
    data = {"code": code, "key": given or ""}
    return _board_key(key=key, data=data, on_key_change=lambda: None).key
