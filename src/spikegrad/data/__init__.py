"""Image datasets: file readers (IDX, MNIST CSV, CIFAR-10 batches and PNG, SVHN .mat, sklearn
digits) and a registry that loads canonical splits by name."""

from spikegrad.data.cifar import CLASS_NAMES as CIFAR10_CLASSES
from spikegrad.data.cifar import read_cifar_batch, read_cifar_batches
from spikegrad.data.cifar_png import (
    read_cifar_foolbox_png,
    read_cifar_kaggle_png,
    read_png_rgb,
)
from spikegrad.data.digits import read_digits
from spikegrad.data.idx import read_idx, read_idx_images, read_idx_labels, read_idx_pair
from spikegrad.data.mnist_csv import read_mnist_csv
from spikegrad.data.registry import (
    DatasetSpec,
    list_datasets,
    load_split,
    resolve_data_dir,
)
from spikegrad.data.split import ImageSplit, concat_splits
from spikegrad.data.svhn import read_svhn_mat

__all__ = [
    "CIFAR10_CLASSES",
    "DatasetSpec",
    "ImageSplit",
    "concat_splits",
    "list_datasets",
    "load_split",
    "read_cifar_batch",
    "read_cifar_batches",
    "read_cifar_foolbox_png",
    "read_cifar_kaggle_png",
    "read_digits",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "read_idx_pair",
    "read_mnist_csv",
    "read_png_rgb",
    "read_svhn_mat",
    "resolve_data_dir",
]
