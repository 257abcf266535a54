"""Reading the page as AppTest sees it: the chart, the run the player puts into it, the result
table and the training log. No tests live here; tests/test_app*.py share these.

The chart (st.plotly_chart) is drawn once per data; each run reaches the browser through the
player (a components-v2 element, its data JSON bytes), which puts it into the chart. The figure
a student sees is figures.combine(chart, run): figure_of() below.
"""

from __future__ import annotations

import json

import numpy as np
from streamlit.testing.v1 import AppTest

from lrui import figures


def chart_of(at: AppTest) -> dict:
    """The chart's figure as sent: the data, the axes, a pinned run, placeholders for a run."""
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def component_of(at: AppTest, key: str) -> dict | None:
    """The data of the components-v2 element with this key (JSON, or JSON bytes)."""
    found = [c.proto for c in at.get("bidi_component") if c.proto.id.endswith(f"-{key}")]
    if not found:
        return None
    return json.loads(found[0].json or found[0].bytes)


def player_of(at: AppTest) -> dict:
    """The run as the player gets it (figures.run, plus the frame duration and phone layout)."""
    return component_of(at, "player")


def figure_of(at: AppTest) -> dict:
    """The whole figure the browser draws once the player has put the run in."""
    return figures.combine(chart_of(at), player_of(at))


def markdown_table(text: str) -> list[list[str]]:
    """The cells of a Markdown table's body rows."""
    rows = [line.strip().strip("|").split("|") for line in text.splitlines()[2:]]
    return [[cell.strip() for cell in row] for row in rows]


def log_of(at: AppTest) -> np.ndarray:
    """The training log (epoch, W, b, loss, dW, db) as shown, every number in full."""
    tables = [m.value for m in at.markdown if m.value.startswith("| epoch | W | b | loss |")]
    assert len(tables) == 1, f"{len(tables)} logs on the page"
    return np.array(markdown_table(tables[0]), dtype=float)


def results_of(at: AppTest) -> dict[str, dict[str, float | None]]:
    """The result table: its rows ("this run", "least squares", "run − least squares") by
    name (without the epoch), each W, b, loss, dW, db (None where empty); plus "fit": R² and
    RMSE from the caption under it."""
    tables = [m.value for m in at.markdown if m.value.startswith("| run | W | b | loss |")]
    assert len(tables) == 1, f"{len(tables)} result tables on the page"
    out = {}
    for name, *cells in markdown_table(tables[0]):
        values = [number_of(c) if c else None for c in cells]
        out[name.split(",")[0]] = dict(zip(("W", "b", "loss", "dW", "db"), values, strict=True))
    caption = next(c.value for c in at.caption if c.value.startswith("Least squares: R² = "))
    r2, rmse = caption.removeprefix("Least squares: R² = ").rstrip(".").split(", RMSE = ")
    out["fit"] = {"R²": number_of(r2), "RMSE": number_of(rmse)}
    return out


def number_of(text: str) -> float:
    """A number as the page writes it for people (−1,234.5; 1.2×10⁻⁷) read back."""
    mantissa, _, power = text.replace("−", "-").replace(",", "").partition("×10")
    exponent = power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))
    return float(f"{mantissa}e{exponent or 0}")


def widget_keys(at: AppTest) -> set[str]:
    """The keys of every widget on the page (its id is "$$ID-<hash>-<key>")."""

    def walk(node):
        element_id = getattr(getattr(node, "proto", None), "id", "")
        if isinstance(element_id, str) and element_id.startswith("$$ID-"):
            yield element_id.split("-", 2)[2]
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return set(walk(at._tree))


def block_of(at: AppTest, key: str):
    """The container st.container(key=key) made (its id is "$$ID-<hash>-<key>"), or None."""

    def walk(node):
        if type(node).__name__ == "Block" and str(getattr(node.proto, "id", "")).endswith(
            f"-{key}"
        ):
            return node
        for child in getattr(node, "children", {}).values():
            found = walk(child)
            if found is not None:
                return found
        return None

    return walk(at._tree)
