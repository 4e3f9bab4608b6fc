"""The package cache: one layout that conda and py-rattler both reuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conda_store_plugin import lockfile
from conda_store_plugin.cache_lock import cache_lock
from conda_store_plugin.pkgs_cache import (
    CacheEntry,
    EntryState,
    entry_state,
    read_rattler_sha256,
)
from tests.support.installing import (
    BASE,
    PLATFORM,
    archives,
    install,
    make_locks,
    snapshot,
)

pytestmark = pytest.mark.skipif(PLATFORM not in ("linux-64", "osx-arm64", "win-64"),
                                reason=f"the test channel has no {PLATFORM} packages")


@pytest.fixture(scope="module")
def locks(tmp_path_factory, channel_server) -> dict[str, Path]:
    return make_locks(tmp_path_factory, channel_server)


@pytest.fixture
def pkgs(tmp_path) -> Path:
    return tmp_path / "pkgs"


def locked_packages(lock_path: Path):
    return lockfile.read(lock_path).platforms[PLATFORM].packages


def test_entry_layout_is_conda_and_rattler_readable(tmp_path, locks, pkgs, channel_server):
    install(locks["base"], tmp_path / "env", pkgs)
    urls = (pkgs / "urls.txt").read_text().splitlines()
    for pkg in locked_packages(locks["base"]):
        entry = CacheEntry(pkgs, pkg)
        # Downloads are streamed into their extraction: no archive is kept.
        assert not entry.archive.exists()
        # The extracted package with conda's repodata_record.json.
        record = json.loads(entry.record_path.read_text())
        index = json.loads((entry.extracted_dir / "info/index.json").read_text())
        assert {k: record[k] for k in ("url", "fn", "md5", "sha256", "size")} == {
            "url": pkg.url, "fn": pkg.fn, "md5": pkg.md5, "sha256": pkg.sha256,
            "size": pkg.size}
        assert record["channel"] == pkg.url.rsplit("/", 1)[0]
        for key in ("name", "version", "build", "build_number", "subdir", "arch",
                    "platform", "license_family", "timestamp"):
            assert record.get(key) == index.get(key), key
        assert record["depends"] == list(pkg.depends)
        # One urls.txt line, and py-rattler's metadata with the sha256.
        assert urls.count(pkg.url) == 1
        assert read_rattler_sha256(entry) == pkg.sha256
        assert entry_state(entry) is EntryState.VALID
    # Our temp files and locks are out of both tools' way.
    assert sorted(p.name for p in (pkgs / ".conda-store").iterdir()) == ["locks", "tmp"]
    assert list((pkgs / ".conda-store/tmp").iterdir()) == []


def seed_archives(pkgs: Path, lock: Path, channel_dir: Path) -> None:
    """Put the archives into the cache, as a backup restore (or conda) leaves them."""
    import shutil

    for pkg in locked_packages(lock):
        shutil.copyfile(channel_dir / pkg.subdir / pkg.fn, pkgs / pkg.fn)


def test_half_extracted_entries_are_redone_from_the_archive(tmp_path, locks, pkgs,
                                                            channel_server, channel_dir):
    install(locks["base"], tmp_path / "env", pkgs)
    seed_archives(pkgs, locks["base"], channel_dir)
    by_name = {p.name: CacheEntry(pkgs, p) for p in locked_packages(locks["base"])}
    (by_name["blob"].extracted_dir / "share/blob/blob.bin").unlink()  # a lost file
    by_name["prefixpkg"].record_path.unlink()  # extraction never finished
    (by_name["libfoo"].extracted_dir / "info/paths.json").write_text("{trunc")
    assert entry_state(by_name["blob"]) is EntryState.ARCHIVE

    channel_server.reset_log()
    result = install(locks["base"], tmp_path / "env2", pkgs)
    assert sorted(result.extracted) == ["blob-1.0.0-h0_0", "libfoo-1.1.0-h0_0",
                                        "prefixpkg-1.0.0-h0_0"]
    assert archives(channel_server) == {}  # from the archives, no download
    assert (tmp_path / "env2/share/blob/blob.bin").stat().st_size == 256 * 1024
    assert all(entry_state(e) is EntryState.VALID for e in by_name.values())


def test_damaged_or_foreign_archive_is_downloaded_again(tmp_path, locks, pkgs,
                                                        channel_server, channel_dir):
    install(locks["base"], tmp_path / "env", pkgs)
    seed_archives(pkgs, locks["base"], channel_dir)
    entry = next(CacheEntry(pkgs, p) for p in locked_packages(locks["base"])
                 if p.name == "blob")
    import shutil

    shutil.rmtree(entry.extracted_dir)
    entry.archive.write_bytes(os.urandom(entry.package.size))  # same size, wrong bytes
    channel_server.reset_log()
    result = install(locks["base"], tmp_path / "env2", pkgs)
    assert result.downloaded == ("blob-1.0.0-h0_0",)
    assert archives(channel_server) == {"noarch/blob-1.0.0-h0_0.conda": 1}
    assert entry_state(entry) is EntryState.VALID


def test_entry_without_archive_is_still_used(tmp_path, locks, pkgs, channel_server):
    """Like conda after `conda clean --tarballs` (and what installs leave)."""
    install(locks["base"], tmp_path / "env", pkgs)
    for pkg in locked_packages(locks["base"]):
        assert not CacheEntry(pkgs, pkg).archive.exists()
    channel_server.reset_log()
    result = install(locks["base"], tmp_path / "env2", pkgs)
    assert len(result.reused) == 7 and archives(channel_server) == {}


def test_cache_filled_by_py_rattler_is_adopted(tmp_path, locks, pkgs, channel_server):
    from conda_store_plugin.engine import run
    from conda_store_plugin.records import record_from_locked

    async def rattler_fill():
        from rattler import Platform
        from rattler import install as rattler_install

        await rattler_install([record_from_locked(p) for p in locked_packages(locks["base"])],
                              tmp_path / "rattler-env", cache_dir=pkgs, show_progress=False,
                              platform=Platform(PLATFORM))

    run(rattler_fill)
    entry = CacheEntry(pkgs, locked_packages(locks["base"])[0])
    assert not entry.archive.exists() and not entry.record_path.exists()  # rattler's layout

    channel_server.reset_log()
    result = install(locks["base"], tmp_path / "env", pkgs)
    assert len(result.reused) == 7 and archives(channel_server) == {}
    for pkg in locked_packages(locks["base"]):
        record = json.loads(CacheEntry(pkgs, pkg).record_path.read_text())
        assert record["url"] == pkg.url and record["sha256"] == pkg.sha256
    assert len((pkgs / "urls.txt").read_text().splitlines()) == 7


def test_cache_lock_is_shared_between_installs_and_exclusive_for_cleaning(tmp_path):
    from filelock import Timeout

    outcome = {}

    def try_lock(shared: bool) -> None:
        try:
            with cache_lock(tmp_path, shared=shared, timeout=0.2):
                outcome[shared] = "got it"
        except Timeout:
            outcome[shared] = "timeout"

    with cache_lock(tmp_path, shared=True):
        for shared in (True, False):
            thread = threading.Thread(target=try_lock, args=(shared,))
            thread.start()
            thread.join()
    assert outcome == {True: "got it", False: "timeout"}


# -- with conda ---------------------------------------------------------------------


def conda(*args: str, pkgs: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CONDA_PKGS_DIRS": str(pkgs),
        "CONDA_ENVS_DIRS": str(tmp_path / "conda-envs"),
        "CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY": "false",
        "CONDA_NOTIFY_OUTDATED_CONDA": "false",
        "CONDA_SOLVER": "rattler",
        "CONDA_ALWAYS_YES": "true",
        "HOME": str(tmp_path / "home"),  # conda records envs in ~/.conda/environments.txt
    }
    proc = subprocess.run([sys.executable, "-m", "conda", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def entries(pkgs: Path) -> dict:
    """The cache entries (archives, folders, urls.txt), without repodata caches."""
    return {k: v for k, v in snapshot(pkgs).items()
            if not k.startswith(("cache", ".conda-store")) and not k.endswith(".lock")}


@pytest.mark.conda
def test_conda_create_reuses_our_cache_without_download_or_extraction(
        tmp_path, locks, pkgs, channel_server):
    install(locks["base"], tmp_path / "env", pkgs)
    before = entries(pkgs)
    channel_server.reset_log()
    conda("create", "-p", str(tmp_path / "conda-env"), "--override-channels",
          "-c", channel_server.url, *BASE, pkgs=pkgs, tmp_path=tmp_path)
    assert archives(channel_server) == {}
    assert entries(pkgs) == before  # nothing re-extracted, re-downloaded or deleted
    assert (tmp_path / "conda-env/share/blob/blob.bin").stat().st_size == 256 * 1024


@pytest.mark.conda
def test_we_reuse_a_cache_filled_by_conda(tmp_path, locks, pkgs, channel_server):
    conda("create", "-p", str(tmp_path / "conda-env"), "--override-channels",
          "-c", channel_server.url, *BASE, pkgs=pkgs, tmp_path=tmp_path)
    before = entries(pkgs)
    channel_server.reset_log()
    result = install(locks["base"], tmp_path / "env", pkgs)
    assert len(result.reused) == 7 and not result.downloaded and not result.extracted
    assert channel_server.log == []
    assert entries(pkgs) == before


@pytest.mark.conda
def test_environment_behaves_as_a_conda_made_one(tmp_path, locks, pkgs, channel_server):
    prefix = tmp_path / "env"
    install(locks["base"], prefix, pkgs)

    def names() -> set[str]:
        out = conda("list", "-p", str(prefix), "--json", pkgs=pkgs, tmp_path=tmp_path).stdout
        return {p["name"] for p in json.loads(out)}

    assert names() == {"blob", "libfoo", "libzlib", "numpylike", "prefixpkg", "purepkg",
                       "python"}
    # Removing one package removes only it (the history carries the requested specs).
    conda("remove", "-p", str(prefix), "--override-channels", "-c", channel_server.url,
          "blob", pkgs=pkgs, tmp_path=tmp_path)
    assert names() == {"libfoo", "libzlib", "numpylike", "prefixpkg", "purepkg", "python"}
    conda("install", "-p", str(prefix), "--override-channels", "-c", channel_server.url,
          "data-pkg", pkgs=pkgs, tmp_path=tmp_path)
    revisions = conda("list", "--revisions", "-p", str(prefix), "--json",
                      pkgs=pkgs, tmp_path=tmp_path).stdout
    revs = json.loads(revisions)
    assert [r["rev"] for r in revs] == [0, 1, 2]
    assert len(revs[0]["install"]) == 7 and revs[0]["remove"] == []
    assert revs[1]["install"] == [] and [r.split("-")[0] for r in revs[1]["remove"]] == ["blob"]
    assert [r.split("-")[0] for r in revs[2]["install"]] == ["data"]

    # Back to the lock: conda's change undone, conda's own record replaced.
    result = install(locks["base"], prefix, pkgs)
    assert result.added == ("blob-1.0.0-h0_0",)
    assert result.removed == ("data-pkg-0.1.0-h0_0",)
    assert names() == {"blob", "libfoo", "libzlib", "numpylike", "prefixpkg", "purepkg",
                       "python"}
    revs = json.loads(conda("list", "--revisions", "-p", str(prefix), "--json",
                            pkgs=pkgs, tmp_path=tmp_path).stdout)
    assert len(revs) == 4 and len(revs[3]["install"]) == 1 and len(revs[3]["remove"]) == 1


def _lose_a_file(entry: CacheEntry) -> str:
    """Delete the first file an entry lists (as a careless cleanup would); its path."""
    listed = json.loads((entry.extracted_dir / "info/paths.json").read_text())["paths"]
    lost = listed[0]["_path"]
    (entry.extracted_dir / lost).unlink()
    return lost


def test_new_env_whose_entry_lost_a_file_is_linked_after_redoing_it(tmp_path, locks, pkgs,
                                                                     channel_server):
    """Entries are trusted like conda and py-rattler trust them, without an lstat per file;
    when one lost a file, linking fails, and the entry is redone (downloaded, here: no
    archive is kept) and linked again."""
    install(locks["base"], tmp_path / "env", pkgs)
    entry = next(CacheEntry(pkgs, p) for p in locked_packages(locks["base"])
                 if p.name == "blob")
    lost = _lose_a_file(entry)
    channel_server.reset_log()
    events = []
    result = install(locks["base"], tmp_path / "env2", pkgs, progress=events.append)
    assert [e.kind for e in events].count("fetch") == 2  # checked again after the failure
    assert result.downloaded == ("blob-1.0.0-h0_0",)
    assert "blob-1.0.0-h0_0" not in result.reused
    assert archives(channel_server) == {"noarch/blob-1.0.0-h0_0.conda": 1}
    assert (tmp_path / "env2" / lost).is_file() and (entry.extracted_dir / lost).is_file()


def test_existing_env_is_linked_only_from_entries_checked_file_by_file(tmp_path, locks,
                                                                        pkgs, channel_server):
    """Adding to an existing environment checks every file first: nothing fails halfway."""
    install(locks["base"], tmp_path / "env", pkgs)
    install(locks["changed"], tmp_path / "other", pkgs)  # caches data-pkg
    entry = next(CacheEntry(pkgs, p) for p in locked_packages(locks["changed"])
                 if p.name == "data-pkg")
    lost = _lose_a_file(entry)
    assert entry_state(entry) is not EntryState.VALID
    assert entry_state(entry, check_files=False) is EntryState.VALID
    channel_server.reset_log()
    events = []
    result = install(locks["changed"], tmp_path / "env", pkgs, progress=events.append)
    assert [e.kind for e in events].count("fetch") == 1  # no failed link, no second look
    assert result.downloaded == (entry.dist,)
    assert (tmp_path / "env" / lost).is_file()


def test_urls_txt_gets_each_url_once_in_order(tmp_path):
    from conda_store_plugin.cache_entries import append_urls

    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / "urls.txt").write_text("https://h/a.conda\n")
    append_urls(pkgs, ["https://h/b.conda", "https://h/a.conda", "https://h/c.conda",
                       "https://h/b.conda"])
    append_urls(pkgs, [])
    assert (pkgs / "urls.txt").read_text().splitlines() == [
        "https://h/a.conda", "https://h/b.conda", "https://h/c.conda"]
