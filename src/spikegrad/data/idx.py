"""Reader for IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.

Byte layout (big-endian), as documented at yann.lecun.com/exdb/mnist:

======  =====================================================================
offset  content
======  =====================================================================
0       two zero bytes
2       type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
3       number of dimensions ``ndim`` (>= 1)
4       ``ndim`` dimension sizes, each a big-endian int32
4+4*ndim  the data, ``prod(dims)`` items of the type above, row-major, nothing after it
======  =====================================================================

MNIST images have magic ``0x00000803`` (uint8, dims ``[N, 28, 28]``); labels have ``0x00000801``
(uint8, dims ``[N]``). Gzip is detected by its magic bytes, not by the file name. For a gzip file,
byte offsets in error messages refer to the decompressed stream.

**Bounded reading.** The header gives the exact size of the file, so a gzip file is decompressed as
a stream only as far as the header says (plus a small probe for trailing bytes): a decompression bomb
is refused after its header, a header declaring more than the file can hold before anything is
allocated (:mod:`spikegrad.data.fileio`), and a stream longer than :data:`MAX_IDX_BYTES` (1 GiB,
about twice EMNIST ByClass's training images) is refused unless ``max_bytes`` says otherwise.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np

from spikegrad.data.fileio import DataStream, open_data_stream
from spikegrad.errors import DataFormatError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
MAX_IDX_BYTES = 1 << 30

_DTYPES: dict[int, tuple[str, np.dtype]] = {
    0x08: ("uint8", np.dtype(">u1")),
    0x09: ("int8", np.dtype(">i1")),
    0x0B: ("int16", np.dtype(">i2")),
    0x0C: ("int32", np.dtype(">i4")),
    0x0D: ("float32", np.dtype(">f4")),
    0x0E: ("float64", np.dtype(">f8")),
}


def _describe(magic: int) -> str:
    """A magic number in words: ``"uint8, 3 dims"``."""
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    name = _DTYPES[code][0] if code in _DTYPES else f"unknown type 0x{code:02x}"
    return f"{name}, {ndim} dims"


def _read_header(stream: DataStream, expect_magic: int | None) -> tuple[int, tuple[int, ...]]:
    """Read and check the magic number and the dimension sizes; returns ``(type code, dims)``."""
    path, what, name = stream.path, stream.what, stream.stream_name
    head = stream.read(4)
    if len(head) < 4:
        raise DataFormatError(
            path, f"{what}: IDX header truncated: expected a 4-byte magic number, {name} ends after {len(head)} bytes",
            offset=len(head),
        )
    magic, code, ndim = int.from_bytes(head, "big"), head[2], head[3]
    if head[:2] != b"\x00\x00":
        raise DataFormatError(
            path, f"{what}: bad IDX magic number 0x{magic:08x}: an IDX file starts with two zero bytes "
            f"(MNIST images: 0x{IMAGES_MAGIC:08x}, labels: 0x{LABELS_MAGIC:08x})", offset=0,
        )
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02x} {n}" for c, (n, _) in _DTYPES.items())
        raise DataFormatError(path, f"{what}: unknown IDX type code 0x{code:02x}; expected one of {known}", offset=2)
    if ndim == 0:
        raise DataFormatError(path, f"{what}: IDX header says 0 dimensions; expected at least 1", offset=3)
    if expect_magic is not None and magic != expect_magic:
        raise DataFormatError(
            path, f"{what}: IDX magic number 0x{magic:08x} ({_describe(magic)}), "
            f"expected 0x{expect_magic:08x} ({_describe(expect_magic)})", offset=0,
        )
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataFormatError(
            path, f"{what}: IDX header truncated: {ndim} dims need a {4 + 4 * ndim}-byte header, "
            f"{name} ends after {4 + len(sizes)} bytes", offset=4 + len(sizes),
        )
    dims = struct.unpack(f">{ndim}i", sizes)
    for axis, size in enumerate(dims):
        if size < 0:
            raise DataFormatError(path, f"{what}: dimension {axis} is negative ({size})", offset=4 + 4 * axis)
    return code, dims


def _read_items(stream: DataStream, code: int, dims: tuple[int, ...]) -> np.ndarray:
    """Read the ``prod(dims)`` items the header declares, then check that nothing follows them.

    The declared size is checked against what the file can hold before anything is allocated, and
    decompression stops one probe past the declared end, so a gzip bomb costs no more than its header
    says (see :mod:`spikegrad.data.fileio`).
    """
    path, what, name = stream.path, stream.what, stream.stream_name
    header_len, dtype = stream.position, _DTYPES[code][1]
    size = math.prod(dims) * dtype.itemsize
    end = header_len + size
    stream.check_declared(end, f"IDX dims {list(dims)} need {size} data bytes")
    raw = stream.read_array(size)
    if len(raw) < size:
        raise DataFormatError(
            path, f"{what}: IDX data truncated: dims {list(dims)} need {size} data bytes "
            f"(bytes {header_len}..{end} of {name}), but {name} ends at byte {stream.position}",
            offset=stream.position,
        )
    rest = stream.count_rest()
    if rest != 0:
        count = f"{rest}" if rest is not None else "more than 65536"
        raise DataFormatError(
            path, f"{what}: {count} unexpected trailing bytes after the IDX data, "
            f"which for dims {list(dims)} ends at byte {end} of {name}", offset=end,
        )
    items = raw.view(dtype).reshape(dims)
    return items.byteswap(inplace=True).view(dtype.newbyteorder("=")) if dtype.byteorder == ">" else items


def _read(path: str | os.PathLike, what: str, expect_magic: int | None, max_bytes: int) -> tuple[Path, np.ndarray]:
    """Open ``path`` (raw or gzip) and read one IDX array from it."""
    path = Path(path)
    with open_data_stream(path, what, max_bytes) as stream:
        code, dims = _read_header(stream, expect_magic)
        return path, _read_items(stream, code, dims)


def read_idx(path: str | os.PathLike, what: str = "IDX file", max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read any IDX file (see the module docstring for the byte layout).

    Args:
        path: the file, raw or gzip-compressed.
        what: what the file should hold, for error messages.
        max_bytes: the largest (decompressed) file accepted, :data:`MAX_IDX_BYTES` by default.

    Returns:
        A writable array of shape ``dims``, in native byte order, of the file's type (uint8 for
        MNIST and Fashion-MNIST).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, corrupt gzip, bad magic, truncated header or data, dims
            larger than the file can hold or than ``max_bytes``, or trailing bytes; the offset says where.
    """
    return _read(path, what, None, max_bytes)[1]


