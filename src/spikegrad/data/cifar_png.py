"""Readers for CIFAR-10 images stored as PNG files, in two folder layouts.

* Kaggle ("CIFAR-10 - Object Recognition in Images"): ``1.png``, ``2.png``, ... plus
  ``trainLabels.csv``, one ``<id>,<classname>`` line per image where ``<id>`` is ``N.png`` or
  ``N`` and ``<classname>`` one of :data:`~spikegrad.data.cifar.CLASS_NAMES`. An ``id,label``
  header line is skipped when present.
* foolbox (``foolbox/data``): ``cifar10_<index>_<label>.png``, where ``<index>`` is the position in
  the CIFAR-10 test set and ``<label>`` the class id 0..9.

Every PNG must be a 32x32 RGB image (PNG colour type 2, 8 bits per channel). Size, bit depth and
colour type are read from the PNG header before decoding, so an oversized image is refused unread.
"""

from __future__ import annotations

import io
import os
import re
import struct
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from spikegrad.data.cifar import CLASS_NAMES
from spikegrad.data.fileio import read_file_bytes
from spikegrad.errors import DataFormatError, DataNotFoundError

KAGGLE_LABELS = "trainLabels.csv"
_FOOLBOX_NAME = re.compile(r"cifar10_(\d+)_(\d+)\.png")
_WHAT = "CIFAR-10 PNG image"
MAX_PNG_BYTES = 1 << 20  # a 32x32 RGB PNG is about 3 KB; anything this large is not one
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR = struct.Struct(">I4sIIBBBBB")  # length, "IHDR", width, height, bit depth, colour type, ...
# PNG colour type -> (PIL-style mode name, allowed bit depths), from the PNG specification, table 11.1
_COLOUR_TYPES = {0: ("L", (1, 2, 4, 8, 16)), 2: ("RGB", (8, 16)), 3: ("P", (1, 2, 4, 8)), 4: ("LA", (8, 16)),
                 6: ("RGBA", (8, 16))}
_OTHER_FORMATS = {b"\xff\xd8\xff": "JPEG", b"BM": "BMP", b"GIF8": "GIF", b"II*\x00": "TIFF", b"MM\x00*": "TIFF",
                  b"RIFF": "RIFF (e.g. WebP)"}


def _png_header(path: Path, data: bytes) -> tuple[int, int, str]:
    """``(width, height, format in words)`` from the signature and IHDR chunk, before any decoding.

    Raises:
        DataFormatError: not a PNG (a JPEG, BMP, GIF, TIFF or WebP file is named as such), or the
            IHDR chunk is missing, cut short or holds an invalid colour type or bit depth.
    """
    if not data.startswith(PNG_SIGNATURE):
        found = next((name for magic, name in _OTHER_FORMATS.items() if data.startswith(magic)), None)
        what = f"a {found} file" if found else f"not a PNG file (first bytes {data[:8].hex(' ') or 'none'})"
        raise DataFormatError(path, f"{_WHAT}: {what}; expected the PNG signature 89 50 4e 47 0d 0a 1a 0a", offset=0)
    if len(data) < len(PNG_SIGNATURE) + _IHDR.size:
        raise DataFormatError(path, f"{_WHAT}: truncated before the end of its IHDR header", offset=len(data))
    length, kind, width, height, depth, colour, _, _, _ = _IHDR.unpack_from(data, len(PNG_SIGNATURE))
    if kind != b"IHDR" or length != 13:
        raise DataFormatError(path, f"{_WHAT}: the first chunk is not a 13-byte IHDR header", offset=8)
    if colour not in _COLOUR_TYPES or depth not in _COLOUR_TYPES[colour][1]:
        raise DataFormatError(path, f"{_WHAT}: invalid IHDR: colour type {colour} with bit depth {depth}", offset=24)
    mode = _COLOUR_TYPES[colour][0]
    return width, height, mode if depth == 8 else f"{depth}-bit {mode}"


