"""Settings and data plumbing that several recipe families share: subsets, augmentation, image and event splits.

One name per idea across recipes: ``train_limit``/``test_limit`` (evenly spaced subsets, 0 = all),
``max_shift`` (random translation in pixels, images and event frames alike), ``hflip``, ``rotation``,
``color_jitter``, ``true_count``/``false_count`` (spike-count targets), ``threshold``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikegrad.data.augment import ImageAugmentation
from spikegrad.data.registry import load_files, load_split, resolve_data_dir
from spikegrad.data.sparse import SparseSpikes, jitter, sparse_dataset
from spikegrad.data.split import ImageSplit, subset
from spikegrad.errors import ConfigError
from spikegrad.rules.plugin import Rule
from spikegrad.train.classification import image_samples
from spikegrad.train.config import RunConfig
from spikegrad.train.rule_settings import rule_for
from spikegrad.train.settings import Settings, require, setting


@dataclasses.dataclass(frozen=True)
class LimitSettings(Settings):
    """Evenly spaced subsets of the splits, for quick runs (0 = the whole split)."""

    train_limit: int = setting(0, "train on this many evenly spaced samples (0 = all)")
    test_limit: int = setting(0, "test on this many evenly spaced samples (0 = all)")

    def check(self) -> None:
        require(self.train_limit >= 0, "train_limit", f"must be >= 0 (0 = all), got {self.train_limit}")
        require(self.test_limit >= 0, "test_limit", f"must be >= 0 (0 = all), got {self.test_limit}")

    def limit(self, split: str) -> int:
        return self.train_limit if split == "train" else self.test_limit


@dataclasses.dataclass(frozen=True)
class AugmentSettings(Settings):
    """Training-time image augmentation (:class:`~spikegrad.data.augment.ImageAugmentation`)."""

    max_shift: int = setting(0, "random translation of up to this many pixels")
    hflip: bool = setting(False, "random left-right flips")
    rotation: float = setting(0.0, "random rotation of up to this many degrees")
    color_jitter: float = setting(0.0, "brightness/contrast/hue jitter strength (RGB only)")

    def check(self) -> None:
        self.augmentation()  # the ranges are checked there

    def augmentation(self) -> ImageAugmentation:
        return ImageAugmentation(self.max_shift, self.hflip, self.color_jitter, self.rotation)


class ImageData:
    """A registered image dataset as :class:`~spikegrad.train.classification.ClassificationParts` reads it:
    ``data(split) -> (float inputs, int64 labels)`` with the run's subsets, each split read once."""

    def __init__(self, dataset: str, data_dir: str | None, to_tensor: Callable[[np.ndarray], torch.Tensor],
                 limits: LimitSettings):
        self.dataset, self.data_dir, self.to_tensor, self.limits = dataset, data_dir, to_tensor, limits
        self._splits: dict[str, ImageSplit] = {}
        self.raw("test")  # read now: a missing folder or file is reported when the experiment is built

    def raw(self, split: str) -> ImageSplit:
        """The split's uint8 images and labels (after the subset)."""
        if split not in self._splits:
            self._splits[split] = subset(load_split(self.dataset, split, self.data_dir), self.limits.limit(split))
        return self._splits[split]

    def __call__(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        return image_samples(self.raw(split), self.to_tensor)

    @property
    def num_classes(self) -> int:
        return self.raw("test").num_classes

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(H, W)`` or ``(H, W, C)`` of the dataset's images."""
        return tuple(self.raw("test").images.shape[1:])


def file_split_loader(
    dataset: str,
    data_dir: str | None,
    shape: tuple[int, ...],
    limits: LimitSettings,
    transform: Callable[[Any], Any] | None = None,
    flat_indices: Callable[[Any], Any] | None = None,
    split_files: Callable[[Path, str], Any] | None = None,
) -> Callable[[str], tuple[SparseSpikes, torch.Tensor]]:
    """``load_split(split)`` over a registered event/audio dataset: every sample binned once, kept sparse.

    The data folder is found now, so a missing one is reported when the experiment is built.
    ``split_files(folder, split)`` replaces the dataset's own split (e.g. FSDD's leave-one-speaker-out)."""
    folder = resolve_data_dir(dataset, data_dir)

    def load(split: str) -> tuple[SparseSpikes, torch.Tensor]:
        if split_files is not None:
            files = split_files(folder, split)
        else:
            files = load_files(dataset, split, folder, transform)
        return sparse_dataset(files, shape, limits.limit(split), flat_indices)

    return load


def event_jitter(max_shift: int) -> Callable[[SparseSpikes, torch.Generator], SparseSpikes] | None:
    """Random translation of sparse event frames by up to ``max_shift`` pixels (None when 0)."""
    if max_shift < 0:
        raise ConfigError("max_shift", f"must be >= 0 pixels, got {max_shift}")
    return (lambda spikes, generator: jitter(spikes, max_shift, generator)) if max_shift else None


def grey_images(images: np.ndarray) -> torch.Tensor:
    """uint8 ``[N, H, W]`` -> float ``[N, 1, H, W]`` in [0, 1]."""
    return torch.from_numpy(images).float().div_(255.0).unsqueeze(1)


def rgb_images(images: np.ndarray) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` -> float ``[N, 3, H, W]`` in [0, 1]."""
    return torch.from_numpy(images).float().div_(255.0).permute(0, 3, 1, 2).contiguous()


CLASSIFIERS = ("bptt", "slayer", "lee", "na")
"""The rules that train classifiers built from neuron slots, in the order recipes list them."""


def run_rule(config: RunConfig) -> Rule:
    """The rule a run trains with, from its method and its :class:`~spikegrad.train.rule_settings.RuleSettings`."""
    from spikegrad.train.recipe import get_recipe

    return rule_for(config.method, config.settings, get_recipe(config.recipe).defaults.settings)  # type: ignore[arg-type]
