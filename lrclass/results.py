"""The board's figures from the store's rows: counts, the ranking by the lesson's goal, the CSV.

A run "within 1%" got within 1% of the answer (it has an epochs_to_1pct); "not yet" ran without
diverging but did not get there in its epochs; students who have not run yet are "waiting".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .store import StudentRow

ACTIVE_SECONDS = 120.0  # a student who joined or ran this recently is "active"
GOALS = ("fastest", "largest_step")  # fastest to 1%; the largest step that still converges
OUTCOME = ("final_loss", "epochs_to_1pct", "diverged", "distance")
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


class Counts(NamedTuple):
    joined: int
    active: int
    diverged: int
    within_1pct: int
    not_yet: int
    waiting: int  # joined, no run yet


def counts(rows: Sequence[StudentRow], now: float) -> Counts:
    ran = [r for r in rows if r.diverged is not None]
    return Counts(
        joined=len(rows),
        active=sum(now - r.seen <= ACTIVE_SECONDS for r in rows),
        diverged=sum(bool(r.diverged) for r in ran),
        within_1pct=sum(not r.diverged and r.epochs_to_1pct is not None for r in ran),
        not_yet=sum(not r.diverged and r.epochs_to_1pct is None for r in ran),
        waiting=len(rows) - len(ran),
    )


def ranked(rows: Iterable[StudentRow], goal: str) -> list[StudentRow]:
    """The runs that meet the goal, best first: "fastest" (fewest epochs to 1%, ties to the
    larger step) or "largest_step" (the largest step whose run did not diverge)."""
    ran = [r for r in rows if r.diverged is False and r.step_size is not None]
    if goal == "fastest":
        within = [r for r in ran if r.epochs_to_1pct is not None]
        return sorted(within, key=lambda r: (r.epochs_to_1pct, -r.step_size, r.id))
    if goal == "largest_step":
        return sorted(ran, key=lambda r: (-r.step_size, r.id))
    raise ValueError(f"goal: one of {', '.join(GOALS)}, not {goal!r}")


def to_csv(rows: Sequence[StudentRow]) -> str:
    """A row per student: name, every setting of their last run (step_size always), then the
    outcome. Text that a spreadsheet would take for a formula gets a leading '."""
    settings = dict.fromkeys(["step_size"])
    for row in rows:
        settings.update(dict.fromkeys(row.settings or {}))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", *settings, *OUTCOME])
    for row in rows:
        values = [row.name, *((row.settings or {}).get(name, "") for name in settings)]
        values += [_cell(getattr(row, name)) for name in OUTCOME]
        writer.writerow([_safe(value) for value in values])
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as the share link spells it
    return repr(value) if isinstance(value, float) else str(value)


def _safe(text: str) -> str:
    """Text as a spreadsheet should show it: a number stays a number (-0.5 is not a
    formula), anything else starting with = + - @ or a tab gets a leading '."""
    if not text.startswith(FORMULA):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text