def read_png_rgb(path: str | os.PathLike, size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Read one PNG that must be an 8-bit RGB image of ``size`` = ``(height, width)``.

    The file's size (at most :data:`MAX_PNG_BYTES`), signature, dimensions, bit depth and colour type
    are checked from its header before anything is decoded, so a huge image costs nothing.

    Returns:
        uint8 array ``[height, width, 3]``.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, too large, not a PNG (JPEG, BMP... named ``.png``), not
            8-bit RGB, another size, or not decodable.
    """
    path = Path(path)
    data = read_file_bytes(path, _WHAT, max_bytes=MAX_PNG_BYTES)
    width, height, mode = _png_header(path, data)
    if mode != "RGB" or (height, width) != tuple(size):
        raise DataFormatError(path, f"{_WHAT}: {width}x{height} {mode}, expected {size[1]}x{size[0]} RGB")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            if (image.mode, image.size) != ("RGB", (width, height)):
                raise DataFormatError(path, f"{_WHAT}: decodes to {image.size} {image.mode}, unlike its header")
            return np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise DataFormatError(path, f"{_WHAT}: cannot decode it ({exc})") from exc


def _kaggle_rows(csv_path: Path) -> list[tuple[str, int, int]]:
    """Parse ``trainLabels.csv`` into ``(file name, label, line number)`` rows."""
    try:
        text = read_file_bytes(csv_path, "Kaggle CIFAR-10 labels").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(csv_path, "Kaggle CIFAR-10 labels: not UTF-8 text", offset=exc.start) from exc
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (lineno == 1 and line.strip().lower() == "id,label"):
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 2 or not re.fullmatch(r"\d+(\.png)?", fields[0]):
            raise DataFormatError(
                csv_path, f"Kaggle CIFAR-10 labels: line {lineno}: {line[:60]!r}, expected '<N>.png,<classname>'"
            )
        if fields[1] not in CLASS_NAMES:
            raise DataFormatError(
                csv_path, f"Kaggle CIFAR-10 labels: line {lineno}: unknown class {fields[1]!r}, "
                f"expected one of {', '.join(CLASS_NAMES)}",
            )
        name = fields[0] if fields[0].endswith(".png") else f"{fields[0]}.png"
        rows.append((name, CLASS_NAMES.index(fields[1]), lineno))
    if not rows:
        raise DataFormatError(csv_path, "Kaggle CIFAR-10 labels: no rows; expected '<N>.png,<classname>' lines")
    return rows


def read_cifar_kaggle_png(folder: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a Kaggle-layout CIFAR-10 folder (see the module docstring).

    Returns:
        ``(images, labels)``: uint8 ``[N, 32, 32, 3]`` and int64 ``[N]``, in ``trainLabels.csv`` order.

    Raises:
        DataNotFoundError: ``trainLabels.csv`` or a PNG it lists does not exist.
        DataFormatError: a malformed CSV line (the message gives its number), an unknown class name,
            a duplicate id, or a PNG that is not 32x32 RGB.
    """
    folder = Path(folder)
    csv_path = folder / KAGGLE_LABELS
    rows = _kaggle_rows(csv_path)
    seen: dict[str, int] = {}
    for name, _, lineno in rows:
        if name in seen:
            raise DataFormatError(
                csv_path, f"Kaggle CIFAR-10 labels: line {lineno}: {name} already listed on line {seen[name]}"
            )
        seen[name] = lineno
    images = np.stack([read_png_rgb(folder / name) for name, _, _ in rows])
    return images, np.array([label for _, label, _ in rows], dtype=np.int64)


def read_cifar_foolbox_png(folder: str | os.PathLike, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Read a foolbox-layout CIFAR-10 folder (``cifar10_<index>_<label>.png``; see the module docstring).

    Returns:
        ``(images, labels)``: uint8 ``[N, 32, 32, 3]`` and int64 ``[N]``, sorted by ``<index>``.

    Raises:
        DataNotFoundError: the folder does not exist or holds no ``cifar10_*_*.png`` file.
        DataFormatError: two files with the same index, a label outside ``0..num_classes-1``, or a
            PNG that is not 32x32 RGB.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(folder, "foolbox CIFAR-10 folder: not found")
    entries: dict[int, tuple[Path, int]] = {}
    for path in folder.iterdir():
        match = _FOOLBOX_NAME.fullmatch(path.name)
        if match is None:
            continue
        index, label = int(match[1]), int(match[2])
        if label >= num_classes:
            raise DataFormatError(
                path, f"foolbox CIFAR-10 PNG: label {label} in the name, expected 0..{num_classes - 1}"
            )
        if index in entries:
            raise DataFormatError(path, f"foolbox CIFAR-10 PNG: index {index} is also used by {entries[index][0].name}")
        entries[index] = (path, label)
    if not entries:
        raise DataNotFoundError(folder, "foolbox CIFAR-10 folder: no cifar10_<index>_<label>.png files")
    ordered = [entries[index] for index in sorted(entries)]
    images = np.stack([read_png_rgb(path) for path, _ in ordered])
    return images, np.array([label for _, label in ordered], dtype=np.int64)
