"""Numbers that differ look different, in a real browser, on real data whose x is in the
thousands: Asia's GDP per head against the year (Gapminder, as plotly ships it), where the
Hessian's condition number is about 5×10¹⁰. Every run of the Explore sweep stalls at about
the same loss (they differ in its eighth digit), the fastest gd step is 1/κ below the limit,
and the slow direction's error shrinks by a factor 1 − 4×10⁻¹¹ per epoch. Screenshots go to
/tmp/numbers-shots for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly
import pytest

from lrcore.linkpoints import encode_points
from support.browser import LONG, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/numbers-shots")
GAPMINDER = Path(plotly.__file__).parent / "package_data" / "datasets" / "gapminder.csv.gz"
ERRORS = "[data-testid=stException]"
CURVE = (
    '[...document.querySelectorAll("[class*=st-key-explore_curve_] .js-plotly-plot")]'
    '.filter(el => !el.closest("[data-stale=true]") && el._fullLayout).pop()'
)
# The curve's loss axis as drawn (its title and tick labels), the loss trace's values, and
# every annotation's text and box on the page.
DRAWN = f"""(() => {{
  const gd = {CURVE};
  const ya = gd._fullLayout.yaxis;
  const loss = gd._fullData.find((t) => t.name === "loss");
  return {{
    title: ya.title.text,
    ticks: ya._vals.map((v) => ({{x: ya.type === "log" ? 10 ** v.x : v.x, text: v.text}})),
    range: ya.range,
    loss: Array.from(loss.y).filter((v) => v !== null && Number.isFinite(v)),
    notes: [...gd.querySelectorAll(".annotation")].map((el) => {{
      const r = el.getBoundingClientRect();
      return {{text: el.textContent, box: [r.left, r.top, r.right, r.bottom]}};
    }}),
  }};
}})()"""


def asia_link() -> tuple[str, np.ndarray]:
    """The query of a link that carries Asia's 396 rows of (year, GDP per head), and x."""
    table = pd.read_csv(GAPMINDER)
    asia = table[table["continent"] == "Asia"]
    x, y = asia["year"].to_numpy(float), asia["gdpPercap"].to_numpy(float)
    return f"?dataset=upload&points={encode_points(x, y)}", x


def hessian_eigenvalues(x) -> tuple[float, float]:
    """λmin, λmax of the loss's Hessian [[mean x², mean x], [mean x, 1]] (NumPy)."""
    lam = np.linalg.eigvalsh(np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]]))
    return float(lam[0]), float(lam[1])


def read(text: str) -> float:
    """A number as the page writes it (4,000; −2.5×10⁻⁷; 5.1e-07) as a float."""
    text = text.replace(",", "").replace("−", "-").replace("<sup>", "").replace("</sup>", "")
    found = re.fullmatch(r"(-?[\d.]+)(?:×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))?", text)
    if found is None:
        return float(text)
    power = found.group(2) or "⁰"
    return float(found.group(1)) * 10.0 ** int(
        power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
    )


def significant(text: str) -> int:
    """How many significant digits a tick label shows (0.98256748×10⁸: 8)."""
    mantissa = re.split("×", text.replace(",", ""))[0]
    return len(mantissa.replace("−", "").replace(".", "").lstrip("0")) or 1


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def open_explore(page, url: str, query: str) -> dict:
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(url + "/" + query + "&lesson=explore")
    wait_for_chart(page, timeout=LONG * 2)
    page.wait_for_function(f"!!({CURVE}) && ({CURVE})._fullLayout.yaxis._vals.length > 0")
    return page.evaluate(DRAWN)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.locator(".st-key-explore").screenshot(path=str(SHOTS / f"{name}-explore.png"))


