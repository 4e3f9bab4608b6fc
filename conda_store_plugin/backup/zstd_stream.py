"""The zstd-compressed stream of a backup: written atomically, read with its end checked.

Writing (:func:`zstd_output`) goes to a temp file beside the target, fsync'd and renamed
over it only when the whole archive was written: a crash or error leaves no half
backup under the target name. The stream is one zstd frame with a content checksum.

Reading (:class:`ZstdReader`) decompresses in small steps (4 KiB of input at a time:
bounded memory even for a decompression bomb) and refuses, with
``ArchiveIntegrityError``, a stream that ends before the frame does (a truncated
file), damaged data (zstd checks the frame checksum) and bytes after the frame.
``python-zstandard``'s own ``stream_reader`` returns short data silently on a truncated
file, hence this reader.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ..atomic import atomic_open
from ..exceptions import ArchiveIntegrityError, BackupFormatError

MAGIC = b"\x28\xb5\x2f\xfd"
_INPUT_CHUNK = 4096


@contextmanager
def zstd_output(path: Path, *, level: int = 3) -> Iterator[IO[bytes]]:
    """A binary stream compressed into ``path``; the file appears only on success."""
    import zstandard

    with atomic_open(Path(path)) as raw:
        compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
        writer = compressor.stream_writer(raw, closefd=False)
        yield writer
        writer.close()  # ends the frame (a flush(FLUSH_FRAME) first would add another)


class ZstdReader(io.RawIOBase):
    """Decompress a zstd file object; see the module doc. Call :meth:`finish` at the end."""

    def __init__(self, raw: IO[bytes], *, source: str | Path) -> None:
        import zstandard

        super().__init__()
        self._raw = raw
        self._source = str(source)
        self._error = zstandard.ZstdError
        self._dobj = zstandard.ZstdDecompressor().decompressobj()
        self._buf = memoryview(b"")
        head = raw.read(len(MAGIC))
        if head != MAGIC:
            raise BackupFormatError(source, "not zstd-compressed (a conda-store backup is "
                                            "a .tar.zst file)")
        self._feed(head)

    def readable(self) -> bool:
        """Yes."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with decompressed bytes; 0 at the end of the frame."""
        while not self._buf:
            if self._dobj.eof:
                return 0
            chunk = self._raw.read(_INPUT_CHUNK)
            if not chunk:
                raise ArchiveIntegrityError(self._source, "truncated: the compressed "
                                                          "stream ends before its end mark")
            self._feed(chunk)
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def _feed(self, chunk: bytes) -> None:
        try:
            self._buf = memoryview(self._dobj.decompress(chunk))
        except self._error as exc:
            raise ArchiveIntegrityError(self._source, f"damaged compressed data: {exc}") \
                from None

    def finish(self) -> None:
        """Read what is left; the frame must end exactly where the file ends."""
        sink = bytearray(1 << 16)
        while self.readinto(sink):
            pass
        if self._dobj.unused_data or self._raw.read(1):
            raise ArchiveIntegrityError(self._source, "unexpected data after the end of "
                                                      "the compressed stream")


@contextmanager
def zstd_input(path: Path) -> Iterator[ZstdReader]:
    """Open a backup file for reading as a decompressed stream."""
    try:
        raw = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise BackupFormatError(path, "no such file",
                                hint="Give the file `conda store backup` wrote.") from None
    except OSError as exc:
        raise BackupFormatError(path, f"cannot read: {exc}") from None
    with raw:
        reader = ZstdReader(raw, source=path)
        yield reader
