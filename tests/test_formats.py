"""`conda store convert`: conda-store <-> conda-lock v1, -> explicit, -> env, pixi.lock -> ours.

Round trips run on real packages from the test channel, locked with ``api.lock``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conda_store_plugin import api, formats, lockfile
from conda_store_plugin.cli import main
from conda_store_plugin.exceptions import (
    CondaStoreError,
    FormatError,
    LockEnvironmentNotFoundError,
    PlatformNotLockedError,
    UnknownFormatError,
    UnsupportedLockContentError,
)
from conda_store_plugin.formats import conda_lock_v1, env_yaml, explicit, pixi_lock
from conda_store_plugin.formats.common import dump_yaml, topological_order
from conda_store_plugin.lockfile import Channel, LockedPackage
from conda_store_plugin.platforms import VirtualPackage
from conda_store_plugin.spec import load_spec

DATA = Path(__file__).parent / "data"
PIXI_V6 = DATA / "pixi-v6-small.lock"
PIXI_V7 = DATA / "pixi-v7-small.lock"
# The steering repo's shared/ sits beside this checkout (here and in CI).
TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces-sklearn.pixi.lock"
PLATFORMS = ["linux-64", "osx-arm64"]


def key_set(lock_, platform):
    return {(p.name, p.version, p.build, p.url, p.sha256)
            for p in lock_.platforms[platform].packages}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def locked(tmp_path_factory, http_channel_url) -> Path:
    """A real lock of the test channel (over HTTP) for linux-64 and osx-arm64."""
    folder = tmp_path_factory.mktemp("locked")
    spec = folder / "environment.yml"
    spec.write_text(f"name: demo\nchannels:\n  - {http_channel_url}\ndependencies:\n"
                    "  - stack\n  - shellwrap\n  - prefixpkg\nvariables:\n  DEMO: '1'\n")
    result = api.lock(spec_path=spec, lockfile_path=folder / "conda-store.lock.json",
                      platforms=PLATFORMS, cache_dir=folder / "cache")
    return result.lockfile_path


@pytest.fixture
def source(locked, tmp_path) -> Path:
    """A private copy of the locked file, so tests can write beside it."""
    path = tmp_path / "conda-store.lock.json"
    path.write_bytes(locked.read_bytes())
    return path


# -- conda-lock v1 -----------------------------------------------------------------------


def test_conda_lock_round_trip_keeps_every_package(source, tmp_path):
    original = lockfile.read(source)
    out = api.convert(source=source, to="conda-lock")
    assert [f.path for f in out.files] == [tmp_path / "conda-lock.yml"]
    assert out.platforms == {p: len(original.platforms[p].packages) for p in PLATFORMS}

    back = api.convert(source=tmp_path / "conda-lock.yml", output=tmp_path / "back.json")
    assert back.source_format == "conda-lock"
    again = lockfile.read(tmp_path / "back.json")  # schema-valid
    for platform in PLATFORMS:
        assert key_set(again, platform) == key_set(original, platform)
        assert ({p.name: p.md5 for p in again.platforms[platform].packages}
                == {p.name: p.md5 for p in original.platforms[platform].packages})
        assert (again.platforms[platform].virtual_packages
                == original.platforms[platform].virtual_packages)
    # Our spec rides along in custom_metadata, so the input hash survives.
    assert again.spec == original.spec
    assert again.input_hash == original.input_hash
    assert again.extra_metadata["converted_from"]["spec"] == "stored"


def test_conda_lock_document_has_conda_lock_v1_shape(source, tmp_path):
    original = lockfile.read(source)
    api.convert(source=source, to="conda-lock", output=tmp_path / "c.yml")
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(tmp_path / "c.yml")
    assert doc["version"] == 1 and set(doc) == {"version", "metadata", "package"}
    meta = doc["metadata"]
    assert meta["platforms"] == PLATFORMS
    assert meta["content_hash"] == {p: original.input_hash for p in PLATFORMS}
    assert meta["channels"] == [{"url": original.channels[0].url, "used_env_vars": []}]
    assert all(isinstance(v, str) for v in meta["custom_metadata"].values())
    allowed = {"name", "version", "manager", "platform", "dependencies", "url", "hash",
               "build", "category", "optional"}
    for entry in doc["package"]:
        assert set(entry) == allowed
        assert entry["manager"] == "conda" and entry["category"] == "main"
        assert entry["optional"] is False and entry["platform"] in PLATFORMS
        assert set(entry["hash"]) == {"md5", "sha256"}
        assert all(isinstance(v, str) for v in entry["dependencies"].values())
    # noarch packages are listed under each target platform, as conda-lock does.
    noarch = [e for e in doc["package"] if "/noarch/" in e["url"]]
    assert {e["platform"] for e in noarch} == set(PLATFORMS)
    numpylike = next(e for e in doc["package"] if e["name"] == "numpylike")
    assert numpylike["dependencies"] == {"python": ">=3.12,<3.13.0a0", "libfoo": ">=1.1"}


@pytest.mark.skipif(not os.environ.get("CONDA_LOCK_PYTHON"),
                    reason="set CONDA_LOCK_PYTHON to a python with conda-lock installed")
def test_conda_lock_itself_reads_what_we_write(source, tmp_path):
    api.convert(source=source, to="conda-lock", output=tmp_path / "c.yml")
    script = ("import pathlib, sys\n"
              "from conda_lock.lockfile import parse_conda_lock_file\n"
              "lf = parse_conda_lock_file(pathlib.Path(sys.argv[1]))\n"
              "print(len(lf.package), ' '.join(lf.metadata.platforms))\n")
    out = subprocess.run([os.environ["CONDA_LOCK_PYTHON"], "-c", script, str(tmp_path / "c.yml")],
                         capture_output=True, text=True, check=True)
    count = sum(len(p.packages) for p in lockfile.read(source).platforms.values())
    assert out.stdout.split() == [str(count), *PLATFORMS]


def test_foreign_conda_lock_gets_a_rebuilt_spec_and_default_virtual_packages(source, tmp_path):
    text = conda_lock_v1.dumps(lockfile.read(source))
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(text)
    del doc["metadata"]["custom_metadata"]
    dev = dict(doc["package"][0], name="devtool", category="dev")
    doc["package"].append(dev)
    lock_ = conda_lock_v1.from_document(doc, path="foreign.yml")
    assert lock_.spec.dependencies == ("prefixpkg", "shellwrap", "stack")  # the roots
    assert [str(v) for v in lock_.platforms["linux-64"].virtual_packages] == [
        "__archspec=1=x86_64", "__glibc=2.28=0", "__linux=5.10=0", "__unix=0=0"]
    converted = lock_.extra_metadata["converted_from"]
    assert converted["spec"] == "reconstructed"
    assert converted["skipped"] == ["devtool (linux-64, category dev)"]
    pkg = lock_.platforms["linux-64"].by_name()["python"]
    assert (pkg.build, pkg.build_number, pkg.size, pkg.subdir) == ("h0_0_cpython", 0, 0,
                                                                   "linux-64")
    lockfile.validate_dict(lock_.to_dict())


def test_dependencies_mapping_keeps_build_parts_and_merges_ranges():
    assert conda_lock_v1.dependencies_mapping(
        ["_libgcc_mutex 0.1 conda_forge", "python >=3.8", "python <4", "__unix", "pip"],
    ) == {"_libgcc_mutex": "0.1 conda_forge", "python": ">=3.8,<4", "__unix": "", "pip": ""}


# -- explicit ----------------------------------------------------------------------------


def test_explicit_round_trip_gives_the_same_urls_and_hashes(source, tmp_path):
    original = lockfile.read(source)
    out = api.convert(source=source, to="explicit")
    assert [(f.platform, f.path.name) for f in out.files] == [
        ("linux-64", "explicit.linux-64.txt"), ("osx-arm64", "explicit.osx-arm64.txt")]
    for converted in out.files:
        text = converted.path.read_text()
        parsed = explicit.parse(text, path=converted.path)
        assert parsed.platform == converted.platform
        assert {(e.url, e.sha256) for e in parsed.entries} == {
            (p.url, p.sha256) for p in original.platforms[converted.platform].packages}
        assert all(e.md5 is None for e in parsed.entries)
        # Dependencies come before their dependents.
        position = {e.name_version_build[0]: i for i, e in enumerate(parsed.entries)}
        for pkg in original.platforms[converted.platform].packages:
            for dep in pkg.depends:
                name = dep.split()[0]
                if name in position:
                    assert position[name] < position[pkg.name], (name, pkg.name)


def test_explicit_with_one_platform_writes_exactly_the_output(source, tmp_path):
    out = api.convert(source=source, to="explicit", platform="osx-arm64",
                      output=tmp_path / "o" / "env.txt")
    assert [f.path for f in out.files] == [tmp_path / "o" / "env.txt"]
    text = (tmp_path / "o" / "env.txt").read_text()
    assert "# platform: osx-arm64\n" in text and "\n@EXPLICIT\nhttp" in text


def test_output_folder_gets_the_default_file_name(source, tmp_path):
    (tmp_path / "outdir").mkdir()
    out = api.convert(source=source, to="conda-lock", output=tmp_path / "outdir")
    assert [f.path for f in out.files] == [tmp_path / "outdir" / "conda-lock.yml"]


def test_explicit_installs_with_py_rattler(source, tmp_path):
    import rattler
    from rattler import Platform, RepoDataRecord

    platform = str(Platform.current())
    if platform not in PLATFORMS:
        pytest.skip(f"packages are locked for {PLATFORMS}, this machine is {platform}")
    out = api.convert(source=source, to="explicit", platform=platform,
                      output=tmp_path / "explicit.txt")
    parsed = explicit.parse(out.files[0].path.read_text())
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    async def install() -> None:
        records = []
        for entry in parsed.entries:
            with urllib.request.urlopen(entry.url) as response:  # noqa: S310 - 127.0.0.1
                data = response.read()
            assert hashlib.sha256(data).hexdigest() == entry.sha256
            (downloads / entry.fn).write_bytes(data)
            record = await RepoDataRecord.from_package_archive(downloads / entry.fn)
            record.url = entry.url  # the installer fetches from the explicit URL itself
            records.append(record)
        await rattler.install(records, target_prefix=tmp_path / "prefix",
                              cache_dir=tmp_path / "pkgs", show_progress=False)

    asyncio.run(install())
    meta = {p.name for p in (tmp_path / "prefix" / "conda-meta").glob("*.json")}
    assert meta == {f"{e.name_version_build[0]}-{e.name_version_build[1]}-"
                    f"{e.name_version_build[2]}.json" for e in parsed.entries}
    assert (tmp_path / "prefix" / "etc" / "prefixpkg.conf").read_text() == (
        f"prefix={tmp_path / 'prefix'}\n")


@pytest.mark.conda
def test_conda_reads_our_explicit_hashes(source, tmp_path):
    from conda.misc import _match_specs_from_explicit

    api.convert(source=source, to="explicit", platform="linux-64", output=tmp_path / "e.txt")
    lines = [line for line in (tmp_path / "e.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    specs = list(_match_specs_from_explicit(lines))
    by_name = lockfile.read(source).platforms["linux-64"].by_name()
    assert {s.name: s.get("sha256") for s in specs} == {n: p.sha256 for n, p in by_name.items()}


def test_explicit_parse_accepts_every_hash_spelling_conda_does():
    sha, md5 = "a" * 64, "b" * 32
    text = (f"# platform: linux-64\n@EXPLICIT\nhttps://x/c/linux-64/a-1-h0_0.conda#{sha}\n"
            f"https://x/c/noarch/b-2-py_0.tar.bz2#sha256:{sha}\n"
            f"https://x/c/linux-64/c-1-0.conda#{md5}\nhttps://x/c/linux-64/d-1-0.conda\n")
    entries = explicit.parse(text).entries
    assert [(e.fn, e.sha256, e.md5) for e in entries] == [
        ("a-1-h0_0.conda", sha, None), ("b-2-py_0.tar.bz2", sha, None),
        ("c-1-0.conda", None, md5), ("d-1-0.conda", None, None)]
    assert entries[1].url == "https://x/c/noarch/b-2-py_0.tar.bz2"


def test_explicit_md5_spelling_for_old_conda(source):
    lock_ = lockfile.read(source)
    text = explicit.dumps(lock_, platform="linux-64", hash_kind="md5")
    assert {e.md5 for e in explicit.parse(text).entries} == {
        p.md5 for p in lock_.platforms["linux-64"].packages}


@pytest.mark.parametrize(("text", "words"), [
    ("# just a comment\n", "no @EXPLICIT"),
    ("https://x/c/linux-64/a-1-0.conda\n", "before the @EXPLICIT"),
    ("numpy\n@EXPLICIT\n", "before the @EXPLICIT"),
    ("@EXPLICIT\nhttps://x/c/linux-64/a-1-0.whl\n", "line 2: not a package URL"),
    ("@EXPLICIT\nhttps://x/c/linux-64/a-1-0.conda#abc\n", "not a package URL"),
])
def test_explicit_parse_errors_name_the_line(text, words):
    with pytest.raises(FormatError, match=words):
        explicit.parse(text, path="e.txt")


# -- pinned environment.yml --------------------------------------------------------------


def test_env_yaml_relocks_to_the_same_packages(source, tmp_path):
    original = lockfile.read(source)
    out = api.convert(source=source, to="env", platform="linux-64",
                      output=tmp_path / "pinned.yml")
    spec = load_spec(out.files[0].path)
    assert spec.name == "demo" and spec.variables == {"DEMO": "1"}
    assert "libzlib ==1.3.1 h0_0" in spec.dependencies
    relocked = api.lock(spec_path=out.files[0].path, lockfile_path=tmp_path / "re.json",
                        platforms=["linux-64"], cache_dir=tmp_path / "cache")
    assert ({(p.name, p.version, p.build) for p in relocked.lockfile.platforms["linux-64"].packages}
            == {(p.name, p.version, p.build) for p in original.platforms["linux-64"].packages})


def test_env_yaml_pins_channels_when_there_are_several(source):
    lock_ = lockfile.read(source)
    lock_ = dataclasses.replace(lock_, channels=(
        Channel("conda-forge", "https://conda.anaconda.org/conda-forge"), *lock_.channels))
    doc = env_yaml.to_document(lock_, "linux-64")
    assert doc["channels"][0] == "conda-forge"
    first_url = lock_.channels[1].name
    assert f"{first_url}::libzlib ==1.3.1 h0_0" in doc["dependencies"]
    conda_style = env_yaml.to_document(lock_, "linux-64", style="conda-export")
    assert f"{first_url}::libzlib==1.3.1=h0_0" in conda_style["dependencies"]
    single = env_yaml.pin(lock_.platforms["linux-64"].by_name()["libzlib"],
                          style="conda-export")
    assert single == "libzlib=1.3.1=h0_0"


# -- pixi.lock ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", [PIXI_V6, PIXI_V7])
def test_pixi_small_samples_convert_to_valid_lockfiles(fixture, tmp_path):
    src = tmp_path / "pixi.lock"
    src.write_bytes(fixture.read_bytes())
    result = api.convert(source=src)
    assert result.source_format == "pixi" and result.environment == "default"
    lock_ = lockfile.read(tmp_path / "conda-store.lock.json")  # schema-valid
    assert {p: len(pl.packages) for p, pl in lock_.platforms.items()} == {
        "linux-64": 6, "osx-arm64": 3}
    assert [c.to_dict() for c in lock_.channels] == [
        {"name": "conda-forge", "url": "https://conda.anaconda.org/conda-forge"}]
    assert lock_.spec.dependencies == ("bzip2", "ca-certificates", "libgcc", "tzdata")
    mutex = lock_.platforms["linux-64"].by_name()["_openmp_mutex"]
    assert (mutex.build_number, mutex.size, mutex.subdir, mutex.depends) == (
        16, 23621, "linux-64", ("_libgcc_mutex 0.1 conda_forge", "libgomp >=7.5.0"))
    assert lock_.platforms["osx-arm64"].by_name()["tzdata"].subdir == "noarch"
    vps = {v.name: v.version for v in lock_.platforms["linux-64"].virtual_packages}
    if fixture == PIXI_V7:  # v7 platforms carry virtual packages; they override defaults
        assert vps == {"__archspec": "1", "__cuda": "12.4", "__glibc": "2.17",
                       "__linux": "5.10", "__unix": "0"}
    else:
        assert vps == {"__archspec": "1", "__glibc": "2.28", "__linux": "5.10", "__unix": "0"}
    assert any("top-level packages" in note for note in result.notes)


def test_pixi_traces_sklearn_has_the_expected_package_counts(tmp_path):
    if not TRACES.is_file():
        pytest.skip(f"{TRACES} is not on this machine")
    expected = {
        "default": {"linux-64": 304, "osx-64": 236, "osx-arm64": 236, "win-64": 252},
        "dev": {"linux-64": 359, "osx-64": 291, "osx-arm64": 291, "win-64": 306},
        "docs": {"linux-64": 350, "osx-64": 282, "osx-arm64": 282, "win-64": 297},
    }
    for environment, counts in expected.items():
        out = tmp_path / f"{environment}.json"
        result = api.convert(source=TRACES, output=out, environment=environment)
        assert result.platforms == counts
        lock_ = lockfile.read(out)
        assert lock_.spec.name == environment
        assert {p: len(pl.packages) for p, pl in lock_.platforms.items()} == counts
        assert all(p.sha256 and p.md5 and p.size for pl in lock_.platforms.values()
                   for p in pl.packages)
    # and on to the other formats, for one platform
    out = api.convert(source=TRACES, to="explicit", platform="win-64",
                      output=tmp_path / "traces.txt")
    assert len(explicit.parse(out.files[0].path.read_text()).entries) == 252


@pytest.mark.parametrize(("text", "expected"), [
    ("__glibc=2.17", VirtualPackage("__glibc", "2.17")),
    ("__archspec=1=x86_64", VirtualPackage("__archspec", "1", "x86_64")),
    ("__glibc >=2.28", VirtualPackage("__glibc", "2.28")),
    ("__libc >= 32", VirtualPackage("__libc", "32")),
    ("__unix", VirtualPackage("__unix", "0")),
])
def test_pixi_virtual_package_spellings(text, expected):
    assert pixi_lock.virtual_package_from_lock(text, path="pixi.lock") == expected


# -- detection, registry, ordering -------------------------------------------------------


def test_detect_format_recognises_each_format(source, tmp_path):
    api.convert(source=source, to="conda-lock", output=tmp_path / "x.yml")
    api.convert(source=source, to="explicit", platform="linux-64", output=tmp_path / "x.txt")
    assert formats.detect_format(source) == "conda-store"
    assert formats.detect_format(tmp_path / "x.yml") == "conda-lock"
    assert formats.detect_format(tmp_path / "x.txt") == "explicit"
    assert formats.detect_format(PIXI_V6) == "pixi"
    assert formats.detect_format(PIXI_V7) == "pixi"


def test_cli_choices_match_the_registry():
    from conda_store_plugin.cli import convert as cli_convert

    assert set(cli_convert.TO_FORMATS) == set(formats.EXPORT_FORMATS)
    assert set(cli_convert.FROM_FORMATS) == set(formats.IMPORT_FORMATS)


def test_topological_order_puts_dependencies_first_and_survives_cycles():
    def pkg(name, *deps):
        return LockedPackage(name=name, version="1", build="0", build_number=0,
                             subdir="noarch", url=f"https://x/noarch/{name}-1-0.conda",
                             channel="https://x/", fn=f"{name}-1-0.conda", sha256="0" * 64,
                             md5="0" * 32, size=1, depends=deps)

    order = [p.name for p in topological_order(
        [pkg("c", "b >=1"), pkg("b", "a"), pkg("a", "__unix"), pkg("z")])]
    assert order == ["a", "b", "c", "z"]
    cyclic = [p.name for p in topological_order([pkg("x", "y"), pkg("y", "x"), pkg("v", "x")])]
    assert cyclic == ["x", "v", "y"]  # the cycle is broken at its first name, x


# -- invalid inputs: the error class, and nothing written --------------------------------


def _conda_lock_text(source: Path, mutate) -> str:
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(conda_lock_v1.dumps(lockfile.read(source)))
    mutate(doc)
    return dump_yaml(doc)


def _pip_entry(doc):
    doc["package"].append({"name": "six", "version": "1.17.0", "manager": "pip",
                           "platform": "linux-64", "dependencies": {},
                           "url": "https://files.pythonhosted.org/six-1.17.0-py3-none-any.whl",
                           "hash": {"sha256": "0" * 64}, "category": "main",
                           "optional": False})


INVALID = {
    "not-a-lockfile.txt": (lambda src: "just some notes\n", {}, UnknownFormatError),
    "explicit.txt": (lambda src: explicit.dumps(lockfile.read(src), platform="linux-64"),
                     {}, FormatError),
    "pip.conda-lock.yml": (lambda src: _conda_lock_text(src, _pip_entry), {},
                           UnsupportedLockContentError),
    "no-sha.conda-lock.yml": (
        lambda src: _conda_lock_text(src, lambda d: d["package"][0]["hash"].pop("sha256")),
        {}, FormatError),
    "bad-yaml.conda-lock.yml": (lambda src: "version: 1\nmetadata: [unclosed\n",
                                {"from_format": "conda-lock"}, FormatError),
    "v2.conda-lock.yml": (lambda src: _conda_lock_text(src, lambda d: d.update(version=2)),
                          {"from_format": "conda-lock"}, FormatError),
    "pypi.pixi.lock": (lambda src: PIXI_V6.read_text(), {"environment": "with-pypi"},
                       UnsupportedLockContentError),
    "pypi-v7.pixi.lock": (lambda src: PIXI_V7.read_text(), {"environment": "with-pypi"},
                          UnsupportedLockContentError),
    "no-env.pixi.lock": (lambda src: PIXI_V6.read_text(), {"environment": "gpu"},
                         LockEnvironmentNotFoundError),
    "v3.pixi.lock": (lambda src: PIXI_V6.read_text().replace("version: 6", "version: 3", 1),
                     {}, FormatError),
    "broken.pixi.lock": (lambda src: PIXI_V6.read_text().replace("sha256:", "sha256: [", 1),
                         {}, FormatError),
    "platform.json": (lambda src: src.read_text(), {"platform": "win-64"},
                      PlatformNotLockedError),
    "env-on-ours.json": (lambda src: src.read_text(), {"environment": "default"},
                         CondaStoreError),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_inputs_are_refused_and_nothing_is_written(name, source, tmp_path):
    make, kwargs, error = INVALID[name]
    folder = tmp_path / "in"
    folder.mkdir()
    bad = folder / name
    bad.write_text(make(source))
    before = snapshot(folder)
    for to in ("conda-store", "explicit", "conda-lock", "env"):
        with pytest.raises(error) as info:
            api.convert(source=bad, to=to, **kwargs)
        assert type(info.value) is error
        assert str(info.value).strip()
    assert snapshot(folder) == before


def test_missing_source_and_overwriting_the_source_are_refused(source, tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        api.convert(source=tmp_path / "nope.lock")
    before = snapshot(tmp_path)
    with pytest.raises(FormatError, match="replace it"):
        api.convert(source=source)  # conda-store -> conda-store.lock.json, the source itself
    assert snapshot(tmp_path) == before


# -- command line ------------------------------------------------------------------------


def test_cli_convert_json_and_errors(source, tmp_path, capsys):
    code = main(["convert", str(source), "--to", "explicit", "-o", str(tmp_path / "e.txt"),
                 "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["from"] == "conda-store" and report["to"] == "explicit"
    assert [f["path"] for f in report["files"]] == [
        str(tmp_path / "e.linux-64.txt"), str(tmp_path / "e.osx-arm64.txt")]

    assert main(["convert", str(PIXI_V6), "-o", str(tmp_path / "p.json"),
                 "--environment", "with-pypi"]) == 1
    err = capsys.readouterr().err
    assert "PyPI package(s) in environment 'with-pypi' (six): not supported yet" in err
    assert not (tmp_path / "p.json").exists()

    assert main(["convert", str(PIXI_V7), "-o", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "(pixi, environment default) to conda-store" in out
    assert f"{tmp_path / 'p.json'}: 9 packages" in out