def read_idx_images(
    path: str | os.PathLike,
    image_shape: tuple[int, int] | None = None,
    what: str = "IDX images",
    max_bytes: int = MAX_IDX_BYTES,
) -> np.ndarray:
    """Read an IDX image file: magic ``0x00000803``, dims ``[N, rows, cols]``, uint8 pixels.

    Args:
        path: the file, raw or gzip-compressed.
        image_shape: the required ``(rows, cols)`` (``(28, 28)`` for MNIST), or None for any.
        what: what the file should hold, for error messages.
        max_bytes: the largest (decompressed) file accepted, :data:`MAX_IDX_BYTES` by default.

    Returns:
        uint8 array ``[N, rows, cols]``.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: as :func:`read_idx`, or a magic other than 0x00000803, or another image size.
    """
    path, images = _read(path, what, IMAGES_MAGIC, max_bytes)
    if image_shape is not None and images.shape[1:] != tuple(image_shape):
        raise DataFormatError(
            path, f"{what}: images are {images.shape[1]}x{images.shape[2]}, "
            f"expected {image_shape[0]}x{image_shape[1]}", offset=8,
        )
    return images


def read_idx_labels(
    path: str | os.PathLike, num_classes: int | None = None, what: str = "IDX labels", max_bytes: int = MAX_IDX_BYTES
) -> np.ndarray:
    """Read an IDX label file: magic ``0x00000801``, dims ``[N]``, one uint8 label per item.

    Args:
        path: the file, raw or gzip-compressed.
        num_classes: when given, every label must be in ``0..num_classes-1``.
        what: what the file should hold, for error messages.
        max_bytes: the largest (decompressed) file accepted, :data:`MAX_IDX_BYTES` by default.

    Returns:
        uint8 array ``[N]``.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: as :func:`read_idx`, or a magic other than 0x00000801, or a label out of
            range (the offset is that label's byte).
    """
    path, labels = _read(path, what, LABELS_MAGIC, max_bytes)
    if num_classes is not None:
        bad = np.flatnonzero(labels >= num_classes)
        if bad.size:
            raise DataFormatError(
                path, f"{what}: label {labels[bad[0]]} at index {bad[0]} is out of range, "
                f"expected 0..{num_classes - 1}", offset=8 + int(bad[0]),
            )
    return labels


def read_idx_pair(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    image_shape: tuple[int, int] | None = (28, 28),
    num_classes: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Read an IDX images file and its IDX labels file, and check that their counts agree.

    Returns:
        ``(images, labels)``: uint8 ``[N, rows, cols]`` and int64 ``[N]``.

    Raises:
        DataNotFoundError: a file does not exist.
        DataFormatError: either file is malformed (see :func:`read_idx_images`,
            :func:`read_idx_labels`), or the label count differs from the image count.
    """
    images = read_idx_images(images_path, image_shape)
    labels = read_idx_labels(labels_path, num_classes)
    if len(labels) != len(images):
        raise DataFormatError(
            labels_path, f"IDX labels: {len(labels)} labels, but the images file {images_path} holds "
            f"{len(images)} images; expected one label per image", offset=4,
        )
    return images, labels.astype(np.int64)
