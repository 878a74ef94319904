r"""Input coding of Lee et al. (2020): signed Bernoulli ("Poisson") spikes redrawn at every step.

Exactly as the reference code, with :math:`r_t \sim U(0, 1)` drawn per pixel and step:

- MNIST (``mnist_LeNet.py``: ``ToTensor`` only, so :math:`p \in [0, 1]`):
  :math:`x[t] = \mathrm{sign}(p)\,H(|p|/2 - r_t)`, i.e. spike probability :math:`p/2` (at most 0.5 per step).
- CIFAR-10 (``cifar10_VGG9.py``, ``cifar10_ResNet11.py``): the pixel is normalised with mean
  ``(0.4914, 0.4822, 0.4465)`` and the unusual std ``(0.557, 0.549, 0.5534)``, which keeps
  :math:`|p| \lesssim 1`; then :math:`x[t] = \mathrm{sign}(p)\,H(|p| - r_t)`: spike probability
  :math:`\min(|p|, 1)`, and a spike carries the sign of the normalised pixel (**negative input spikes
  exist**). Augmentation (random 32x32 crop of the zero-padded image, padding 4, and a horizontal flip)
  acts on the raw image *before* normalisation, so the padding is black, as with torchvision's
  ``RandomCrop`` on the PIL image.
- SVHN: no script exists; the CIFAR-10 coding and normalisation are used (**UNVERIFIED**).

``H`` is strict (``>``), so a pixel of 0 never spikes.
"""

from __future__ import annotations

import torch

from spikegrad.encoding.rate import poisson_encode
from spikegrad.errors import ConfigError, ShapeError

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.557, 0.549, 0.5534)
"""The reference code's normalisation (not CIFAR-10's true std, which is about 0.25)."""


def lee_signed_encode(value: torch.Tensor, steps: int, generator: torch.Generator | None = None,
                      scale: float = 1.0) -> torch.Tensor:
    """Signed spike trains ``[steps, *value.shape]`` in {-1, 0, 1}: ``sign(v) * Bernoulli(min(scale |v|, 1))``.

    ``scale = 0.5`` is the MNIST path (rate ``p / 2``), ``scale = 1`` the CIFAR-10 path. Values above 1
    in magnitude spike at every step, as in the code (``|p| > r`` with ``r < 1``).
    """
    if not 0 < scale <= 1:
        raise ConfigError("scale", f"must lie in (0, 1], got {scale!r}")
    if value.numel() and not torch.isfinite(value).all():
        raise ShapeError("value", "finite pixel values", "non-finite values")
    rate = (value.abs() * scale).clamp(max=1.0)
    return poisson_encode(rate, steps, generator) * torch.sign(value)


def lee_mnist_encode(images: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """MNIST path: ``images`` in [0, 1] (any shape, e.g. ``[B, 1, 28, 28]``) -> spikes at rate ``p / 2``."""
    if images.numel() and (images.min() < 0 or images.max() > 1):
        raise ShapeError("images", "intensities in [0, 1] (ToTensor scaling)",
                         f"range [{images.min():g}, {images.max():g}]")
    return lee_signed_encode(images, steps, generator, scale=0.5)


def lee_normalize(images: torch.Tensor, mean: tuple[float, ...] = CIFAR10_MEAN,
                  std: tuple[float, ...] = CIFAR10_STD) -> torch.Tensor:
    """``(x - mean) / std`` per channel for ``images[B, C, H, W]`` in [0, 1] (the code's ``Normalize``)."""
    if images.dim() != 4 or images.shape[1] != len(mean) or len(mean) != len(std):
        raise ShapeError("images", f"[B, {len(mean)}, H, W]", tuple(images.shape))
    mean_t = torch.tensor(mean, dtype=images.dtype, device=images.device).reshape(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=images.dtype, device=images.device).reshape(1, -1, 1, 1)
    return (images - mean_t) / std_t


def lee_cifar_encode(images: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """CIFAR-10 path: ``images[B, 3, H, W]`` in [0, 1] -> normalise -> signed spikes at rate ``min(|p|, 1)``."""
    return lee_signed_encode(lee_normalize(images), steps, generator, scale=1.0)
