"""Image augmentations on float batches, drawing randomness from an explicit generator."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from spikegrad.errors import ConfigError, ShapeError


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image ``[B, C, H, W]`` by a random integer offset in ``[-max_shift, max_shift]``
    pixels along each axis, filling with zeros (the MNIST background)."""
    if max_shift < 0:
        raise ConfigError("max_shift", f"must be >= 0, got {max_shift}")
    if images.dim() != 4:
        raise ShapeError("random_shift images", "[B, C, H, W]", tuple(images.shape))
    if max_shift == 0:
        return images
    batch, _, height, width = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (batch, 2), generator=generator)
    return torch.stack([padded[b, :, dy:dy + height, dx:dx + width] for b, (dy, dx) in enumerate(offsets.tolist())])


def random_crop_flip(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """CIFAR-style augmentation: random crop after zero-padding by ``padding`` and a random horizontal flip."""
    shifted = random_shift(images, padding, generator)
    flip = torch.rand(images.shape[0], generator=generator) < 0.5
    shifted[flip] = shifted[flip].flip(-1)
    return shifted
