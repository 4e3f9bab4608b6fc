from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_store_plugin import lockfile
from conda_store_plugin.exceptions import LockfileError
from conda_store_plugin.lockfile import LockedPackage, Lockfile, PlatformLock
from conda_store_plugin.platforms import VirtualPackage
from conda_store_plugin.spec import parse_spec

SCHEMA_FILE = Path(__file__).parents[1] / "schemas" / "conda-store-lock-1.schema.json"


def sample_lock() -> Lockfile:
    spec = parse_spec("name: s\nchannels: [c]\ndependencies: [a]\n")
    pkg = LockedPackage(
        name="a", version="1.0", build="h0_0", build_number=0, subdir="linux-64",
        url="https://example.invalid/c/linux-64/a-1.0-h0_0.conda",
        channel="https://example.invalid/c", fn="a-1.0-h0_0.conda", sha256="0" * 64,
        md5="1" * 32, size=10, depends=("b >=1",), constrains=(), timestamp=1700000000000,
    )
    return Lockfile(
        spec=spec,
        channels=(lockfile.Channel("c", "https://example.invalid/c"),),
        platforms={"linux-64": PlatformLock((VirtualPackage("__unix", "0"),), (pkg,))},
        input_hash=spec.input_hash(), created_at="2026-01-01T00:00:00Z", tool_version="0",
    )


def test_committed_schema_matches_the_code():
    assert SCHEMA_FILE.read_text() == lockfile.schema_json(), (
        "schemas/ is stale: regenerate it from conda_store_plugin.lockfile.schema_json()"
    )


def test_round_trip_is_lossless(tmp_path):
    lock = sample_lock()
    path = lockfile.write(lock, tmp_path / "l.json")
    again = lockfile.read(path)
    assert again == lock
    assert again.to_json() == lock.to_json()


def test_written_file_is_schema_valid_json(tmp_path):
    path = lockfile.write(sample_lock(), tmp_path / "l.json")
    from jsonschema import Draft202012Validator

    Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(json.loads(path.read_text()))


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d["platforms"]["linux-64"]["packages"][0].update(sha256="zz"), "sha256"),
        (lambda d: d["platforms"]["linux-64"]["packages"][0].pop("url"), "'url' is a required"),
        (lambda d: d.update(format="conda-lock"), "format"),
        (lambda d: d.update(platforms={}), "platforms"),
        (lambda d: d.update(surprise=1), "surprise"),
    ],
)
def test_invalid_lockfiles_are_refused_naming_the_place(tmp_path, mutate, words):
    data = sample_lock().to_dict()
    mutate(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LockfileError, match="not a valid conda-store lockfile") as info:
        lockfile.read(path)
    assert words in str(info.value)


def test_newer_format_is_refused_with_upgrade_hint(tmp_path):
    data = sample_lock().to_dict()
    data["version"] = "1.99"
    path = tmp_path / "new.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LockfileError, match="newer") as info:
        lockfile.read(path)
    assert "Upgrade conda-store-plugin" in str(info.value)


def test_not_json_names_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{\n  nope\n}")
    with pytest.raises(LockfileError, match="line 2"):
        lockfile.read(path)


def test_failed_write_keeps_previous_file(tmp_path):
    path = lockfile.write(sample_lock(), tmp_path / "l.json")
    before = path.read_bytes()
    broken = sample_lock().with_platforms(
        {"linux-64": PlatformLock((), (LockedPackage(**{
            **sample_lock().platforms["linux-64"].packages[0].__dict__, "sha256": "bad"}),))}
    )
    with pytest.raises(LockfileError):
        lockfile.write(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["l.json"]


def test_format_1_0_files_still_load(tmp_path):
    data = sample_lock().to_dict()
    data["version"] = "1.0"
    assert "pypi" not in data["platforms"]["linux-64"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    lock = lockfile.read(path)
    assert lock.version == "1.0"
    assert lock.platforms["linux-64"].pypi == ()
