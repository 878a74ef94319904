"""Image augmentations on float batches, drawing randomness from an explicit generator on the batch's device
(``torch.Generator(device=...)`` for a CUDA batch: no draw crosses to the host)."""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from spikegrad.data.color import hsv_to_rgb, rgb_to_hsv
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
    padded = F.pad(images, (max_shift,) * 4).permute(0, 2, 3, 1)  # [B, H', W', C]: one gather of whole pixels
    offsets = torch.randint(0, 2 * max_shift + 1, (batch, 2), generator=generator, device=images.device)
    rows = offsets[:, 0, None] + torch.arange(height, device=images.device)
    cols = offsets[:, 1, None] + torch.arange(width, device=images.device)
    sample = torch.arange(batch, device=images.device)[:, None, None]
    return padded[sample, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def random_rotation(images: torch.Tensor, max_degrees: float, generator: torch.Generator) -> torch.Tensor:
    """Rotate each image by a uniform angle in ``[-max_degrees, max_degrees]`` about its centre (nearest
    neighbour, zero fill: torchvision's ``RandomRotation`` defaults)."""
    if max_degrees <= 0:
        return images
    angles = (torch.rand(images.shape[0], generator=generator, device=images.device) * 2 - 1) * math.radians(max_degrees)
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def random_hflip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image ``[B, C, H, W]`` left-right with probability 1/2."""
    flip = torch.rand(images.shape[0], generator=generator, device=images.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)


def color_jitter(images: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Brightness and contrast factors in ``[1 - strength, 1 + strength]``, then a hue shift in
    ``[-strength, strength]`` turns (CIFAR10: ColorJitter(0.2, 0.2, hue=0.2); UNVERIFIED: torchvision applies
    the three in a random order, here in this fixed order)."""
    if strength <= 0:
        return images
    batch = images.shape[0]

    def factor() -> torch.Tensor:
        return (1 + (torch.rand(batch, generator=generator, device=images.device) * 2 - 1) * strength).view(batch, 1, 1, 1)

    images = (images * factor()).clamp(0, 1)
    grey = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).mean((1, 2)).view(batch, 1, 1, 1)
    images = ((images - grey) * factor() + grey).clamp(0, 1)
    hsv = rgb_to_hsv(images)
    shift = ((torch.rand(batch, generator=generator, device=images.device) * 2 - 1) * strength).view(batch, 1, 1)
    hsv = torch.stack([(hsv[:, 0] + shift) % 1.0, hsv[:, 1], hsv[:, 2]], 1)
    return hsv_to_rgb(hsv).clamp(0, 1)


@dataclasses.dataclass(frozen=True)
class ImageAugmentation:
    """Training-time augmentation of float image batches ``[B, C, H, W]``, in this order: random shift
    (zero-padded crop) of up to ``max_shift`` pixels, left-right flip (``hflip``), colour jitter of
    ``color_jitter`` strength (RGB only), rotation of up to ``rotation`` degrees. Zero or False turns a step
    off; every draw comes from the trainer's generator."""

    max_shift: int = 0
    hflip: bool = False
    color_jitter: float = 0.0
    rotation: float = 0.0

    def __post_init__(self) -> None:
        if self.max_shift < 0:
            raise ConfigError("max_shift", f"must be >= 0 pixels, got {self.max_shift}")
        if not (0 <= self.color_jitter < 1):
            raise ConfigError("color_jitter", f"must lie in [0, 1), got {self.color_jitter}")
        if not (0 <= self.rotation <= 180):
            raise ConfigError("rotation", f"must lie in [0, 180] degrees, got {self.rotation}")

    @property
    def active(self) -> bool:
        return bool(self.max_shift or self.hflip or self.color_jitter or self.rotation)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        images = random_shift(images, self.max_shift, generator)
        if self.hflip:
            images = random_hflip(images, generator)
        if self.color_jitter:
            images = color_jitter(images, self.color_jitter, generator)
        return random_rotation(images, self.rotation, generator)