def test_runs_that_stall_at_the_same_loss_are_told_apart_on_the_loss_axis(page, url):
    """The sweep's losses agree in their first 7 digits: the axis's labels are short (at most 4
    significant digits), different, and read back, with the offset the title names, to the
    values they stand at; the runs span at least two of its steps."""
    query, _ = asia_link()
    drawn = open_explore(page, url, query + "&step_size=5e-7")
    shot(page, "asia-explore")
    lo, hi = min(drawn["loss"]), max(drawn["loss"])
    assert (hi - lo) / hi < 1e-6  # the case in point: they differ from the 7th digit on
    ticks = [t for t in drawn["ticks"] if t["text"]]
    texts = [t["text"] for t in ticks]
    assert len(set(texts)) == len(texts) >= 3, texts
    assert all(significant(t) <= 4 for t in texts), texts
    found = re.fullmatch(r"loss − ([\d,.]+)", drawn["title"])
    assert found, drawn["title"]
    offset = read(found.group(1))
    for tick in ticks:
        assert offset + read(tick["text"]) == pytest.approx(tick["x"], abs=1e-9 * hi)
    inside = [t["x"] for t in ticks if lo <= t["x"] <= hi]
    assert len(inside) >= 2  # the runs' spread is at least one step of the axis
    assert page.locator(ERRORS).count() == 0


def test_the_fastest_step_and_the_limit_print_apart_and_their_labels_do_not_overlap(page, url):
    """2/(λmin+λmax) and 2/λmax differ by 1/κ (about 2×10⁻¹¹ of them): their labels and the
    caption get the digits that tell them apart, each reading back to its own value (NumPy's
    eigenvalues); no two labels on the chart overlap, with the run on screen inside the
    diverging region, by the "diverges" label."""
    query, x = asia_link()
    lam_min, lam_max = hessian_eigenvalues(x)
    fastest, limit = 2 / (lam_min + lam_max), 2 / lam_max
    for step in ("5e-7", "1.5e-6"):  # below the limit; above it, by the chart's right edge
        drawn = open_explore(page, url, query + f"&step_size={step}")
        notes = {n["text"].split(" ")[0]: n for n in drawn["notes"]}
        shown = {
            name: read(notes[name]["text"].rsplit("= ", 1)[1]) for name in ("fastest", "limit")
        }
        assert shown["fastest"] == pytest.approx(fastest, rel=1e-10)
        assert shown["limit"] == pytest.approx(limit, rel=1e-10)
        # each reads back nearer its own value than the other's: they print apart
        assert abs(shown["fastest"] - fastest) < abs(shown["fastest"] - limit)
        assert abs(shown["limit"] - limit) < abs(shown["limit"] - fastest)
        boxes = [(n["text"], n["box"]) for n in drawn["notes"]]
        for i, (text, box) in enumerate(boxes):
            for other, other_box in boxes[i + 1 :]:
                assert not overlap(box, other_box), (text, other)
        caption = page.locator(".st-key-explore [data-testid=stCaptionContainer]").first
        said = re.search(r"= (\S+), just below the limit 2/λmax = (\S+);", caption.inner_text())
        assert said and said.group(1) != said.group(2)
        shot(page, f"asia-marks-{step}")


def test_the_slow_directions_factor_is_written_as_its_distance_from_1(page, url):
    """At η = 5×10⁻⁷ the slow direction's error shrinks by 1 − η·λmin, about 1 − 4×10⁻¹¹ per
    epoch: written so, not as '1'."""
    query, x = asia_link()
    lam_min, _ = hessian_eigenvalues(x)
    page.goto(url + "/" + query + "&step_size=5e-7")
    wait_for_chart(page, timeout=LONG * 2)
    page.locator(".st-key-why summary").click()
    paragraph = page.get_by_text("shrinks by a factor")
    found = re.search(r"shrinks by a factor (1 − (\S+)) per epoch", paragraph.inner_text())
    assert found, paragraph.inner_text()
    gap = read(found.group(2))
    assert gap == pytest.approx(5e-7 * lam_min, rel=0.05)  # 2 significant digits
    assert page.locator(ERRORS).count() == 0
