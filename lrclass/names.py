"""Students' names: generated ("Blue Heron") when they join, then theirs to change.

A generated name is drawn from two word lists by a generator seeded with a secret (the hash of
the student's browser token), so it says nothing about anyone and a rejoin draws the same
sequence. A chosen name is plain text: `clean` drops control and format characters (newlines,
right-to-left overrides), squeezes runs of white space and keeps at most MAX_NAME characters.
It is stored as given; the page shows it as text, never as Markdown or HTML.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Collection

MAX_NAME = 24

COLOURS = (
    "Amber", "Azure", "Black", "Blue", "Bronze", "Brown", "Coral", "Crimson", "Cyan", "Gold",
    "Green", "Grey", "Indigo", "Ivory", "Jade", "Lemon", "Lilac", "Lime", "Maroon", "Mint",
    "Navy", "Ochre", "Olive", "Orange", "Pearl", "Pink", "Plum", "Purple", "Red", "Ruby",
    "Rust", "Sage", "Sand", "Scarlet", "Silver", "Slate", "Teal", "Violet", "White", "Yellow",
)  # fmt: skip
ANIMALS = (
    "Badger", "Bat", "Bear", "Beaver", "Bison", "Crane", "Crow", "Deer", "Dolphin", "Eagle",
    "Falcon", "Ferret", "Finch", "Fox", "Gecko", "Goose", "Hare", "Hawk", "Heron", "Ibis",
    "Koala", "Lark", "Lemur", "Lion", "Lynx", "Marten", "Mole", "Moose", "Newt", "Otter",
    "Owl", "Panda", "Puffin", "Raven", "Robin", "Seal", "Stork", "Swan", "Tiger", "Wren",
)  # fmt: skip


def generated(seed: str, taken: Collection[str] = ()) -> str:
    """The first name of the sequence seeded by `seed` that is not already taken (1,600 names;
    after 64 draws a taken one is allowed, so a full class still gets a name)."""
    rng = random.Random(seed)
    for _ in range(64):
        name = f"{rng.choice(COLOURS)} {rng.choice(ANIMALS)}"
        if name not in taken:
            break
    return name


def clean(text: str) -> str:
    """A chosen name as stored: no control or format characters, white space squeezed, at most
    MAX_NAME characters ("" when nothing is left)."""
    kept = "".join(" " if c.isspace() else c for c in text if c.isspace() or _printable(c))
    return " ".join(kept.split())[:MAX_NAME].strip()


def _printable(c: str) -> bool:
    return not unicodedata.category(c).startswith("C")  # Cc, Cf, Cs, Co, Cn
