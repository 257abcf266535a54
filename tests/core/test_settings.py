"""The settings table: the share link's round trip, lenient reading of hand-edited links, and
strict reading for the CLI."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrcore import settings as cfg

NUMERIC = [name for name, f in cfg.FIELDS.items() if type(f.default) in (int, float)]


def field_values(name: str) -> st.SearchStrategy:
    """Every valid value of one setting, taken from the table itself."""
    f = cfg.FIELDS[name]
    meta, kind = f.metadata, type(f.default)
    if kind is bool:
        return st.booleans()
    if kind is str:
        return st.sampled_from(meta["choices"])
    if kind is int:
        return st.integers(meta["lo"], meta["hi"])
    return st.floats(meta["lo"], meta["hi"], allow_nan=False, allow_infinity=False)


valid_settings = (
    st.fixed_dictionaries({name: field_values(name) for name in cfg.FIELDS})
    .filter(lambda v: v["x_max"] > v["x_min"])
    .map(lambda v: cfg.Settings(**v))
)


def test_defaults_are_the_blogs_run():
    s = cfg.Settings()
    assert (s.n, s.noise, s.slope, s.intercept, s.x_min, s.x_max) == (1000, 300, 50, 4000, 0, 100)
    assert (s.optimizer, s.step_size, s.iterations) == ("gd", 0.0005, 50_000)
    assert (s.w0, s.b0, s.standardize) == (0, 0, False)
    assert cfg.from_params({}) == (s, [])


def test_every_field_has_a_usable_table_row():
    for name, f in cfg.FIELDS.items():
        meta = f.metadata
        assert meta["help"], name
        if name in NUMERIC:
            assert meta["lo"] <= f.default <= meta["hi"], name
        elif type(f.default) is str:
            assert f.default in meta["choices"], name
        assert cfg.parse_value(name, cfg.format_value(f.default)) == f.default


# Property 1: a share link round-trips: from_params(to_params(s)) gives s back, with no notes,
# for every valid s (every field anywhere in its range, floats to the last digit).
@given(valid_settings)
def test_property_1_params_round_trip(s):
    params = cfg.to_params(s)
    # every setting in table order, but link-only ones (lesson, hide, points, exclude) only
    # when they say something
    assert list(params) == [n for n in cfg.FIELDS if n not in cfg.LINK_ONLY or n in params]
    assert all(getattr(s, n) != "" for n in cfg.LINK_ONLY if n in params)
    assert all(isinstance(v, str) for v in params.values())
    assert cfg.from_params(params) == (s, [])


# Property 2: hand-edited links never fail: any mapping of strings gives valid settings (they
# survive their own round trip), one note per unknown key or unreadable value, at most one more
# when x_min, x_max had to be reset, and every readable value kept as it was.
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "nan",
            "-inf",
            "inf",
            "1e309",
            "-1",
            "0",
            "1e300",
            "2.5",
            "true",
            "<script>x</script>",
            "adam",
            "0.001",
            "",
            " 7 ",
        ]
    ),
)
params_strategy = st.dictionaries(
    st.one_of(st.sampled_from(list(cfg.FIELDS)), st.text(max_size=8)), texts, max_size=8
)


@given(params_strategy)
def test_property_2_any_params_give_valid_settings_and_one_note_per_problem(params):
    s, notes = cfg.from_params(params)
    assert cfg.from_params(cfg.to_params(s)) == (s, [])
    unknown = [k for k in params if k not in cfg.FIELDS]
    invalid, kept = [], {}
    for key in params.keys() - set(unknown):
        try:
            kept[key] = cfg.parse_value(key, params[key])
        except cfg.SettingError:
            invalid.append(key)
    extra = len(notes) - len(unknown) - len(invalid)
    assert extra in (0, 1)
    reset = {"x_min", "x_max"} if extra else set()
    assert not extra or (s.x_min, s.x_max) == (cfg.DEFAULTS.x_min, cfg.DEFAULTS.x_max)
    for key in unknown + invalid:
        assert any(repr(key) in note or key in note for note in notes), (key, notes)
    for key, value in kept.items():
        if key not in reset:
            assert getattr(s, key) == value


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"bogus": "1"}, {}),
        ({"n": "abc"}, {"n": 1000}),
        ({"n": ""}, {"n": 1000}),
        ({"n": "-5"}, {"n": 2}),
        ({"n": "1e9"}, {"n": 100_000}),
        ({"n": "2.7"}, {"n": 3}),
        ({"seed": "-1"}, {"seed": 0}),
        ({"step_size": "nan"}, {"step_size": 0.0005}),
        ({"step_size": "0"}, {"step_size": 1e-300}),
        ({"step_size": "-0.1"}, {"step_size": 1e-300}),
        ({"step_size": "5"}, {"step_size": 1.0}),
        ({"momentum": "1"}, {"momentum": 0.999}),
        ({"noise": "-300"}, {"noise": 0.0}),
        ({"w0": "1e300"}, {"w0": 1e9}),
        ({"optimizer": "<script>alert(1)</script>"}, {"optimizer": "gd"}),
        ({"optimizer": "rmsprop"}, {"optimizer": "gd"}),
        ({"standardize": "maybe"}, {"standardize": False}),
        ({"loss_scale": "cubic"}, {"loss_scale": "log"}),
        ({"x_min": "200"}, {}),  # valid alone, but above x_max: the range is reset
    ],
)
def test_hand_edited_value_gives_the_nearest_valid_setting_and_one_note(params, expected):
    s, notes = cfg.from_params(params)
    assert s == cfg.DEFAULTS.replace(**expected)
    assert len(notes) == 1
    key = next(iter(params))
    assert key in notes[0]


def test_a_name_that_is_no_choice_gets_the_list_of_names():
    """A lesson that is not one lists the lessons, not the empty "no lesson" first."""
    assert cfg.from_params({"lesson": "nonsense"})[1] == [
        "lesson: 'nonsense' is not one of blog, limit, scaling, momentum, outliers, explore; "
        "ignored"
    ]
    assert cfg.from_params({"optimizer": "rmsprop"})[1] == [
        "optimizer: 'rmsprop' is not one of gd, momentum, nesterov, adam, sgd; using gd"
    ]


@pytest.mark.parametrize("text", ["inf", "-inf", "1e309"])
@pytest.mark.parametrize("name", ["step_size", "iterations", "w0"])
def test_infinite_values_give_a_valid_setting_and_a_note(name, text):
    s, notes = cfg.from_params({name: text})
    meta = cfg.FIELDS[name].metadata
    assert meta["lo"] <= getattr(s, name) <= meta["hi"]
    assert len(notes) == 1 and name in notes[0]


def test_several_problems_give_one_note_each_and_keep_the_rest():
    s, notes = cfg.from_params(
        {
            "n": "abc",
            "bogus": "1",
            "step_size": "inf",
            "seed": "42",
            "optimizer": "adam",
            "iterations": "0.5",
        }
    )
    assert len(notes) == 4
    assert (s.seed, s.optimizer, s.iterations) == (42, "adam", 1)


def test_valid_strings_are_read_with_their_types():
    s, notes = cfg.from_params(
        {
            "n": "250",
            "step_size": "0.001",
            "standardize": "true",
            "optimizer": "nesterov",
            "x_min": "-5",
            "x_max": "-1",
        }
    )
    assert notes == []
    assert (s.n, s.step_size, s.standardize, s.optimizer) == (250, 0.001, True, "nesterov")
    assert type(s.n) is int and type(s.step_size) is float
    assert (s.x_min, s.x_max) == (-5.0, -1.0)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("n", "2.5"),
        ("n", "1"),
        ("n", "abc"),
        ("n", ""),
        ("n", "1e6"),
        ("seed", "-1"),
        ("step_size", "nan"),
        ("step_size", "inf"),
        ("step_size", "0"),
        ("step_size", "2"),
        ("iterations", "0"),
        ("momentum", "1"),
        ("noise", "-1"),
        ("optimizer", "ADAM"),
        ("optimizer", "<script>"),
        ("standardize", "maybe"),
        ("loss_scale", ""),
    ],
)
def test_parse_value_is_strict(name, text):
    with pytest.raises(cfg.SettingError, match=name) as caught:
        cfg.parse_value(name, text)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("n", "10", 10),
        ("n", "1e3", 1000),
        ("iterations", "50000", 50_000),
        ("step_size", "0.0005", 0.0005),
        ("step_size", "1", 1.0),
        ("w0", "-1e9", -1e9),
        ("optimizer", "sgd", "sgd"),
        ("standardize", "TRUE", True),
        ("standardize", "0", False),
        ("momentum", "0", 0.0),
    ],
)
def test_parse_value_reads_valid_text(name, text, value):
    got = cfg.parse_value(name, text)
    assert got == value and type(got) is type(value)


# Property 3: format_value keeps every digit of a float: reading it back gives the same float.
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_property_3_format_value_round_trips_floats(value):
    assert float(cfg.format_value(value)) == value


def test_step_sizes_far_below_1e_6_are_settings_in_links_and_the_cli():
    """Data with x in the thousands converges only below ~1e-7 (gapminder's gdpPercap: 1.3e-8),
    so a link and the CLI take a thousandth of such a limit as it is."""
    assert cfg.parse_value("step_size", "1.3e-11") == 1.3e-11
    settings, notes = cfg.from_params({"step_size": "1.3e-11"})
    assert settings.step_size == 1.3e-11 and notes == []
    from lrcore.cli import main

    assert main(["--step_size", "1e-12", "--iterations", "10", "--every", "10"]) == 0
