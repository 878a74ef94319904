"""CIFAR-10 PNG folders (Kaggle and foolbox layouts): real images, self-written folders, errors."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from spikegrad.data.cifar import CLASS_NAMES
from spikegrad.data.cifar_png import (
    MAX_PNG_BYTES,
    PNG_SIGNATURE,
    read_cifar_foolbox_png,
    read_cifar_kaggle_png,
    read_png_rgb,
)
from spikegrad.errors import DataFormatError, DataNotFoundError

KAGGLE_COUNTS = {"automobile": 28, "truck": 23, "bird": 22, "horse": 21, "cat": 21, "deer": 19, "dog": 19,
                 "frog": 18, "ship": 15, "airplane": 14}
FOOLBOX_LABELS = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]


def _png(path, pixels: np.ndarray, mode: str = "RGB"):
    Image.fromarray(pixels, mode=mode).save(path)
    return path


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def test_real_kaggle_first200(shared_data):
    images, labels = read_cifar_kaggle_png(shared_data / "cifar10" / "kaggle_train_first200")
    assert images.shape == (200, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert Counter(CLASS_NAMES[v] for v in labels) == KAGGLE_COUNTS
    assert 0 < images.mean() < 255


def test_real_foolbox_first20(shared_data):
    images, labels = read_cifar_foolbox_png(shared_data / "cifar10" / "foolbox_test_first20")
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == FOOLBOX_LABELS


@pytest.mark.parametrize("header", ["", "id,label\n"])
@pytest.mark.parametrize("suffix", [".png", ""])
def test_kaggle_roundtrip(tmp_path, header, suffix):
    images = _images(3)
    for i, image in enumerate(images, start=1):
        _png(tmp_path / f"{i}.png", image)
    rows = [f"{i}{suffix},{name}" for i, name in ((1, "ship"), (2, "airplane"), (3, "truck"))]
    (tmp_path / "trainLabels.csv").write_text(header + "\n".join(rows) + "\n")
    result, labels = read_cifar_kaggle_png(tmp_path)
    assert np.array_equal(result, images) and labels.tolist() == [8, 0, 9]


def test_foolbox_roundtrip_sorted_by_index(tmp_path):
    images = _images(3)
    for index, label in ((2, 7), (0, 3), (10, 1)):
        _png(tmp_path / f"cifar10_{index:02d}_{label}.png", images[min(index, 2)])
    (tmp_path / "mnist_00_7.png").write_bytes(b"ignored")
    result, labels = read_cifar_foolbox_png(tmp_path)
    assert labels.tolist() == [3, 7, 1]
    assert np.array_equal(result, images[[0, 2, 2]])


@pytest.mark.parametrize(
    ("pixels", "mode", "message"),
    [
        (np.zeros((31, 32, 3), np.uint8), "RGB", "32x31 RGB, expected 32x32 RGB"),
        (np.zeros((32, 64, 3), np.uint8), "RGB", "64x32 RGB, expected 32x32 RGB"),
        (np.zeros((32, 32), np.uint8), "L", "32x32 L, expected 32x32 RGB"),
        (np.zeros((32, 32, 4), np.uint8), "RGBA", "32x32 RGBA, expected 32x32 RGB"),
    ],
)
def test_wrong_png_size_or_mode(tmp_path, pixels, mode, message):
    path = _png(tmp_path / "1.png", pixels, mode)
    with pytest.raises(DataFormatError, match=message) as err:
        read_png_rgb(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("keep", "message"),
    [(0, "not a PNG file"), (10, "truncated before the end of its IHDR header"), (40, "cannot decode it"),
     (120, "cannot decode it")],
)
def test_corrupt_png(tmp_path, keep, message):
    good = _png(tmp_path / "good.png", _images(1)[0]).read_bytes()
    path = tmp_path / "1.png"
    path.write_bytes(good[:keep])
    with pytest.raises(DataFormatError, match=message) as err:
        read_png_rgb(path)
    assert str(path) in str(err.value)


# --- header checked before decoding (issue 18) --------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _handmade_png(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A valid PNG of zeros, compressed row by row so that even 9000x9000 costs little memory to make."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row = bytes(1 + (width * channels * depth + 7) // 8)  # filter byte 0, then the row
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    return _handmade_png(9000, 9000)


def test_9000x9000_png_is_refused_from_its_header(tmp_path, huge_png, refused_cheaply):
    path = tmp_path / "1.png"
    path.write_bytes(huge_png)
    assert path.stat().st_size < 300_000  # ~236 KB that decode to 243 MB of pixels
    refused_cheaply(lambda: read_png_rgb(path), DataFormatError, "9000x9000 RGB, expected 32x32 RGB")


def test_handmade_32x32_png_is_read(tmp_path):
    path = tmp_path / "1.png"
    path.write_bytes(_handmade_png(32, 32))
    assert Image.open(path).size == (32, 32)  # the helper writes PNGs that PIL reads
    assert read_png_rgb(path).shape == (32, 32, 3) and not read_png_rgb(path).any()


@pytest.mark.parametrize(
    ("depth", "colour", "message"),
    [(16, 2, "32x32 16-bit RGB, expected 32x32 RGB"), (16, 6, "32x32 16-bit RGBA"), (8, 3, "32x32 P, expected"),
     (1, 0, "32x32 1-bit L")],
)
def test_bit_depth_and_colour_type_from_the_header(tmp_path, depth, colour, message):
    path = tmp_path / "1.png"
    path.write_bytes(_handmade_png(32, 32, depth, colour))
    with pytest.raises(DataFormatError, match=message):
        read_png_rgb(path)


@pytest.mark.parametrize(("fmt", "name"), [("JPEG", "a JPEG file"), ("BMP", "a BMP file"), ("GIF", "a GIF file"),
                                           ("TIFF", "a TIFF file")])
def test_other_formats_named_png_are_refused(tmp_path, fmt, name):
    path = tmp_path / "1.png"
    Image.fromarray(_images(1)[0]).save(path, format=fmt)
    with pytest.raises(DataFormatError, match=f"{name}; expected the PNG signature") as err:
        read_png_rgb(path)
    assert err.value.offset == 0


def test_invalid_ihdr(tmp_path):
    good = _handmade_png(32, 32)
    path = tmp_path / "1.png"
    path.write_bytes(good[:8] + _chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 7, 2, 0, 0, 0)) + good[33:])
    with pytest.raises(DataFormatError, match="invalid IHDR: colour type 2 with bit depth 7"):
        read_png_rgb(path)
    path.write_bytes(good[:8] + _chunk(b"tEXt", b"k\x00v") + good[8:])
    with pytest.raises(DataFormatError, match="first chunk is not a 13-byte IHDR"):
        read_png_rgb(path)


def test_png_over_the_size_limit_is_refused_unread(tmp_path):
    good = _handmade_png(32, 32)
    path = tmp_path / "1.png"
    path.write_bytes(good[:-12] + _chunk(b"zzZz", bytes(MAX_PNG_BYTES)) + good[-12:])  # a big private chunk
    with pytest.raises(DataFormatError, match=f"more than the {MAX_PNG_BYTES}-byte limit"):
        read_png_rgb(path)


def _kaggle_folder(tmp_path, csv: str, n: int = 2):
    for i, image in enumerate(_images(n), start=1):
        _png(tmp_path / f"{i}.png", image)
    (tmp_path / "trainLabels.csv").write_text(csv)
    return tmp_path


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("1.png,frog\n2.png\n", r"line 2: '2.png', expected '<N>.png,<classname>'"),
        ("1.png,frog\nabc.png,frog\n", "line 2: 'abc.png,frog'"),
        ("1.png,frog,extra\n", "line 1: '1.png,frog,extra'"),
        ("1.png,frog\n2.png,unicorn\n", "line 2: unknown class 'unicorn'"),
        ("1.png,frog\n1.png,cat\n", "line 2: 1.png already listed on line 1"),
        ("\n", "no rows"),
    ],
)
def test_kaggle_bad_csv(tmp_path, csv, message):
    folder = _kaggle_folder(tmp_path, csv)
    with pytest.raises(DataFormatError, match=message) as err:
        read_cifar_kaggle_png(folder)
    assert "trainLabels.csv" in str(err.value)


def test_kaggle_missing_png(tmp_path):
    folder = _kaggle_folder(tmp_path, "1.png,frog\n3.png,cat\n")
    with pytest.raises(DataNotFoundError, match="3.png: CIFAR-10 PNG image: file not found"):
        read_cifar_kaggle_png(folder)


def test_kaggle_missing_labels_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="trainLabels.csv: Kaggle CIFAR-10 labels: file not found"):
        read_cifar_kaggle_png(tmp_path)


def test_kaggle_wrong_png_size(tmp_path):
    folder = _kaggle_folder(tmp_path, "1.png,frog\n2.png,cat\n")
    _png(folder / "2.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(DataFormatError, match=r"2\.png: CIFAR-10 PNG image: 16x16 RGB, expected 32x32 RGB"):
        read_cifar_kaggle_png(folder)


def test_foolbox_empty_or_missing_folder(tmp_path):
    with pytest.raises(DataNotFoundError, match="no cifar10_<index>_<label>.png files"):
        read_cifar_foolbox_png(tmp_path)
    with pytest.raises(DataNotFoundError, match="foolbox CIFAR-10 folder: not found"):
        read_cifar_foolbox_png(tmp_path / "absent")


def test_foolbox_bad_names(tmp_path):
    _png(tmp_path / "cifar10_00_12.png", _images(1)[0])
    with pytest.raises(DataFormatError, match="label 12 in the name, expected 0..9"):
        read_cifar_foolbox_png(tmp_path)
    (tmp_path / "cifar10_00_12.png").unlink()
    _png(tmp_path / "cifar10_00_1.png", _images(1)[0])
    _png(tmp_path / "cifar10_0_2.png", _images(1)[0])
    with pytest.raises(DataFormatError, match="index 0 is also used by"):
        read_cifar_foolbox_png(tmp_path)
