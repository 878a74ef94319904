"""Image augmentations: shapes, ranges, exact identities."""

from __future__ import annotations

import torch

from spikegrad.data.augment import color_jitter, random_hflip, random_rotation
from spikegrad.data.color import hsv_to_rgb, rgb_to_hsv


def test_augmentations_keep_shapes_and_ranges():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 32, 32)
    rotated = random_rotation(images, 15.0, generator)
    assert rotated.shape == images.shape and rotated.min() >= 0 and rotated.max() <= 1
    assert torch.equal(random_rotation(images, 0.0, generator), images)
    jittered = color_jitter(images, 0.2, generator)
    assert jittered.shape == images.shape and jittered.min() >= 0 and jittered.max() <= 1
    assert not torch.equal(jittered, images)
    torch.testing.assert_close(hsv_to_rgb(rgb_to_hsv(images)), images, atol=1e-5, rtol=0)
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(rgb_to_hsv(red).flatten(), torch.tensor([0.0, 1.0, 1.0]))
    grey = torch.full((2, 3, 4, 4), 0.5)
    assert torch.allclose(color_jitter(grey, 0.2, generator).std((1, 2, 3)), torch.zeros(2), atol=1e-6)  # hue keeps grey


def test_hflip_mirrors_about_half_of_the_images():
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(200, 1, 5, 7)
    flipped = random_hflip(images, generator)
    mirrored = [torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images)]
    kept = [torch.equal(f, i) for f, i in zip(flipped, images)]
    assert all(m or k for m, k in zip(mirrored, kept)) and 70 < sum(mirrored) < 130
