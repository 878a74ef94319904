"""SVHN .mat reader, on files written with scipy.io.savemat in the official layout."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import scipy.io

from spikegrad.data.svhn import read_svhn_mat
from spikegrad.errors import DataFormatError, DataNotFoundError


def _official(n: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``X`` uint8 [32, 32, 3, N] and ``y`` uint8 [N, 1] with 10 for the digit 0, as in train_32x32.mat."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = np.array([[10], [1], [9], [10], [5]][:n], dtype=np.uint8)
    return x, y


def _write(path, **variables):
    scipy.io.savemat(path, variables)
    return path


@pytest.mark.parametrize("y_dtype", [np.uint8, np.float64])
def test_official_layout(tmp_path, y_dtype):
    x, y = _official()
    images, labels = read_svhn_mat(_write(tmp_path / "train_32x32.mat", X=x, y=y.astype(y_dtype)))
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8 and images.flags.c_contiguous
    assert np.array_equal(images[3], x[:, :, :, 3])
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 9, 0, 5]


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="SVHN .mat: file not found"):
        read_svhn_mat(tmp_path / "test_32x32.mat")


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "train_32x32.mat"
    path.write_bytes(b"\x00" * 300)
    with pytest.raises(DataFormatError, match="not a readable MATLAB file") as err:
        read_svhn_mat(path)
    assert str(path) in str(err.value)


def test_truncated_mat_file(tmp_path):
    x, y = _official()
    path = _write(tmp_path / "train_32x32.mat", X=x, y=y)
    path.write_bytes(path.read_bytes()[:4000])
    with pytest.raises(DataFormatError, match="not a readable MATLAB file"):
        read_svhn_mat(path)


def test_hdf5_mat_is_refused(tmp_path):
    path = tmp_path / "train_32x32.mat"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    path.write_bytes(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM" + b"\x00" * 512)
    with pytest.raises(DataFormatError, match="v7.3 \\(HDF5\\) files are not supported"):
        read_svhn_mat(path)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"y": np.ones((5, 1), np.uint8)}, "no variable 'X'"),
        ({"X": np.zeros((32, 32, 3, 5), np.uint8)}, "no variable 'y'"),
        ({"X": np.zeros((28, 28, 3, 5), np.uint8), "y": np.ones((5, 1))}, r"'X' is uint8 \[28, 28, 3, 5\]"),
        ({"X": np.zeros((32, 32, 3, 5), np.float32), "y": np.ones((5, 1))}, r"'X' is float32"),
        ({"X": np.zeros((32, 32, 3, 5), np.uint8), "y": np.ones((4, 1))}, r"expected \[5, 1\]"),
        ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[1], [0]])}, "label 0 at index 1, expected .* 1..10"),
        ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[11], [1]])}, "label 11 at index 0"),
        ({"X": np.zeros((32, 32, 3, 1), np.uint8), "y": np.array([[2.5]])}, "label 2.5 at index 0"),
    ],
)
def test_bad_content(tmp_path, variables, message):
    path = _write(tmp_path / "train_32x32.mat", **variables)
    with pytest.raises(DataFormatError, match=message) as err:
        read_svhn_mat(path)
    assert str(path) in str(err.value)


# --- declared sizes checked before loading (issue 18) ------------------------------------------------


def _with_images_dim(path, n: int, compress: bool = False):
    """An official-layout file whose header then declares ``X`` as [32, 32, 3, n] (5 images stored)."""
    x, y = _official()
    scipy.io.savemat(path, {"X": x, "y": y}, do_compression=compress)
    raw = path.read_bytes()
    dims = struct.pack("<4i", 32, 32, 3, 5)
    if compress:  # the dims live inside the zlib stream of X: rebuild it
        start = raw.index(b"\x0f\x00\x00\x00", 128)
        size = int.from_bytes(raw[start + 4 : start + 8], "little")
        body = zlib.decompress(raw[start + 8 : start + 8 + size]).replace(dims, struct.pack("<4i", 32, 32, 3, n))
        packed = zlib.compress(body)
        raw = raw[:start] + struct.pack("<II", 15, len(packed)) + packed + raw[start + 8 + size :]
    else:
        assert raw.count(dims) == 1
        raw = raw.replace(dims, struct.pack("<4i", 32, 32, 3, n))
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_images_declared_beyond_what_the_file_can_hold(tmp_path, compress, refused_cheaply):
    path = _with_images_dim(tmp_path / "train_32x32.mat", 2_000_000_000, compress)
    refused_cheaply(lambda: read_svhn_mat(path), DataFormatError, r"'X' declares uint8 \[32, 32, 3, 2000000000\]")


def test_uncompressed_images_declared_beyond_the_file_are_refused_without_reserving_them(tmp_path, refused_cheaply):
    path = _with_images_dim(tmp_path / "train_32x32.mat", 5_000)  # 15 MB declared, 15 KB stored
    refused_cheaply(lambda: read_svhn_mat(path), DataFormatError, "not a readable MATLAB file")


def test_compressed_official_layout(tmp_path):
    x, y = _official()
    path = tmp_path / "train_32x32.mat"
    scipy.io.savemat(path, {"X": x, "y": y}, do_compression=True)
    images, labels = read_svhn_mat(path)
    assert np.array_equal(images[4], x[..., 4]) and labels.tolist() == [0, 1, 9, 0, 5]
