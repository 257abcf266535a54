"""Every optimizer side by side in a real browser (issue 22, point 4): one button draws five
runs over the run on screen, each in its own colour and dash, on a log loss view, with a table.
Screenshots go to /tmp/compare-shots for a person to look at."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from playwright.sync_api import expect

import lrcore
from lrcore import settings as cfg
from lrcore.explain import CONVERGED, verdict
from lrui import runs
from support.browser import LIVE_CHART, LONG, wait_for_chart

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/compare-shots")
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "sgd")

# The side by side's path traces as drawn (legend group "optimizers"), by name.
PATHS = f"""(() => {{
  const gd = {LIVE_CHART};
  if (!gd || !gd._fullData) return null;
  const paths = gd._fullData.filter((t) => t.legendgroup === "optimizers" &&
    t.visible === true && t.name.endsWith(": path"));
  return {{
    log: gd._fullLayout.yaxis2.type === "log",
    paths: Object.fromEntries(paths.map((t) => [t.name, {{
      color: t.line.color, dash: t.line.dash, axes: t.xaxis + t.yaxis,
      x: Array.from(t.x), y: Array.from(t.y)}}])),
  }};
}})()"""


def expected(settings: cfg.Settings, data) -> dict:
    """What lrcore says of one optimizer's run: final loss, diverged, epochs to 1%."""
    s, _ = cfg.bounded(settings, len(data.x))
    args = cfg.train_args(s)
    states = list(lrcore.train(data.x, data.y, **args, at=runs.epochs(s.iterations)))
    del args["iterations"]
    v = verdict(data.x, data.y, states, **args)
    return {
        "last": states[-1],
        "epochs": v.epoch if v.outcome == CONVERGED else None,
    }


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".st-key-views").screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize(
    "query, settings",
    [
        ("", cfg.DEFAULTS),
        (
            "?standardize=true&step_size=0.05&iterations=3000",
            cfg.DEFAULTS.replace(standardize=True, step_size=0.05, iterations=3000),
        ),
    ],
    ids=["blog", "standardized"],
)
def test_every_optimizer_button_draws_five_paths_and_a_table(page, url, query, settings):
    page.goto(url + "/" + query)
    wait_for_chart(page, timeout=LONG * 2)
    page.locator(".st-key-every button:visible").click()
    page.wait_for_function(
        f"(() => {{ const s = {PATHS}; return s && Object.keys(s.paths).length === 5; }})()",
        timeout=LONG * 2,
    )
    drawn = page.evaluate(PATHS)
    assert drawn["log"]
    paths = drawn["paths"]
    assert sorted(paths) == sorted(f"{name}: path" for name in OPTIMIZERS)
    assert {p["axes"] for p in paths.values()} == {"x3y3"}  # on the landscape
    assert len({(p["color"], p["dash"]) for p in paths.values()}) == 5
    assert len({p["color"] for p in paths.values()}) == 5
    data = lrcore.make_data()
    runs_ = {name: expected(settings.replace(optimizer=name), data) for name in OPTIMIZERS}
    for name, run in runs_.items():
        last, path = run["last"], paths[f"{name}: path"]
        if math.isfinite(last.loss) and last.loss <= 10 * path_start_loss(data, settings):
            assert path["x"][-1] == pytest.approx(last.w, rel=1e-6)
            assert path["y"][-1] == pytest.approx(last.b, rel=1e-6, abs=1e-3)
    # the table, as its CSV download gives it
    table = page.locator("[data-testid=stDataFrame]").first
    expect(table).to_be_visible(timeout=LONG)
    with page.expect_download() as download:
        page.locator(".st-key-download_comparison button:visible").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["optimizer"] for row in rows] == list(OPTIMIZERS)
    for row in rows:
        run = runs_[row["optimizer"]]
        epochs = row.get("epochs to 1%") or row.get("epochs to 1% (charted)") or None
        assert (int(epochs) if epochs else None) == run["epochs"], row
        assert float(row["final loss"]) == pytest.approx(run["last"].loss, rel=1e-12)
        assert (row["diverged"] == "True") == run["last"].diverged
    page.wait_for_timeout(6000)  # the run on screen plays to its end before the picture
    shot(page, "every-" + ("standardized" if settings.standardize else "blog"))
    assert page.locator(ERRORS).count() == 0


def path_start_loss(data, settings: cfg.Settings) -> float:
    """The loss at the start (W0, b0), which bounds what the overlay draws (10x it)."""
    return 0.5 * float(((settings.w0 * data.x + settings.b0 - data.y) ** 2).mean())
