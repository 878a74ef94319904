"""Restricted unpickler: memo bombs, arrays over buffers that do not hold their data, what numpy really writes."""

from __future__ import annotations

import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest
from numpy._core.multiarray import _reconstruct
from numpy._core.numeric import _frombuffer

from spikegrad.data.cifar import read_cifar_batch
from spikegrad.data.safe_pickle import load_numpy_pickle
from spikegrad.errors import DataFormatError

PATH = Path("data_batch_1")


def _load(data: bytes, **kwargs):
    return load_numpy_pickle(PATH, data, **kwargs)


class _Reduces:
    """Pickles as ``function(*args)``: how a hostile file calls an allowed global in a new way."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


# --- memo indices -----------------------------------------------------------------------------


@pytest.mark.parametrize("index", [2**28, 2**31, 2**32 - 1])
def test_long_binput_memo_bomb_is_refused_before_allocating(tmp_path, index, refused_cheaply):
    data = b"\x80\x02Nr" + index.to_bytes(4, "little") + b"."  # PROTO 2, NONE, LONG_BINPUT index, STOP
    assert len(data) == 9
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    error, _ = refused_cheaply(
        lambda: read_cifar_batch(path), DataFormatError, rf"memo index {index}, but the pickle stores only 1 memo"
    )
    assert error.offset == 3 and str(path) in str(error)


@pytest.mark.parametrize(
    "data",
    [
        b"(I1\np100000000000\n.",  # protocol 0 PUT with a text index
        b"\x80\x02K\x01q\x00j\x00\x00\x00\x10.",  # LONG_BINGET of an index never stored
        b"\x80\x02K\x01q\x05.",  # BINPUT 5 as the only memo entry
    ],
)
def test_other_memo_indices_beyond_the_stored_entries(data, refused_cheaply):
    refused_cheaply(lambda: _load(data), DataFormatError, "memo index")


def test_counted_string_longer_than_the_input_is_refused_by_the_scan(refused_cheaply):
    data = b"\x80\x04\x8e" + (2**40).to_bytes(8, "little") + b"xx."  # BINBYTES8 claiming 1 TiB
    refused_cheaply(lambda: _load(data), DataFormatError, "expected 1099511627776 bytes in a bytes8, but only 3 remain")


def test_input_size_limit():
    data = pickle.dumps(list(range(1000)), protocol=2)
    assert _load(data, max_bytes=len(data)) == list(range(1000))
    with pytest.raises(DataFormatError, match=f"pickle of {len(data)} bytes, more than the 100-byte limit"):
        _load(data, max_bytes=100)


def test_memo_shared_references_still_load():
    shared = [1, 2, 3]
    back = _load(pickle.dumps({b"a": shared, b"b": shared, b"c": [shared] * 3}, protocol=2))
    assert back[b"a"] is back[b"b"] is back[b"c"][2] and back[b"a"] == [1, 2, 3]


# --- arrays must hold their data ----------------------------------------------------------------


def test_zero_stride_cifar_batch_claiming_200000_images_is_refused(tmp_path, refused_cheaply):
    # A few hundred bytes that, if numpy.ndarray could be called, would become 200 000 x 3072 bytes of
    # one zero (and a labels array likewise): ~0.6 GB once the reader copies them.
    images = _Reduces(np.ndarray, (200_000, 3072), np.dtype(np.uint8), b"\x00", 0, (0, 0))
    labels = _Reduces(np.ndarray, (200_000,), np.dtype(np.int64), bytes(8), 0, (0,))
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": images, b"labels": labels}, protocol=2))
    assert path.stat().st_size < 400
    refused_cheaply(lambda: read_cifar_batch(path), DataFormatError, r"numpy\.ndarray\(.*\) called directly is refused")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (((4,), "b"), "shape"),  # numpy pickles reconstruct the empty array only
        (((10**12,), "b"), "shape"),
    ],
)
def test_reconstruct_only_builds_the_empty_array(args, match):
    data = pickle.dumps(_Reduces(_reconstruct, np.ndarray, *args))
    with pytest.raises(DataFormatError, match=match):
        _load(data)


def test_setstate_with_a_short_buffer_is_refused():
    raw = bytearray(pickle.dumps(np.zeros(4, np.uint8), protocol=2))
    raw = raw.replace(b"K\x04\x85", b"J" + (200_000).to_bytes(4, "little") + b"\x85")  # shape (4,) -> (200000,)
    with pytest.raises(DataFormatError, match="buffer size does not match array size"):
        _load(bytes(raw))


@pytest.mark.parametrize(
    ("dtype", "shape", "buffer", "match"),
    [
        ("u1", (200_000, 3072), b"\x00", "needs 614400000 bytes, the buffer holds 1"),
        ("u1", (5,), b"\x00" * 4, "needs 5 bytes, the buffer holds 4"),
        ("S0", (10**12,), b"", "zero-size items"),
        ("O", (1,), b"\x00" * 8, "object"),
    ],
)
def test_frombuffer_needs_a_buffer_of_exactly_the_array(dtype, shape, buffer, match):
    with pytest.raises(DataFormatError, match=match):
        _load(pickle.dumps(_Reduces(_frombuffer, buffer, np.dtype(dtype), shape, "C"), protocol=5))


def test_zero_itemsize_array_from_setstate_is_refused():
    # numpy's __setstate__ accepts 2e9 items of 0 bytes over b""; the check of the result refuses it.
    raw = pickle.dumps(np.zeros(0, "S1"), protocol=2)
    raw = raw.replace(b"NNNK\x01K\x01K\x00t", b"NNNK\x00K\x01K\x00t")  # dtype state: item size 1 -> 0
    assert _load(raw).shape == (0,)  # empty: nothing to hold
    raw = raw.replace(b"K\x00\x85q\n", b"J" + (2 * 10**9).to_bytes(4, "little") + b"\x85q\n")  # shape -> (2e9,)
    with pytest.raises(DataFormatError, match="zero-size items"):
        _load(raw)


def test_object_arrays_are_refused():
    with pytest.raises(DataFormatError, match="object"):
        _load(pickle.dumps(np.array([1, "a"], dtype=object), protocol=2))


def test_guarded_globals_cannot_be_modified_by_build():
    # GLOBAL numpy.ndarray, EMPTY_DICT, BUILD: a pickle trying to set attributes on an allowed global.
    data = b"\x80\x02cnumpy\nndarray\n}X\x01\x00\x00\x00aK\x01sb."
    with pytest.raises(DataFormatError, match="cannot be modified by a pickle"):
        _load(data)


@pytest.mark.parametrize("args", [(10**12,), ("abc", "latin1")])
def test_bytes_only_without_arguments(args):
    data = pickle.dumps(_Reduces(bytes, *args), protocol=2)
    assert b"c__builtin__\nbytes\n" in data
    with pytest.raises(DataFormatError, match="bytes is only allowed without arguments"):
        _load(data)


# --- what numpy and Python really write -------------------------------------------------------------


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    "array",
    [np.zeros(0), np.zeros((0, 3072), np.uint8), np.arange(12, dtype=">i4").reshape(3, 4),
     np.asfortranarray(np.ones((3, 4))), np.arange(10.0)[::3], np.array([b"ab", b""])],
    ids=["empty-f8", "empty-cifar", "big-endian", "fortran", "strided", "bytes"],
)
def test_arrays_as_numpy_pickles_them(protocol, array):
    data = pickle.dumps({b"x": array, b"empty": b"", b"text": b"caf\xe9"}, protocol=protocol)
    back, unrestricted = _load(data), pickle.loads(data, encoding="bytes")
    assert back[b"x"].dtype == unrestricted[b"x"].dtype and np.array_equal(back[b"x"], array)
    assert back[b"empty"] == b"" and back[b"text"] == b"caf\xe9"


def test_protocol_2_empty_array_uses_builtin_bytes():
    """numpy writes ``__builtin__.bytes()`` for the empty data of an empty array at protocol 2."""
    data = pickle.dumps(np.zeros(0, np.uint8), protocol=2)
    globals_ = [arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"]
    assert "__builtin__ bytes" in globals_
    assert _load(data).shape == (0,)


def test_empty_cifar_batch_from_protocol_2(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}, protocol=2))
    images, labels = read_cifar_batch(path)
    assert images.shape == (0, 32, 32, 3) and labels.shape == (0,)
