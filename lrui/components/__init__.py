"""The page's own browser elements (Streamlit components v2), one folder each: its markup,
style and script in their own files, and a typed Python wrapper that registers it once.

How they talk to each other in the browser is written down in README.md beside this file.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent


def register(name: str, element: str):
    """Register the component `name` from the files `<element>/<element>.{html,css,js}`."""
    folder = HERE / element
    html, css, js = ((folder / f"{element}.{ext}").read_text() for ext in ("html", "css", "js"))
    return st.components.v2.component(name, html=html, css=css, js=js)
