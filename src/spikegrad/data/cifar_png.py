"""Readers for CIFAR-10 images stored as PNG files, in two folder layouts.

* Kaggle ("CIFAR-10 - Object Recognition in Images"): ``1.png``, ``2.png``, ... plus
  ``trainLabels.csv``, one ``<id>,<classname>`` line per image where ``<id>`` is ``N.png`` or
  ``N`` and ``<classname>`` one of :data:`~spikegrad.data.cifar.CLASS_NAMES`. An ``id,label``
  header line is skipped when present.
* foolbox (``foolbox/data``): ``cifar10_<index>_<label>.png``, where ``<index>`` is the position in
  the CIFAR-10 test set and ``<label>`` the class id 0..9.

Every PNG must be a 32x32 RGB image (PIL mode ``"RGB"``, 8 bits per channel).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from spikegrad.data.cifar import CLASS_NAMES
from spikegrad.data.fileio import read_file_bytes
from spikegrad.errors import DataFormatError, DataNotFoundError

KAGGLE_LABELS = "trainLabels.csv"
_FOOLBOX_NAME = re.compile(r"cifar10_(\d+)_(\d+)\.png")


def read_png_rgb(path: str | os.PathLike, size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Read one PNG that must be an 8-bit RGB image of ``size`` = ``(height, width)``.

    Returns:
        uint8 array ``[height, width, 3]``.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a readable image, or not RGB, or another size.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(path, "CIFAR-10 PNG image: file not found")
    try:
        with Image.open(path) as image:
            image.load()
            mode, width, height = image.mode, image.width, image.height
            pixels = np.asarray(image, dtype=np.uint8) if mode == "RGB" else None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise DataFormatError(path, f"CIFAR-10 PNG image: cannot decode it ({exc})") from exc
    if mode != "RGB" or (height, width) != tuple(size):
        raise DataFormatError(
            path, f"CIFAR-10 PNG image: {width}x{height} {mode}, expected {size[1]}x{size[0]} RGB"
        )
    return pixels


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
