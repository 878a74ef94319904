"""The random stream of a run's device: encoders and augmentations draw where their batch lives."""

from __future__ import annotations

import torch


def device_generator(generator: torch.Generator, device: torch.device) -> torch.Generator:
    """The generator that continues ``generator``'s seeding on ``device``.

    ``generator`` itself where it already lives on ``device`` (a CPU run draws exactly as before); otherwise
    a new ``torch.Generator(device=device)`` seeded with ``generator.initial_seed()`` (the trainer's
    per-epoch or evaluation seed), so that a resumed run redraws the same numbers. The device's stream is
    not the CPU's: a CUDA run is reproducible on CUDA, not bit-identical to a CPU run.
    """
    same_index = device.index is None or device.index == generator.device.index
    if device.type == generator.device.type and (device.type == "cpu" or same_index):
        return generator
    return torch.Generator(device=device).manual_seed(generator.initial_seed())
