"""Image augmentations: shapes, ranges, exact identities."""

from __future__ import annotations

import torch

from spikegrad.data.augment import ImageAugmentation, color_jitter, random_hflip, random_rotation, random_shift
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


def test_random_shift_crops_each_image_at_its_drawn_offset():
    images = torch.rand(5, 2, 6, 7)
    shifted = random_shift(images, 2, torch.Generator().manual_seed(3))
    offsets = torch.randint(0, 5, (5, 2), generator=torch.Generator().manual_seed(3))
    padded = torch.nn.functional.pad(images, (2,) * 4)
    expected = torch.stack([padded[b, :, dy:dy + 6, dx:dx + 7] for b, (dy, dx) in enumerate(offsets.tolist())])
    assert torch.equal(shifted, expected) and shifted.is_contiguous()


def test_augmentations_draw_on_the_images_device_and_read_nothing_back():
    # meta tensors have no data: a draw made on another device or a value read back to the host raises
    images = torch.empty(4, 3, 8, 8, device="meta")
    out = ImageAugmentation(max_shift=2, hflip=True, color_jitter=0.2, rotation=10.0)(images, torch.Generator())
    assert out.device.type == "meta" and out.shape == images.shape
