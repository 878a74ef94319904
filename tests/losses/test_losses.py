from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.losses import (
    membrane_mse,
    rate_cross_entropy,
    spike_count_loss,
    spike_count_targets,
)


def test_rate_cross_entropy_hand_value():
    out = torch.zeros(4, 1, 2)
    out[:, 0, 0] = 1.0  # class 0 fires at every step, class 1 never
    loss = rate_cross_entropy(out, torch.tensor([0]), scale=2.0)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-2.0)))
    ref = F.cross_entropy(out.mean(0) * 2.0, torch.tensor([0]))
    assert loss.item() == pytest.approx(ref.item())


def test_spike_count_loss_hand_value_and_gradient():
    out = torch.zeros(10, 1, 2, requires_grad=True)
    with torch.no_grad():
        out[2:5, 0, 0] = 1.0  # class 0: 3 spikes in the window [0, 10)
    loss = spike_count_loss(out, torch.tensor([0]), true_count=5, false_count=1)
    # 0.5 * ((3 - 5)^2 + (0 - 1)^2) / (B=1 * 10 steps)
    assert loss.item() == pytest.approx(0.25)
    loss.backward()
    assert out.grad[:, 0, 0].tolist() == pytest.approx([-0.2] * 10)  # (3 - 5) / 10 per step
    assert out.grad[:, 0, 1].tolist() == pytest.approx([-0.1] * 10)


def test_spike_count_window_only_counts_inside():
    out = torch.ones(10, 1, 1)
    loss = spike_count_loss(out, torch.tensor([0]), 4, 0, window=(3, 7))
    assert loss.item() == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="window"):
        spike_count_loss(out, torch.tensor([0]), 4, 0, window=(5, 20))


def test_targets():
    assert spike_count_targets(torch.tensor([1, 0]), 3, 60, 10).tolist() == [[10, 60, 10], [60, 10, 10]]


def test_membrane_mse():
    assert membrane_mse(torch.ones(3, 2, 4), torch.zeros(4)).item() == 1.0
    with pytest.raises(ShapeError):
        membrane_mse(torch.ones(3, 2, 4), torch.zeros(5))
    with pytest.raises(ShapeError):
        rate_cross_entropy(torch.ones(3, 2), torch.zeros(2, dtype=torch.long))
