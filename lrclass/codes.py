"""Class codes: short enough to read aloud, hard to guess.

A code is 6 letters from an alphabet without look-alikes (no I, L or O, which pass for 1 and 0):
23**6 ≈ 148 million codes. Typed in any case, with spaces or dashes: `normalise` reads it back.
"""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 6


def new_code() -> str:
    """A fresh random code (the store retries on the rare clash with a live class)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text: object) -> str | None:
    """The code a person typed or a link carried, upper-cased without spaces or dashes; None
    when it cannot be a code (wrong length or letters), so no look-up is wasted on it."""
    if not isinstance(text, str) or len(text) > 4 * LENGTH:
        return None
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code
