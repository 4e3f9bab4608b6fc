from __future__ import annotations

import pytest

from conda_store_plugin.exceptions import InvalidMatchSpecError, SpecError
from conda_store_plugin.spec import EnvironmentSpec, load_spec, parse_spec


def test_parses_every_known_key():
    spec = parse_spec(
        """
name: demo
channels: [conda-forge, ./local]
platforms: [linux-64, win-64]
variables: {OMP_NUM_THREADS: 1}
dependencies:
  - python  >=3.11
  - conda-forge::numpy
  - pip:
      - requests ==2.32.3
"""
    )
    assert spec.name == "demo"
    assert spec.channels == ("conda-forge", "./local")
    assert spec.platforms == ("linux-64", "win-64")
    assert spec.variables == {"OMP_NUM_THREADS": "1"}
    assert spec.dependencies == ("python >=3.11", "conda-forge::numpy")
    assert spec.pip == ("requests ==2.32.3",)


def test_input_hash_ignores_order_name_and_whitespace_but_not_content():
    a = parse_spec("name: a\nchannels: [c]\ndependencies: [x, 'y  >=1']\n")
    b = parse_spec("name: b\nchannels: [c]\ndependencies: ['y >=1', x]\n")
    c = parse_spec("name: a\nchannels: [c]\ndependencies: [x, 'y >=2']\n")
    d = parse_spec("name: a\nchannels: [d, c]\ndependencies: [x, 'y >=1']\n")
    assert a.input_hash() == b.input_hash()
    assert a.input_hash() != c.input_hash()
    assert a.input_hash() != d.input_hash()


def test_round_trip_through_dict():
    spec = parse_spec("channels: [c]\ndependencies: [x]\nvariables: {A: b}\n")
    assert EnvironmentSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("channels: [c]\ndependencies:\n  - x\n  - 'numpy >=>1'\n", 4, "invalid package spec"),
        ("channels: [c]\nfoo: 1\ndependencies: [x]\n", 2, "unknown key 'foo'"),
        ("channels: [c\ndependencies: [x]\n", None, "not valid YAML"),
        ("channels: c\n", 1, "`channels` must be a list"),
        ("- a\n- b\n", None, "top level must be a mapping"),
        ("", None, "empty"),
        ("dependencies:\n  - {conda: [x]}\n", 2, "may only be `pip"),
    ],
)
def test_bad_specs_name_the_line_and_problem(tmp_path, text, line, words):
    path = tmp_path / "environment.yml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message
    assert words in message
    if line is not None:
        assert f"line {line}" in message


def test_bad_matchspec_is_its_own_error_class(tmp_path):
    path = tmp_path / "environment.yml"
    path.write_text("channels: [c]\ndependencies: ['numpy >=>1']\n")
    with pytest.raises(InvalidMatchSpecError) as info:
        load_spec(path)
    assert info.value.spec == "numpy >=>1"


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "nope.yml")
