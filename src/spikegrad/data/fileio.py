"""Open data files safely: regular files only, bounded reads, gzip decompressed as a stream.

Every reader in :mod:`spikegrad.data` reads its files through this module, so that:

* **Only regular files are read.** ``os.stat`` decides before the file is opened: a folder, FIFO,
  socket or device in place of a data file is a :class:`~spikegrad.errors.DataFormatError` naming
  the file (opening a FIFO would block, a device can be endless). The file is then opened
  non-blocking and checked again, so that swapping it between the two steps does not help.
* **A size limit is checked before reading.** :func:`read_file_bytes` refuses a file larger than the
  limit its reader documents, from the file's size, without reading it.
* **Gzip is decompressed as a stream** (:class:`DataStream`), so a reader reads its header first,
  derives from it the size it still needs, and stops there. Gzip is detected by the magic bytes
  ``1f 8b``, never by the file name. A declared size that the file cannot hold is refused before
  anything is allocated: a plain file holds at most its size, a gzip file at most
  :data:`GZIP_MAX_RATIO` times its compressed size (deflate cannot expand data more than that).
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Self

import numpy as np

from spikegrad.errors import DataFormatError, DataNotFoundError

GZIP_MAGIC = b"\x1f\x8b"
GZIP_MAX_RATIO = 1032  # deflate's largest expansion: 258 bytes from 2 bits (zlib technical details)
CHUNK_BYTES = 1 << 20  # decompressed bytes produced per step, which bounds gzip's temporaries
MAX_TEXT_BYTES = 16 << 20  # list and label files: the largest real one (DVS Gesture's) is a few KB
_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
)  # fmt: skip


def _kind(mode: int) -> str:
    """What a non-regular file is, in words, from its ``st_mode``."""
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def regular_file_size(path: str | os.PathLike, what: str) -> int:
    """Size in bytes of ``path`` after checking, without opening it, that it is a regular file.

    Args:
        path: the file (symbolic links are followed).
        what: what the file should hold, in words (``"MNIST test images"``), for error messages.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: the path is a folder, FIFO, socket or device, or cannot be examined.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise DataNotFoundError(path, f"{what}: file not found") from exc
    except OSError as exc:
        raise DataFormatError(path, f"{what}: cannot read the file ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(info.st_mode):
        raise DataFormatError(path, f"{what}: expected a regular file, found {_kind(info.st_mode)}")
    return info.st_size


def open_regular_file(path: str | os.PathLike, what: str) -> tuple[BinaryIO, int]:
    """Open ``path`` for binary reading once :func:`regular_file_size` accepts it.

    Returns:
        ``(file, size)``: the open file (the caller closes it) and its size in bytes.

    Raises:
        DataNotFoundError, DataFormatError: as :func:`regular_file_size`, also when the path was
            replaced by something else between the check and the open.
    """
    path = Path(path)
    regular_file_size(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO swapped in must not block
    except FileNotFoundError as exc:
        raise DataNotFoundError(path, f"{what}: file not found") from exc
    except OSError as exc:
        raise DataFormatError(path, f"{what}: cannot read the file ({exc.strerror or exc})") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise DataFormatError(path, f"{what}: expected a regular file, found {_kind(info.st_mode)}")
    return os.fdopen(fd, "rb"), info.st_size


def _limit_error(path: Path, what: str, size: int, max_bytes: int) -> DataFormatError:
    """The error for a file of ``size`` bytes over its reader's ``max_bytes``."""
    return DataFormatError(
        path, f"{what}: the file is {size} bytes, more than the {max_bytes}-byte limit for this kind of file; "
        "pass a larger max_bytes if it is genuine",
    )


def read_file_bytes(path: str | os.PathLike, what: str, max_bytes: int | None = None) -> bytes:
    """Return the bytes of the regular file ``path``, as stored on disk.

    Args:
        path: the file to read.
        what: what the file should hold, in words, for error messages.
        max_bytes: refuse, before reading, a file larger than this (None: no limit).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, larger than ``max_bytes``, or unreadable.
    """
    path = Path(path)
    file, size = open_regular_file(path, what)
    with file:
        if max_bytes is not None and size > max_bytes:
            raise _limit_error(path, what, size, max_bytes)
        try:
            data = file.read() if max_bytes is None else file.read(max_bytes + 1)
        except OSError as exc:
            raise DataFormatError(path, f"{what}: cannot read the file ({exc.strerror or exc})") from exc
    if max_bytes is not None and len(data) > max_bytes:  # the file grew after it was checked
        raise _limit_error(path, what, len(data), max_bytes)
    return data


def read_text_lines(
    path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES
) -> list[tuple[int, int, str]]:
    """The lines of a small ASCII text file (lists, label CSVs) with their numbers and offsets.

    Args:
        path: the file (any line ends: LF, CRLF, CR).
        what: what the file should hold, for error messages.
        max_bytes: refuse, before reading, a larger file (:data:`MAX_TEXT_BYTES` by default).

    Returns:
        ``(line number from 1, byte offset, text without its line end)`` for every line. A non-ASCII
        byte becomes U+FFFD, one character per byte, so offsets stay byte offsets and a reader that
        checks its fields reports the line.

    Raises:
        DataNotFoundError, DataFormatError: as :func:`read_file_bytes`.
    """
    text = read_file_bytes(path, what, max_bytes).decode("ascii", errors="replace")
    lines, offset = [], 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        lines.append((number, offset, line.rstrip("\r\n")))
        offset += len(line)
    return lines


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` starts with the gzip magic bytes ``1f 8b``."""
    return data[:2] == GZIP_MAGIC


class DataStream:
    """A regular data file opened for reading, gunzipped on the fly when it starts with ``1f 8b``.

    Use :func:`open_data_stream`. Reads return at most what was asked and fewer bytes only at the end
    of the stream; gzip faults become :class:`~spikegrad.errors.DataFormatError` naming the file.

    Attributes:
        path: the file.
        what: what the file should hold, for error messages.
        gz: whether the file is gzip.
        stored_size: the file's size on disk.
        position: bytes of the (decompressed) stream returned so far.
        limit: most bytes the (decompressed) stream may hold, or None.
    """

    def __init__(self, path: Path, what: str, file: BinaryIO, size: int, limit: int | None):
        self.path, self.what, self.stored_size, self.limit = path, what, size, limit
        self._raw = file
        self.gz = self._fault_guard(file.read, 2) == GZIP_MAGIC
        file.seek(0)
        self._source: BinaryIO = gzip.GzipFile(fileobj=file, mode="rb") if self.gz else file
        self.position = 0

    @property
    def stream_name(self) -> str:
        """``"the decompressed stream"`` or ``"the file"``, for messages about offsets."""
        return "the decompressed stream" if self.gz else "the file"

    @property
    def capacity(self) -> int:
        """Most bytes the stream can hold in all: the file size, or the gzip expansion bound."""
        return self.stored_size * GZIP_MAX_RATIO if self.gz else self.stored_size

    def check_declared(self, end: int, detail: str) -> None:
        """Refuse a header that declares a stream of ``end`` bytes which this file cannot hold.

        Checked before the data is read or allocated. For a plain file the error's offset is the file
        size, where the data would run out.

        Args:
            end: the stream length the header implies (header included).
            detail: what needs these bytes, e.g. ``"dims [10, 28, 28] need 7840 data bytes"``.
        """
        if self.limit is not None and end > self.limit:
            raise DataFormatError(
                self.path, f"{self.what}: {detail}, a {end}-byte stream in all, more than the {self.limit}-byte "
                "limit for this kind of file; pass a larger max_bytes if it is genuine",
            )
        if end <= self.capacity:
            return
        if self.gz:
            raise DataFormatError(
                self.path, f"{self.what}: {detail}, but a gzip file of {self.stored_size} bytes decompresses to "
                f"at most {self.capacity} bytes (truncated file or corrupt header)",
            )
        raise DataFormatError(
            self.path, f"{self.what}: truncated: {detail} (bytes {self.position}..{end} of the file), "
            f"but the file ends at byte {self.stored_size}", offset=self.stored_size,
        )

    def _fault_guard(self, step: Callable[[Any], Any], argument: Any) -> Any:
        """Return ``step(argument)`` (one read), turning gzip and I/O faults into DataFormatError."""
        try:
            return step(argument)
        except EOFError as exc:
            raise DataFormatError(
                self.path, f"{self.what}: gzip stream is truncated, it ends before its end-of-stream marker",
                offset=self.stored_size,
            ) from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise DataFormatError(self.path, f"{self.what}: corrupt gzip stream ({exc})") from exc
        except OSError as exc:
            raise DataFormatError(self.path, f"{self.what}: cannot read the file ({exc.strerror or exc})") from exc

    def _check_limit(self) -> None:
        """Refuse a stream that has grown past :attr:`limit`."""
        if self.limit is not None and self.position > self.limit:
            raise DataFormatError(
                self.path, f"{self.what}: {self.stream_name} is longer than the {self.limit}-byte limit for this "
                "kind of file; pass a larger max_bytes if it is genuine",
            )

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the stream."""
        pieces = []
        while size > 0:
            piece = self._fault_guard(self._source.read, min(size, CHUNK_BYTES))
            if not piece:
                break
            pieces.append(piece)
            size -= len(piece)
            self.position += len(piece)
            self._check_limit()
        return b"".join(pieces)

    def read_array(self, size: int) -> np.ndarray:
        """Up to ``size`` bytes as a uint8 array, filled in place (no second copy of the data).

        Call :meth:`check_declared` first: the array is reserved at ``size`` but only the pages the
        stream actually fills are touched, so a header that lies costs no more than the real data.
        """
        out = np.empty(size, dtype=np.uint8)
        view, filled = memoryview(out), 0
        while filled < size:
            count = self._fault_guard(self._source.readinto, view[filled : filled + CHUNK_BYTES])
            if not count:
                break
            filled += count
            self.position += count
            self._check_limit()
        return out[:filled]

    def count_rest(self, probe: int = 1 << 16) -> int | None:
        """Bytes left in the stream, reading at most ``probe`` of them (None: at least ``probe`` left).

        For a plain file the count is exact and nothing is read. Reading a gzip stream to its end also
        checks its CRC, so a corrupt trailer is reported here.
        """
        if not self.gz:
            return self.stored_size - self.position
        left = len(self.read(probe))
        if left < probe:
            return left
        return None if self.read(1) else left

    def lines(self, max_line_bytes: int) -> Iterator[tuple[int, int, bytes]]:
        """Yield ``(line number from 1, byte offset, line)`` for each ``\\n``-ended line, ``\\r`` removed.

        A last line without ``\\n`` is yielded too. Memory stays within one chunk plus one line.

        Raises:
            DataFormatError: a line is longer than ``max_line_bytes`` (which stops a stream of one
                endless line, such as a decompression bomb of zeros, after one chunk).
        """
        pending, offset, number = b"", 0, 0
        while chunk := self.read(CHUNK_BYTES):
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                number += 1
                yield number, offset, self._checked_line(number, offset, line, max_line_bytes)
                offset += len(line) + 1
            self._check_length(number + 1, offset, len(pending) - 1, max_line_bytes)  # its '\r' may come next
        if pending:
            yield number + 1, offset, self._checked_line(number + 1, offset, pending, max_line_bytes)

    def _checked_line(self, number: int, offset: int, line: bytes, max_line_bytes: int) -> bytes:
        """``line`` without its ``\r``, once its length is checked."""
        line = line.removesuffix(b"\r")
        self._check_length(number, offset, len(line), max_line_bytes)
        return line

    def _check_length(self, number: int, offset: int, length: int, max_line_bytes: int) -> None:
        """Refuse line ``number`` (at ``offset``) when ``length`` exceeds ``max_line_bytes``."""
        if length > max_line_bytes:
            raise DataFormatError(
                self.path, f"{self.what}: line {number} is longer than {max_line_bytes} bytes, the longest "
                f"line this format allows (not a text file of this format, or missing line ends)", offset=offset,
            )

    def close(self) -> None:
        """Close the gzip reader and the file."""
        if self.gz:
            self._source.close()
        self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_data_stream(path: str | os.PathLike, what: str, max_bytes: int | None = None) -> DataStream:
    """Open the regular file ``path`` as a :class:`DataStream` (use it in a ``with`` block).

    Args:
        path: the file, raw or gzip-compressed (detected by its magic bytes).
        what: what the file should hold, for error messages.
        max_bytes: most bytes the (decompressed) stream may hold; reading past it is a
            DataFormatError (None: no limit beyond what the file can hold).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, or unreadable.
    """
    path = Path(path)
    file, size = open_regular_file(path, what)
    try:
        return DataStream(path, what, file, size, max_bytes)
    except BaseException:
        file.close()
        raise
