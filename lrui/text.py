"""Words and numbers as the page writes them: a setting's label, a number as a person reads it
(and a line's equation), a run's settings in a few words, user text shown as itself, and the
short ids of caches."""

from __future__ import annotations

import hashlib
import math

import numpy as np

from lrcore.optim import WITH_MOMENTUM
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


MINUS = "\u2212"  # the minus sign (−), not the hyphen
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
NOISE = 1e-9  # float64 holds about 16 digits: 9 digits below the data's scale is rounding noise


def number(v: float, sig: int = 4) -> str:
    """v as people write it: `sig` significant digits without trailing zeros, thousands
    separated, a true minus sign, and powers of ten when very large or small: 4,000; −585.65;
    0.0006008; 1.235×10¹²."""
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("∞" if v > 0 else MINUS + "∞")
    if v == 0:
        return "0"
    v = float(f"{v:.{sig}g}")
    mag = math.floor(math.log10(abs(v)))
    if mag >= 12 or mag < -5:
        mantissa = _trim(f"{abs(v) / 10.0**mag:.{sig - 1}f}")
        text = f"{mantissa}×10{str(mag).translate(SUPERSCRIPT)}"
    else:
        text = _trim(f"{abs(v):,.{max(0, sig - 1 - mag)}f}")
    return (MINUS if v < 0 else "") + text


def factor(v: float, sig: int = 4) -> str:
    """A factor as people can tell it from 1: fmt(v, sig) when that already does (0.9500,
    1.040), else 1 and how far from it, to 2 significant digits: 0.9999997 is '1 − 3×10⁻⁷',
    1.0000002 '1 + 2×10⁻⁷' (both would print as 1.000)."""
    shown = fmt(v, sig)
    if not math.isfinite(v) or v == 1 or float(shown.replace(",", "")) != 1:
        return shown
    gap = float(f"{abs(1 - v):.2g}")  # exact: 1 − v loses no digit for v this near 1
    mag = math.floor(math.log10(gap))
    power = f"{_trim(f'{gap / 10.0**mag:.1f}')}×10{str(mag).translate(SUPERSCRIPT)}"
    return f"1 {MINUS if v < 1 else '+'} {power}"


def apart(a: float, b: float, least: int = 4) -> int:
    """The fewest significant digits (at least `least`) at which fmt() and number() write a and
    b differently: 4 for 0.0006008 and 0.0006026, 11 for two steps 1/κ = 2×10⁻¹¹ apart. 17
    tell any two different floats apart; equal ones get `least`."""
    return next(
        (sig for sig in range(least, 17) if f"{a:.{sig}g}" != f"{b:.{sig}g}"),
        17 if a != b else least,
    )


def _trim(digits: str) -> str:
    """A decimal number without trailing zeros after its point (4,000.50 -> 4,000.5)."""
    return digits.rstrip("0").rstrip(".") if "." in digits else digits


def equation(w: float, b: float, sig: int = 4, b_sig: int = 5) -> str:
    """The line y = w·x + b as people write it: 'y = 0.326x − 585.65', 'y = 50x + 4,000'
    (w to `sig` significant digits, b to `b_sig`)."""
    sign = MINUS if number(b, b_sig).startswith(MINUS) else "+"
    return f"y = {number(w, sig)}x {sign} {number(b, b_sig).removeprefix(MINUS)}"


def zeroed(v: float, scale: float) -> float:
    """v, or 0.0 when it is zero up to rounding beside `scale`, the size of the numbers it is
    computed from (|v| ≤ NOISE·scale): a start of 0 that the arithmetic left at 1.1369e-13
    beside numbers in the thousands. Real small numbers, far above that, stay as they are."""
    return 0.0 if math.isfinite(scale) and abs(v) <= NOISE * abs(scale) else v


def scales(x, y) -> dict[str, float]:
    """The size of the data in each quantity's units, for zeroed(): b and db in y's (the
    largest |y|), W in y's per x's, dW in their product; the loss is a square of y's, so
    its rounding noise is NOISE² of y² (its scale here is NOISE·y²)."""
    x_size, y_size = float(np.max(np.abs(x))), float(np.max(np.abs(y)))
    return {
        "w": y_size / x_size if x_size else y_size,
        "b": y_size,
        "loss": NOISE * y_size * y_size,
        "dw": x_size * y_size,
        "db": y_size,
    }


def words(settings: Settings) -> str:
    """A run's settings in a few words: 'gd, η = 0.0005, raw x, 50,000 epochs'."""
    parts = [settings.optimizer, f"η = {settings.step_size:g}"]
    if settings.optimizer in WITH_MOMENTUM:
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


# hash_funcs for a st.cache_* function that takes Settings: a frozen dataclass, hashed by its
# repr (every field, floats exactly). Streamlit's own hashing of a dataclass costs about half a
# millisecond at every call; its repr a fiftieth of that.
BY_REPR = {Settings: repr}
