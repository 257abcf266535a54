"""This browser's secret for classes (browser_token.js): made once in the browser with
crypto.getRandomValues and kept in its localStorage, so every tab of one browser profile hands
the page the same token and another browser a different one. Never part of the address."""

from __future__ import annotations

from .. import register

_browser_token = register("lr_browser_token", "browser_token")


def browser_token(*, key: str) -> str | None:
    """The browser's token once the element has handed it over (a rerun after it mounts), else
    None. Mount it only until then: it asks the browser on every mount."""
    return _browser_token(key=key, on_token_change=lambda: None).token
