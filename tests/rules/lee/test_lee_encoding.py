"""Lee's input coding (oracle A12.7): signed Bernoulli rates p/2 (MNIST) and min(|p|, 1) (CIFAR)."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad.data.augment import ImageAugmentation
from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.lee.encoding import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    lee_cifar_encode,
    lee_mnist_encode,
    lee_normalize,
    lee_signed_encode,
)

DRAWS = 4000


def _within_binomial(mean: torch.Tensor, expected: torch.Tensor, draws: int) -> bool:
    p = expected.abs().clamp(max=1.0)
    tolerance = 5 * torch.sqrt(p * (1 - p) / draws) + 1e-12  # five standard errors
    return bool(torch.all((mean - expected).abs() <= tolerance))


def test_oracle_mnist_rate_is_half_the_pixel():
    pixels = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0])
    spikes = lee_mnist_encode(pixels, DRAWS, torch.Generator().manual_seed(0))
    assert spikes.shape == (DRAWS, 5) and set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert _within_binomial(spikes.mean(0), pixels / 2, DRAWS)
    assert spikes[:, 0].sum() == 0  # a black pixel never spikes (strict comparison)


def test_oracle_cifar_rate_is_the_signed_clipped_value():
    values = torch.tensor([-1.3, -0.8, -0.2, 0.0, 0.3, 0.7, 1.0, 1.2])
    spikes = lee_signed_encode(values, DRAWS, torch.Generator().manual_seed(1))
    assert set(spikes.unique().tolist()) <= {-1.0, 0.0, 1.0}
    expected = torch.sign(values) * values.abs().clamp(max=1.0)
    assert _within_binomial(spikes.mean(0), expected, DRAWS)
    assert torch.all(spikes[:, [0, 6, 7]].abs() == 1)  # |p| >= 1 spikes at every step, with its sign


def test_cifar_path_normalises_with_the_code_constants():
    images = torch.rand(2, 3, 4, 4)
    normalised = lee_normalize(images)
    mean = torch.tensor(CIFAR10_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).reshape(1, 3, 1, 1)
    assert torch.allclose(normalised, (images - mean) / std)
    assert CIFAR10_STD == (0.557, 0.549, 0.5534)
    black = lee_cifar_encode(torch.zeros(1, 3, 2, 2), 2000, torch.Generator().manual_seed(2))
    assert torch.all(black <= 0)  # a black pixel becomes negative input spikes
    rate = black.mean(dim=(0, 1, 3, 4)).neg()
    assert torch.allclose(rate, torch.tensor([m / s for m, s in zip(CIFAR10_MEAN, CIFAR10_STD)]), atol=0.05)


def test_same_generator_same_spikes():
    images = torch.rand(3, 1, 5, 5)
    a = lee_mnist_encode(images, 7, torch.Generator().manual_seed(9))
    b = lee_mnist_encode(images, 7, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


def test_augmentation_pads_black_before_normalisation():
    """The recipe crops the raw [0, 1] image (zero = black padding), then normalises inside the encoder."""
    images = torch.ones(64, 3, 8, 8)
    shifted = ImageAugmentation(max_shift=4, hflip=True)(images, torch.Generator().manual_seed(0))
    assert (shifted == 0).any() and set(shifted.unique().tolist()) == {0.0, 1.0}
    assert math.isclose(float(lee_normalize(torch.zeros(1, 3, 1, 1))[0, 0]), -0.4914 / 0.557, rel_tol=1e-6)


def test_bad_inputs_raise():
    with pytest.raises(ShapeError):
        lee_mnist_encode(torch.tensor([1.5]), 3)
    with pytest.raises(ShapeError):
        lee_normalize(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ConfigError):
        lee_signed_encode(torch.zeros(2), 3, scale=2.0)
    with pytest.raises(ConfigError, match="steps"):
        lee_mnist_encode(torch.zeros(2), 0)
