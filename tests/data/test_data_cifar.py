"""CIFAR-10 python batches: self-written batches in the official layout, refused pickles, errors."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from spikegrad.data.cifar import TRAIN_BATCHES, read_cifar_batch, read_cifar_batches
from spikegrad.errors import DataFormatError, DataNotFoundError


def _batch(n: int, seed: int, str_keys: bool = False) -> tuple[dict, np.ndarray, list[int]]:
    """An official-layout batch dict, the HWC images it encodes, and its labels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    batch = {
        b"batch_label": b"training batch 1 of 5",
        b"labels": labels,
        b"data": images.transpose(0, 3, 1, 2).reshape(n, 3072),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    if str_keys:
        batch = {key.decode(): value for key, value in batch.items()}
    return batch, images, labels


def _write(path, obj, protocol: int = 2) -> os.PathLike:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("str_keys", [False, True])
def test_roundtrip(tmp_path, protocol, str_keys):
    batch, images, labels = _batch(6, seed=protocol, str_keys=str_keys)
    result, result_labels = read_cifar_batch(_write(tmp_path / "data_batch_1", batch, protocol))
    assert result.shape == (6, 32, 32, 3) and result.dtype == np.uint8 and result.flags.c_contiguous
    assert np.array_equal(result, images)
    assert result_labels.dtype == np.int64 and result_labels.tolist() == labels


def test_channel_planes_map_to_hwc(tmp_path):
    data = np.zeros((1, 3072), np.uint8)
    data[0, 0], data[0, 1024], data[0, 2048 + 33] = 10, 20, 30  # R(0,0), G(0,0), B(1,1)
    images, _ = read_cifar_batch(_write(tmp_path / "b", {b"data": data, b"labels": [0]}))
    assert images[0, 0, 0].tolist() == [10, 20, 0] and images[0, 1, 1].tolist() == [0, 0, 30]


def test_python2_numpy_core_globals(tmp_path):
    """Python 2 / numpy 1.x pickles name ``numpy.core.multiarray``; numpy 2 writes ``numpy._core``."""
    batch, images, _ = _batch(2, seed=7)
    raw = pickle.dumps(batch, protocol=2)
    assert b"cnumpy._core.multiarray\n_reconstruct\n" in raw
    path = tmp_path / "test_batch"
    path.write_bytes(raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
    assert np.array_equal(read_cifar_batch(path)[0], images)


def test_batches_concatenate_in_order(tmp_path):
    expected = []
    for index, name in enumerate(TRAIN_BATCHES):
        batch, images, labels = _batch(3, seed=index)
        _write(tmp_path / name, batch)
        expected.append((images, labels))
    images, labels = read_cifar_batches(tmp_path, TRAIN_BATCHES)
    assert images.shape == (15, 32, 32, 3)
    assert np.array_equal(images, np.concatenate([e[0] for e in expected]))
    assert labels.tolist() == sum((e[1] for e in expected), [])


def test_missing_batch(tmp_path):
    _write(tmp_path / "data_batch_1", _batch(2, 0)[0])
    with pytest.raises(DataNotFoundError, match="data_batch_2"):
        read_cifar_batches(tmp_path, TRAIN_BATCHES)


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Evaluates:
    def __reduce__(self):
        return eval, ("1 + 1",)


@pytest.mark.parametrize("protocol", [2, 5])
def test_malicious_pickle_is_refused_without_running(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = _write(tmp_path / "data_batch_1", {b"data": _RunsShell(marker), b"labels": []}, protocol)
    with pytest.raises(DataFormatError, match=r"global (os|posix)\.system, which is refused") as err:
        read_cifar_batch(path)
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_builtins_eval_is_refused(tmp_path):
    with pytest.raises(DataFormatError, match=r"(__builtin__|builtins)\.eval, which is refused"):
        read_cifar_batch(_write(tmp_path / "b", [_Evaluates()]))


def test_codecs_encode_only_for_latin1(tmp_path):
    raw = pickle.dumps({b"data": b"x", b"labels": []}, protocol=2)
    assert b"latin1" in raw
    path = tmp_path / "b"
    path.write_bytes(raw.replace(b"X\x06\x00\x00\x00latin1", b"X\x06\x00\x00\x00rot_13"))
    with pytest.raises(DataFormatError, match="only allowed for str -> latin1"):
        read_cifar_batch(path)


@pytest.mark.parametrize("cut", [1, 20, 200, 3000])
def test_truncated_pickle(tmp_path, cut):
    raw = pickle.dumps(_batch(2, 0)[0], protocol=2)
    path = tmp_path / "data_batch_1"
    path.write_bytes(raw[:cut])
    with pytest.raises(DataFormatError, match="not a valid pickle"):
        read_cifar_batch(path)


def test_not_a_pickle(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"this is text, not a pickle\n")
    with pytest.raises(DataFormatError, match="not a valid pickle"):
        read_cifar_batch(path)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2], "the pickle holds a list, expected a dict"),
        ({b"labels": [0]}, r"no 'data' entry; expected keys b'data' and b'labels', found b'labels'"),
        ({b"data": np.zeros((1, 3072), np.uint8)}, "no 'labels' entry"),
        ({b"data": np.zeros((1, 3072), np.float32), b"labels": [0]}, r"'data' is a float32 array \[1, 3072\]"),
        ({b"data": np.zeros((1, 3071), np.uint8), b"labels": [0]}, r"'data' is a uint8 array \[1, 3071\]"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "1 labels for 2 images"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "label 10 at index 1 is out of range"),
        ({b"data": np.zeros((1, 3072), np.uint8), b"labels": [b"cat"]}, "'labels' is a list, expected a list of ints"),
    ],
)
def test_bad_content(tmp_path, obj, message):
    path = _write(tmp_path / "data_batch_1", obj)
    with pytest.raises(DataFormatError, match=message) as err:
        read_cifar_batch(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="CIFAR-10 batch: file not found"):
        read_cifar_batch(tmp_path / "test_batch")
