"""Read a whole data file into memory, decompressing it when it is gzip.

Compression is detected by the gzip magic bytes ``1f 8b`` at the start of the file, never by the
file name, so ``foo.gz`` holding raw bytes and ``foo`` holding gzip both read correctly.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from spikegrad.errors import DataFormatError, DataNotFoundError

GZIP_MAGIC = b"\x1f\x8b"


def read_file_bytes(path: str | os.PathLike, what: str) -> bytes:
    """Return the bytes of ``path``, as stored on disk.

    Args:
        path: the file to read.
        what: what the file should hold, in words (``"MNIST test images"``), for error messages.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: the path is a folder or cannot be read.
    """
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DataNotFoundError(path, f"{what}: file not found") from exc
    except IsADirectoryError as exc:
        raise DataFormatError(path, f"{what}: expected a file, found a folder") from exc
    except OSError as exc:
        raise DataFormatError(path, f"{what}: cannot read the file ({exc.strerror or exc})") from exc


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` starts with the gzip magic bytes ``1f 8b``."""
    return data[:2] == GZIP_MAGIC


def read_maybe_gzip(path: str | os.PathLike, what: str) -> tuple[bytes, bool]:
    """Return the content of ``path``, gunzipped when it starts with the gzip magic.

    Returns:
        ``(content, was_gzip)``: the (decompressed) bytes, and whether the file was gzip, so that
        callers can say that a byte offset refers to the decompressed stream.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: the file cannot be read, or its gzip stream is corrupt or truncated (the
            offset is then the compressed size, where the stream ran out).
    """
    path = Path(path)
    raw = read_file_bytes(path, what)
    if not is_gzip(raw):
        return raw, False
    try:
        return gzip.decompress(raw), True
    except EOFError as exc:
        raise DataFormatError(
            path, f"{what}: gzip stream is truncated, it ends before its end-of-stream marker", offset=len(raw)
        ) from exc
    except (OSError, zlib.error) as exc:
        raise DataFormatError(path, f"{what}: corrupt gzip stream ({exc})") from exc
