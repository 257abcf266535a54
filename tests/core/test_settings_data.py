"""The data's settings: `dataset`, and the two only a link carries, `points` (the uploaded
points) and `exclude` (the points left out of the fit). Short default links, exact round trips,
and lenient reading of hand-edited values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrcore import settings as cfg
from lrcore.csvdata import MAX_ROWS
from lrcore.linkpoints import MAX_LINK_POINTS, decode_points, encode_points

LINK = [name for name, f in cfg.FIELDS.items() if f.metadata["group"] == "link"]


def test_dataset_is_a_setting_of_the_data_with_every_builtin_and_the_upload():
    f = cfg.FIELDS["dataset"]
    assert f.metadata["group"] == "data" and f.default == "blog"
    assert f.metadata["choices"] == (*cfg.BUILTINS, "upload")
    assert LINK == ["points", "exclude"] and set(LINK) <= set(cfg.LINK_ONLY)


def test_default_links_leave_out_the_empty_link_settings():
    params = cfg.to_params(cfg.DEFAULTS)
    assert not set(LINK) & set(params)
    assert cfg.from_params(params) == (cfg.DEFAULTS, [])


def test_points_travel_only_with_the_upload():
    points = encode_points([1.0, 2.0, 3.5], [0.1, -2.0, 7.0])
    upload = cfg.DEFAULTS.replace(dataset="upload", points=points)
    assert cfg.to_params(upload)["points"] == points
    assert cfg.from_params(cfg.to_params(upload)) == (upload, [])
    assert "points" not in cfg.to_params(upload.replace(dataset="blog"))
    s, notes = cfg.from_params({"dataset": "anscombe_1", "points": points})
    assert s == cfg.DEFAULTS.replace(dataset="anscombe_1")
    assert notes == ["points: ignored, since the dataset is 'anscombe_1', not 'upload'"]


# Property 1: any set of point numbers survives exclude_text -> a link -> exclude_ranges: the
# same points, written the shortest way (sorted, runs as first-last, nothing twice).
indices = st.lists(st.integers(0, MAX_ROWS - 1), max_size=60)


@given(indices)
def test_property_1_exclude_round_trips_any_set_of_points(rows):
    text = cfg.exclude_text(rows)
    s, notes = cfg.from_params({"exclude": text})
    assert notes == [] and s.exclude == text and cfg.to_params(s).get("exclude", "") == text
    expanded = [i for a, b in cfg.exclude_ranges(text) for i in range(a, b + 1)]
    assert expanded == sorted(set(rows))
    ranges = cfg.exclude_ranges(text)
    assert all(b + 1 < a2 for (_, b), (a2, _) in zip(ranges, ranges[1:], strict=False))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", ""),
        ("7", "7"),
        ("3,1,2", "1-3"),
        ("17, 3 ,120-130", "3,17,120-130"),
        ("5-5", "5"),
        ("1-4,3-8,10", "1-8,10"),
        ("0-99999", "0-99999"),
        ("9,9,9", "9"),
    ],
)
def test_exclude_is_read_and_written_the_shortest_way(text, value):
    assert cfg.parse_value("exclude", text) == value


@pytest.mark.parametrize(
    "text",
    [
        "x",
        "-1",
        "3-",
        "-",
        "1,,2",
        "1.5",
        "9-3",
        "1e3",
        f"{MAX_ROWS}",
        "0-100000",
        "<b>1</b>",
        "1;2",
        "١٢",
    ],
)
def test_a_bad_exclude_gives_one_note_and_leaves_no_point_out(text):
    with pytest.raises(cfg.SettingError, match="exclude"):
        cfg.parse_value("exclude", text)
    s, notes = cfg.from_params({"exclude": text})
    assert s == cfg.DEFAULTS and len(notes) == 1 and notes[0].endswith("; ignored")


def test_an_exclude_too_long_for_a_link_is_refused():
    every_other = cfg.exclude_text(range(0, 2 * cfg.MAX_EXCLUDE_CHARS, 2))
    assert len(every_other) > cfg.MAX_EXCLUDE_CHARS
    s, notes = cfg.from_params({"exclude": every_other})
    assert s.exclude == "" and "longer than 2,000 characters" in notes[0]


@pytest.mark.parametrize(
    "text", ["v1.AAAA", "v1.", "eNpjYA", "v1.<script>", "v2." + "A" * 8, "v1." + "A" * 20_000]
)
def test_bad_points_give_one_note_and_no_points(text):
    """An upload without points would be a file too big for a link: bad points give the
    blog's data back instead, and one note that says so."""
    for params in ({"dataset": "upload", "points": text}, {"points": text, "dataset": "upload"}):
        s, notes = cfg.from_params(params)
        assert s == cfg.DEFAULTS
        assert len(notes) == 1 and notes[0].startswith("points: ")
        assert notes[0].endswith("; using dataset blog")
    s, notes = cfg.from_params({"dataset": "anscombe_1", "points": text})
    assert s == cfg.DEFAULTS.replace(dataset="anscombe_1") and notes[0].endswith("; ignored")


# Property 2: an upload's points go through a link exactly: every float64 to the last bit (x:
# distinct thirds of whole numbers, so a line can be fitted; y: any finite value in range).
xs = st.lists(st.integers(-(10**9), 10**9), min_size=2, max_size=MAX_LINK_POINTS, unique=True)
ys = st.floats(-1e100, 1e100, allow_nan=False, allow_infinity=False)


@given(xs.flatmap(lambda x: st.tuples(st.just(x), st.lists(ys, min_size=len(x), max_size=len(x)))))
def test_property_2_points_round_trip_through_a_link(case):
    x, y = np.array(case[0]) / 3.0, np.array(case[1], dtype=np.float64)
    s = cfg.DEFAULTS.replace(dataset="upload", points=encode_points(x, y))
    loaded, notes = cfg.from_params(cfg.to_params(s))
    assert (loaded, notes) == (s, [])
    x2, y2 = decode_points(loaded.points)
    assert x2.tobytes() == x.tobytes() and y2.tobytes() == y.tobytes()
