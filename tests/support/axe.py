"""axe-core in a Playwright page: inject the pinned axe-core (package.json, installed by `npm ci`
into node_modules) and list the serious and critical violations it finds, in words a failing
assertion can show.

    found = serious_violations(page)
    assert not found, summary(found)
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
# rules of lesser impact that the page still must not break (found on it once: issue 11)
ALSO = ("heading-order", "empty-table-header")

# Each violation: its rule, impact and the nodes it was found on, with their selectors and, for
# color-contrast, the ratio axe measured (in check data; null when axe could not measure it).
RUN = """async (exclude) => {
  const context = exclude.length ? {exclude: exclude.map((s) => [s])} : document;
  const found = await axe.run(context, {resultTypes: ["violations"]});
  return found.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({
      impact: n.impact,
      target: n.target.map(String),
      html: n.html.slice(0, 160),
      data: [...n.any, ...n.all, ...n.none].map((c) => c.data).find((d) => d && d.contrastRatio)
        ?? null,
    })),
  }));
}"""


def inject(page) -> None:
    """Put axe-core into the page (once: it stays until the page navigates)."""
    if not AXE.is_file():
        raise AssertionError(
            f"axe-core is not installed ({AXE} is missing): run `npm ci` in {ROOT} "
            "(`make test` does it first)"
        )
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))


def violations(page, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Every axe violation on the page as it is now, outside the `exclude` selectors."""
    inject(page)
    return page.evaluate(RUN, list(exclude))


def serious_violations(page, exclude: tuple[str, ...] = ()) -> list[dict]:
    """The violations whose impact is serious or critical, and those of the rules in ALSO."""
    return [v for v in violations(page, exclude) if v["impact"] in SERIOUS or v["id"] in ALSO]


def summary(found: list[dict]) -> str:
    """One line per violation and one per node: rule, impact, selectors, and for color-contrast
    the measured ratio against the one required, with the two colours."""
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            where = " > ".join(node["target"])
            d = node["data"]
            ratio = (
                f" contrast {d['contrastRatio']} < {d['expectedContrastRatio']}"
                f" ({d['fgColor']} on {d['bgColor']}, {d['fontSize']} {d['fontWeight']})"
                if d
                else ""
            )
            lines.append(f"  - {where}{ratio}: {node['html']}")
    return "\n".join(lines)
