"""A small dataset packed into a share link, exactly: the `points` setting of a link.

    >>> from lrcore.linkpoints import decode_points, encode_points
    >>> x, y = decode_points(encode_points([1.0, 2.0, 3.5], [0.1, -2.0, 7.0]))

The text is the float64 values, zlib-compressed, in unpadded URL-safe base64 after a version
prefix: a link carries the user's points to the last digit. Anything else raises CsvError with
one sentence for a person.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

import numpy as np

from .csvdata import _MAX_ABS_TEXT, MAX_ABS, CsvError, _spread_ok
from .data import DataError, as_dataset

# A share link carries the points themselves: 16 bytes each, about 11,000 URL characters at
# most for 500 points, well inside what browsers and Streamlit's server accept in a URL.
MAX_LINK_POINTS = 500
_LINK_PREFIX = "v1."  # format version of encode_points; "." is not in the base64 alphabet
_LINK_MAX_CHARS = 4 * (16 * MAX_LINK_POINTS + 64) // 3 + 8  # zlib never grows data much more


def encode_points(x, y) -> str:
    """x, y (at most MAX_LINK_POINTS points) as URL-safe text: the exact float64 values,
    zlib-compressed, in unpadded URL-safe base64 after a version prefix."""
    x, y = _link_points(x, y)
    packed = zlib.compress(np.concatenate([x, y]).astype("<f8").tobytes(), 9)
    return _LINK_PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_points(text) -> tuple[np.ndarray, np.ndarray]:
    """The exact x, y that encode_points wrote; CsvError for anything else."""
    damaged = CsvError("the data in this link is damaged or was edited; upload the file again")
    if not isinstance(text, str) or not text.startswith(_LINK_PREFIX):
        raise damaged
    body = text[len(_LINK_PREFIX) :]
    if len(body) > _LINK_MAX_CHARS:
        raise CsvError(f"the data in this link is longer than {MAX_LINK_POINTS} points allow")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", body):
        raise damaged
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflate = zlib.decompressobj()
        raw = inflate.decompress(packed, 16 * MAX_LINK_POINTS + 1)
    except (binascii.Error, zlib.error, ValueError):
        raise damaged from None
    if not inflate.eof or inflate.unused_data or len(raw) % 16 or len(raw) > 16 * MAX_LINK_POINTS:
        raise damaged
    values = np.frombuffer(raw, dtype="<f8").astype(np.float64)
    return _link_points(values[: len(values) // 2], values[len(values) // 2 :])


def _link_points(x, y) -> tuple[np.ndarray, np.ndarray]:
    """x, y as read-only float64 arrays fit for a link; CsvError saying why not."""
    try:
        x = np.array(x, dtype=np.float64).ravel()
        y = np.array(y, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise CsvError("the points for a link must be numbers") from None
    if len(x) > MAX_LINK_POINTS:
        raise CsvError(
            f"a link can carry at most {MAX_LINK_POINTS} points, and this data has {len(x)}"
        )
    with np.errstate(invalid="ignore"):
        if (np.abs(x) > MAX_ABS).any() or (np.abs(y) > MAX_ABS).any():
            raise CsvError(f"the points for a link must stay within ±{_MAX_ABS_TEXT}")
    try:
        data = as_dataset(x, y)
    except DataError as error:
        raise CsvError(f"the points for a link cannot be fitted: {error}") from None
    if not _spread_ok(data.x):
        raise CsvError("the points for a link cannot be fitted: x varies too little")
    return data.x, data.y
