"""IDX reader: real MNIST / Fashion-MNIST files, self-written files, every error path, and a fuzz."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikegrad.data.idx import read_idx, read_idx_images, read_idx_labels, read_idx_pair
from spikegrad.errors import DataFormatError, DataNotFoundError

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _md5_as_idx(array: np.ndarray, encode_idx) -> str:
    """md5 of the IDX bytes rebuilt from what the reader returned: equals the decompressed file's md5."""
    return hashlib.md5(encode_idx(array)).hexdigest()


@pytest.fixture(scope="module")
def fashion_train(shared_data):
    folder = shared_data / "fashion-mnist"
    return read_idx_pair(folder / "train-images-idx3-ubyte.gz", folder / "train-labels-idx1-ubyte.gz")


# --- real files -------------------------------------------------------------------------------


def test_mnist_test_set(shared_data, encode_idx):
    folder = shared_data / "mnist"
    images = read_idx_images(folder / "t10k-images-idx3-ubyte.gz", image_shape=(28, 28))
    labels = read_idx_labels(folder / "t10k-labels-idx1-ubyte.gz", num_classes=10)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert _md5_as_idx(images, encode_idx) == "2646ac647ad5339dbf082846283269ea"
    assert _md5_as_idx(labels, encode_idx) == "27ae3e4e09519cfbb04c329615203637"
    assert images.max() == 255 and images.min() == 0


def test_mnist_train_labels(shared_data, encode_idx):
    labels = read_idx_labels(shared_data / "mnist" / "train-labels-idx1-ubyte.gz", num_classes=10)
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert _md5_as_idx(labels, encode_idx) == "a25bea736e30d166cdddb491f175f624"


def test_fashion_mnist_train(fashion_train, encode_idx):
    images, labels = fashion_train
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [6000] * 10
    assert _md5_as_idx(images, encode_idx) == "f4a8712d7a061bf5bd6d2ca38dc4d50a"
    assert _md5_as_idx(labels.astype(np.uint8), encode_idx) == "9018921c3c673c538a1fc5bad174d6f9"


def test_fashion_mnist_test(shared_data, encode_idx):
    folder = shared_data / "fashion-mnist"
    images, labels = read_idx_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == [1000] * 10
    assert _md5_as_idx(images, encode_idx) == "8181f5470baa50b63fa0f6fddb340f0a"
    assert _md5_as_idx(labels.astype(np.uint8), encode_idx) == "15d484375f8d13e6eb1aabb0c3f46965"


