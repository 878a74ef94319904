"""The in-memory form of one dataset split: images, labels and where they came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikegrad.errors import DataFormatError


@dataclass(frozen=True, eq=False)  # arrays have no single truth value: compare splits by identity
class ImageSplit:
    """Images and labels of one split, checked for consistency on construction.

    Attributes:
        images: uint8, ``[N, H, W]`` for grey images, ``[N, H, W, C]`` for colour (channel last).
        labels: int64 ``[N]``, each in ``0..num_classes-1``.
        num_classes: number of classes of the dataset (not only those present in this split).
        source: the file(s) or folder the split came from, for messages and summaries.

    Raises:
        DataFormatError: (naming ``source``) on a wrong dtype or rank, a count mismatch, or a label
            out of range.
    """

    images: np.ndarray
    labels: np.ndarray
    num_classes: int
    source: str

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim not in (3, 4):
            raise DataFormatError(
                self.source, f"images are {self.images.dtype} {list(self.images.shape)}, "
                "expected uint8 [N, H, W] or [N, H, W, C]",
            )
        if self.labels.dtype != np.int64 or self.labels.ndim != 1 or len(self.labels) != len(self.images):
            raise DataFormatError(
                self.source, f"labels are {self.labels.dtype} {list(self.labels.shape)}, "
                f"expected int64 [{len(self.images)}] (one per image)",
            )
        bad = np.flatnonzero((self.labels < 0) | (self.labels >= self.num_classes))
        if bad.size:
            raise DataFormatError(
                self.source, f"label {self.labels[bad[0]]} at index {bad[0]} is out of range, "
                f"expected 0..{self.num_classes - 1}",
            )

    def __len__(self) -> int:
        return len(self.labels)


def concat_splits(first: ImageSplit, second: ImageSplit) -> ImageSplit:
    """Concatenate two splits of the same dataset (``first`` then ``second``).

    Raises:
        DataFormatError: the image shapes or class counts differ.
    """
    if first.images.shape[1:] != second.images.shape[1:] or first.num_classes != second.num_classes:
        raise DataFormatError(
            second.source, f"images {list(second.images.shape[1:])} with {second.num_classes} classes cannot be "
            f"joined to {first.source} (images {list(first.images.shape[1:])}, {first.num_classes} classes)",
        )
    return ImageSplit(
        images=np.concatenate([first.images, second.images]),
        labels=np.concatenate([first.labels, second.labels]),
        num_classes=first.num_classes,
        source=f"{first.source} ; {second.source}",
    )


def evenly_spaced(size: int, limit: int) -> np.ndarray:
    """``limit`` indices spread evenly over ``0..size-1``, both ends included (all when ``limit`` is 0 or
    ``>= size``): a subset of a split sorted by label stays balanced."""
    if limit <= 0 or limit >= size:
        return np.arange(size)
    return np.linspace(0, size - 1, limit).round().astype(np.int64)


def subset(split: ImageSplit, limit: int) -> ImageSplit:
    """The split itself, or ``limit`` evenly spaced images of it (:func:`evenly_spaced`)."""
    if limit <= 0 or limit >= len(split):
        return split
    index = evenly_spaced(len(split), limit)
    return ImageSplit(split.images[index], split.labels[index], split.num_classes, f"{split.source} ({limit} evenly spaced)")
