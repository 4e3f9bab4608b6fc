"""safe_tar: every hostile member is refused, and the destination is exactly as it was."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from conda_store_plugin.exceptions import ArchiveIntegrityError, UnsafeArchiveMemberError
from conda_store_plugin.safe_tar import SafeTarReader, check_name, safe_extract
from tests.support.store import snapshot


def tar_bytes(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def file_(name: str, data: bytes = b"payload", mode: int = 0o644) -> tuple:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> tuple:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, None


HOSTILE = {
    "path traversal": ([file_("ok.txt"), file_("../evil")], "path traversal"),
    "deep traversal": ([file_("a/b/../../../evil")], "path traversal"),
    "absolute path": ([file_("/tmp/abs-evil")], "absolute path"),
    "windows drive": ([file_("C:/evil")], "absolute path"),
    "backslash": ([file_("a\\..\\evil")], "backslash"),
    "symlink to /etc": ([special("etc", tarfile.SYMTYPE, "/etc")], "symbolic link"),
    "hardlink outside": ([special("passwd", tarfile.LNKTYPE, "../../etc/passwd")],
                         "hard link"),
    "char device": ([special("null", tarfile.CHRTYPE)], "device file"),
    "block device": ([special("sda", tarfile.BLKTYPE)], "device file"),
    "fifo": ([special("pipe", tarfile.FIFOTYPE)], "FIFO"),
    "oversized member": ([file_("big.bin", b"x" * 2048)], "oversized"),
    "duplicate name": ([file_("twice.txt"), file_("twice.txt", b"other")], "twice"),
    "not normalised": ([file_("a//b.txt")], "normalised"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_are_refused_and_nothing_changes(tmp_path, case):
    members, reason = HOSTILE[case]
    data = tar_bytes(*members)
    root = tmp_path / "root"
    (root / "existing").mkdir(parents=True)
    (root / "existing" / "keep.txt").write_text("keep")
    before = snapshot(tmp_path / "root")  # the staging folder only bumps root's mtime
    with pytest.raises(UnsafeArchiveMemberError, match=reason) as info:
        safe_extract(io.BytesIO(data), root / "dest", source="hostile.tar",
                     max_member_size=1024)
    assert info.value.member
    assert snapshot(tmp_path / "root") == before
    assert not (tmp_path / "evil").exists() and not Path("/tmp/abs-evil").exists()


def test_symlink_pointing_outside_is_refused_even_when_symlinks_are_allowed(tmp_path):
    for target in ("/etc", "../outside", "a/../../outside"):
        data = tar_bytes(special("link", tarfile.SYMTYPE, target))
        with pytest.raises(UnsafeArchiveMemberError, match="pointing outside"):
            safe_extract(io.BytesIO(data), tmp_path / "dest", allow_symlinks=True)
        assert list(tmp_path.iterdir()) == []


def test_a_file_written_through_an_inner_symlink_stays_inside(tmp_path):
    data = tar_bytes(_dir("sub"), special("link", tarfile.SYMTYPE, "sub"),
                     file_("link/x.txt", b"inside"))
    names = safe_extract(io.BytesIO(data), tmp_path / "dest", allow_symlinks=True)
    assert names == ["sub", "link", "link/x.txt"]
    assert (tmp_path / "dest" / "sub" / "x.txt").read_bytes() == b"inside"


def _dir(name: str) -> tuple:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def test_truncated_tar_is_refused_and_nothing_changes(tmp_path):
    data = tar_bytes(file_("a.txt", b"a" * 5000), file_("b.txt", b"b" * 5000))
    for cut in (len(data) // 2, 700, 600):
        with pytest.raises(ArchiveIntegrityError, match="truncated|damaged"):
            safe_extract(io.BytesIO(data[:cut]), tmp_path / "dest")
        assert list(tmp_path.iterdir()) == []


def test_a_good_archive_extracts_with_safe_modes(tmp_path):
    data = tar_bytes(_dir("bin"), file_("bin/tool", b"#!/bin/sh\n", mode=0o4755),
                     file_("./share/data.txt", b"data", mode=0o666))
    names = safe_extract(io.BytesIO(data), tmp_path / "dest", max_total_size=100)
    assert names == ["bin", "bin/tool", "share/data.txt"]
    assert (tmp_path / "dest" / "share" / "data.txt").read_bytes() == b"data"
    assert os.stat(tmp_path / "dest" / "bin" / "tool").st_mode & 0o7777 == 0o755
    assert os.stat(tmp_path / "dest" / "share" / "data.txt").st_mode & 0o7777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]  # no staging left behind


def test_total_size_limit_and_non_empty_destination(tmp_path):
    data = tar_bytes(file_("a", b"x" * 60), file_("b", b"y" * 60))
    with pytest.raises(UnsafeArchiveMemberError, match="more than 100 bytes"):
        safe_extract(io.BytesIO(data), tmp_path / "dest", max_total_size=100)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    before = snapshot(tmp_path / "full")
    with pytest.raises(ArchiveIntegrityError, match="not empty"):
        safe_extract(io.BytesIO(data), tmp_path / "full")
    assert snapshot(tmp_path / "full") == before


@pytest.mark.parametrize(("name", "expected"), [
    ("a/b.txt", "a/b.txt"), ("./a/b", "a/b"), ("dir/", "dir"), ("././x", "x")])
def test_check_name_normalises_safe_names(name, expected):
    assert check_name(name) == expected


@pytest.mark.parametrize("name", ["", "..", "../x", "a/../../x", "/x", "\\x", "C:x",
                                  "a\\b", "a/./b", "a//b", ".", "x\x00y"])
def test_check_name_refuses(name):
    with pytest.raises(UnsafeArchiveMemberError):
        check_name(name)


def test_reader_streams_and_hashes_members():
    import hashlib

    data = tar_bytes(file_("one", b"1" * 3000), file_("two", b"2"))
    reader = SafeTarReader(io.BytesIO(data), allow_dirs=False)
    got = {}
    for member in reader:
        chunks: list[bytes] = []
        got[member.name] = (reader.read(member, chunks.append), b"".join(chunks))
    assert got["one"] == (hashlib.sha256(b"1" * 3000).hexdigest(), b"1" * 3000)
    assert got["two"][1] == b"2"
    with pytest.raises(UnsafeArchiveMemberError, match="folder"):
        list(SafeTarReader(io.BytesIO(tar_bytes(_dir("d"))), allow_dirs=False))


def test_not_a_tar_is_an_integrity_error():
    with pytest.raises(ArchiveIntegrityError):
        list(SafeTarReader(io.BytesIO(b"this is not a tar file at all" * 40)))