# --- self-written files -----------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["images.idx", "images.idx.gz"])
def test_roundtrip_detects_gzip_by_magic_not_name(tmp_path, write_idx, gz, name):
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / name, images, gz=gz)
    result = read_idx_images(path, image_shape=(28, 28))
    assert result.dtype == np.uint8 and np.array_equal(result, images)
    assert result.flags.writeable


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_other_idx_types_are_read_big_endian(tmp_path, write_idx, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    result = read_idx(write_idx(tmp_path / "x.idx", array))
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative and np.array_equal(result, array)


def test_pair_returns_int64_labels(tmp_path, write_idx):
    images = np.zeros((3, 28, 28), np.uint8)
    labels = np.array([9, 0, 4], np.uint8)
    x, y = read_idx_pair(write_idx(tmp_path / "i", images, gz=True), write_idx(tmp_path / "l", labels))
    assert y.dtype == np.int64 and y.tolist() == [9, 0, 4] and x.shape == (3, 28, 28)


def test_empty_set_is_valid(tmp_path, write_idx):
    assert read_idx_images(write_idx(tmp_path / "i", np.zeros((0, 28, 28), np.uint8))).shape == (0, 28, 28)


# --- error paths ------------------------------------------------------------------------------


@pytest.fixture
def small_images(encode_idx) -> bytes:
    return encode_idx(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="not found") as err:
        read_idx_images(tmp_path / "nope-idx3-ubyte")
    assert "nope-idx3-ubyte" in str(err.value)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(DataFormatError, match="found a folder"):
        read_idx(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("cut", [0, 1, 3, 4, 7, 15, 16, 17, 39])
def test_truncated_at_offset(tmp_path, small_images, gz, cut):
    assert len(small_images) == 40
    data = small_images[:cut]
    path = tmp_path / "cut.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataFormatError, match="truncated") as err:
        read_idx_images(path)
    assert err.value.offset == cut and err.value.path == path
    assert str(path) in str(err.value) and f"byte offset {cut}" in str(err.value)
    assert not isinstance(err.value, DataNotFoundError)


def test_truncated_payload_message_names_expected_size(tmp_path, encode_idx):
    data = encode_idx(np.zeros((10, 28, 28), np.uint8))[:-100]
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match=r"dims \[10, 28, 28\] need 7840 data bytes") as err:
        read_idx_images(path)
    assert err.value.offset == 16 + 7840 - 100


def test_trailing_bytes(tmp_path, small_images):
    path = tmp_path / "x.idx"
    path.write_bytes(small_images + b"\x00\x01")
    with pytest.raises(DataFormatError, match="2 unexpected trailing bytes") as err:
        read_idx_images(path)
    assert err.value.offset == 40


@pytest.mark.parametrize(
    ("header", "offset", "message"),
    [
        (b"\x01\x00\x08\x03", 0, "bad IDX magic number 0x01000803"),
        (b"\x00\x00\x07\x03", 2, "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x00", 3, "0 dimensions"),
        (b"\x00\x00\x08\x01", 0, r"0x00000801 \(uint8, 1 dims\), expected 0x00000803 \(uint8, 3 dims\)"),
        (b"\x00\x00\x0d\x03", 0, r"float32, 3 dims\), expected 0x00000803"),
    ],
)
def test_bad_magic(tmp_path, small_images, header, offset, message):
    path = tmp_path / "x.idx"
    path.write_bytes(header + small_images[4:])
    with pytest.raises(DataFormatError, match=message) as err:
        read_idx_images(path)
    assert err.value.offset == offset


def test_labels_file_refuses_images(tmp_path, small_images):
    path = tmp_path / "x.idx"
    path.write_bytes(small_images)
    with pytest.raises(DataFormatError, match="expected 0x00000801"):
        read_idx_labels(path)


def test_negative_dimension(tmp_path, small_images):
    path = tmp_path / "x.idx"
    path.write_bytes(small_images[:8] + struct.pack(">i", -3) + small_images[12:])
    with pytest.raises(DataFormatError, match="dimension 1 is negative") as err:
        read_idx_images(path)
    assert err.value.offset == 8


def test_wrong_image_size(tmp_path, small_images):
    path = tmp_path / "x.idx"
    path.write_bytes(small_images)
    with pytest.raises(DataFormatError, match="images are 3x4, expected 28x28") as err:
        read_idx_images(path, image_shape=(28, 28))
    assert err.value.offset == 8


def test_label_out_of_range(tmp_path, write_idx):
    path = write_idx(tmp_path / "l", np.array([1, 2, 10, 3], np.uint8))
    with pytest.raises(DataFormatError, match="label 10 at index 2 is out of range, expected 0..9") as err:
        read_idx_labels(path, num_classes=10)
    assert err.value.offset == 10


def test_label_image_count_mismatch(tmp_path, write_idx):
    images = write_idx(tmp_path / "images", np.zeros((3, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "labels", np.zeros(4, np.uint8))
    with pytest.raises(DataFormatError, match="4 labels, but the images file .*images holds 3 images") as err:
        read_idx_pair(images, labels)
    assert err.value.path == labels


def test_corrupt_gzip(tmp_path, small_images):
    packed = bytearray(gzip.compress(small_images * 50))
    packed[-6] ^= 0xFF  # inside the CRC32 / size trailer
    path = tmp_path / "x.idx.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(DataFormatError, match="corrupt gzip") as err:
        read_idx_images(path)
    assert str(path) in str(err.value)


def test_truncated_gzip(tmp_path, small_images):
    packed = gzip.compress(small_images)[:-10]
    path = tmp_path / "x.idx.gz"
    path.write_bytes(packed)
    with pytest.raises(DataFormatError, match="gzip stream is truncated") as err:
        read_idx_images(path)
    assert err.value.offset == len(packed)


# --- fuzz -------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(min_value=0, max_value=200),
    flips=st.lists(st.tuples(st.integers(0, 15), st.integers(1, 255)), max_size=3),
    gz=st.booleans(),
    gz_flip=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(1, 255))),
)
def test_fuzz_truncation_and_corruption_only_raise_data_format_error(tmp_path, encode_idx, cut, flips, gz, gz_flip):
    data = bytearray(encode_idx(np.arange(5 * 6 * 7, dtype=np.uint8).reshape(5, 6, 7)))[:cut]
    for position, mask in flips:
        if position < len(data):
            data[position] ^= mask
    stored = bytearray(gzip.compress(bytes(data)) if gz else data)
    if gz_flip is not None and stored:
        stored[gz_flip[0] % len(stored)] ^= gz_flip[1]
    path = tmp_path / "fuzz.idx"
    path.write_bytes(bytes(stored))
    try:
        result = read_idx(path)
    except DataFormatError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(result, np.ndarray)


