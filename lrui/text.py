"""Words and numbers as the page writes them: a setting's label, a number as a person reads it,
a run's settings in a few words, user text shown as itself, and the short ids of caches."""

from __future__ import annotations

import hashlib
import math

from lrcore.settings import FIELDS, Settings


def label(name: str) -> str:
    """A setting's label on the page: its help text, capitalised ("Step size (learning rate)")."""
    text = FIELDS[name].metadata["help"]
    return text[:1].upper() + text[1:]


def fmt(v: float, sig: int = 4) -> str:
    """v to `sig` significant digits with thousands separated (9,527,000; 0.0006008), and in
    powers of ten when very large or small."""
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("∞" if v > 0 else "-∞")
    if v == 0:
        return "0"
    v = float(f"{v:.{sig}g}")
    mag = math.floor(math.log10(abs(v)))
    if mag >= 12 or mag < -5:
        return f"{v:.{sig - 1}e}"
    return f"{v:,.{max(0, sig - 1 - mag)}f}"


def words(settings: Settings) -> str:
    """A run's settings in a few words: 'gd, η = 0.0005, raw x, 50,000 epochs'."""
    parts = [settings.optimizer, f"η = {settings.step_size:g}"]
    if settings.optimizer in ("momentum", "nesterov"):
        parts.append(f"β = {settings.momentum:g}")
    if settings.optimizer == "sgd":
        parts.append(f"batch {settings.batch_size}")
    parts += [
        "standardized x" if settings.standardize else "raw x",
        f"{settings.iterations:,} epochs",
    ]
    return ", ".join(parts)


def code_block(lines: list[str], width: int = 160) -> str:
    """Lines as a Markdown code block, so whatever a link holds shows as plain text."""
    text = "\n".join(line if len(line) <= width else line[:width] + "…" for line in lines)
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}"


PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def escape(text) -> str:
    """User text (a file or column name) shown as itself in Markdown: every ASCII punctuation
    mark backslash-escaped, so no Markdown, HTML, colour, emoji or maths syntax applies."""
    return "".join("\\" + c if c in PUNCTUATION else c for c in str(text))


def digest(*parts) -> str:
    """A short id of the parts (bytes as they are, anything else by its repr): for caches and
    the ids of runs and data."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
    return h.hexdigest()[:16]