# --- bounded reading (issue 18) ---------------------------------------------------------------


def test_gzip_bomb_of_zeros_is_refused_at_its_header(tmp_path, gzip_bomb, refused_cheaply):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip_bomb())
    assert 2_000_000 < path.stat().st_size < 4_000_000  # 3 GiB once decompressed
    error, _ = refused_cheaply(lambda: read_idx_images(path), DataFormatError, "unknown IDX type code 0x00")
    assert error.offset == 2


def test_gzip_bomb_after_a_valid_header_stops_one_probe_past_the_data(tmp_path, encode_idx, gzip_bomb, refused_cheaply):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip_bomb(prefix=encode_idx(np.zeros((2, 28, 28), np.uint8))))
    error, _ = refused_cheaply(
        lambda: read_idx_images(path), DataFormatError, "more than 65536 unexpected trailing bytes after the IDX data"
    )
    assert error.offset == 16 + 2 * 784


def test_gzip_header_declaring_more_than_the_file_can_hold(tmp_path, refused_cheaply):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">3i", 60000, 28, 28)))
    refused_cheaply(
        lambda: read_idx_images(path), DataFormatError,
        rf"dims \[60000, 28, 28\] need 47040000 data bytes, but a gzip file of {path.stat().st_size} bytes "
        r"decompresses to at most \d+ bytes",
    )


def test_gzip_bomb_whose_header_declares_it_is_refused_by_the_documented_limit(tmp_path, gzip_bomb, refused_cheaply):
    # An honest header for 1.1 GB of zeros: the file can hold it (3 MB x 1032), the 1 GiB limit cannot.
    path = tmp_path / "images.gz"
    path.write_bytes(gzip_bomb(prefix=b"\x00\x00\x08\x03" + struct.pack(">3i", 1_400_000, 28, 28)))
    refused_cheaply(lambda: read_idx_images(path), DataFormatError, "more than the 1073741824-byte limit")


def test_raw_header_declaring_more_than_the_file_is_refused_before_allocating(tmp_path, refused_cheaply):
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3i", 1_000_000, 28, 28) + bytes(100))
    error, _ = refused_cheaply(lambda: read_idx_images(path), DataFormatError, "truncated: IDX dims")
    assert error.offset == 116


def test_max_bytes_is_the_limit_in_force(tmp_path, write_idx):
    path = write_idx(tmp_path / "x.idx.gz", np.zeros((10, 28, 28), np.uint8), gz=True)
    assert read_idx_images(path, max_bytes=16 + 7840).shape == (10, 28, 28)
    with pytest.raises(DataFormatError, match="more than the 7000-byte limit"):
        read_idx_images(path, max_bytes=7000)


def test_multi_member_gzip_is_one_stream(tmp_path, encode_idx):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    data = encode_idx(images)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(data[:100]) + gzip.compress(data[100:]))
    assert np.array_equal(read_idx_images(path), images)


def test_multibyte_types_are_native_and_writable_from_gzip(tmp_path, write_idx):
    array = np.array([[1.5, -2.0], [3.25, 1e30]], np.float64)
    result = read_idx(write_idx(tmp_path / "x.gz", array, gz=True))
    assert result.dtype.isnative and result.flags.writeable and np.array_equal(result, array)
