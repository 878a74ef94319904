from __future__ import annotations

import pytest
import torch

from spikegrad.encoding import integrate_and_fire_encode, latency_encode, poisson_encode, signed_poisson_encode
from spikegrad.errors import ConfigError, ShapeError


def test_poisson_rate_matches_intensity():
    g = torch.Generator().manual_seed(0)
    p = torch.tensor([0.0, 0.1, 0.5, 1.0])
    spikes = poisson_encode(p.expand(4000, 4).contiguous(), 5, generator=g)
    assert spikes.shape == (5, 4000, 4)
    rates = spikes.mean((0, 1))
    torch.testing.assert_close(rates, p, atol=0.01, rtol=0)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_poisson_is_reproducible_with_generator():
    p = torch.rand(3, 7)
    a = poisson_encode(p, 10, torch.Generator().manual_seed(3))
    b = poisson_encode(p, 10, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_signed_poisson_carries_sign():
    v = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]).expand(2000, 5).contiguous()
    s = signed_poisson_encode(v, 4, torch.Generator().manual_seed(0))
    assert set(s.unique().tolist()) <= {-1.0, 0.0, 1.0}
    torch.testing.assert_close(s.mean((0, 1)), v[0], atol=0.02, rtol=0)


def test_latency_code_hand_values():
    s = latency_encode(torch.tensor([1.0, 0.5, 0.0, 0.25]), steps=5)
    # fire steps: round((1-p)*4) = 0, 2, never (p <= 0), 3
    assert s.argmax(0).tolist()[:2] == [0, 2] and s[:, 3].argmax().item() == 3
    assert s.sum(0).tolist() == [1.0, 1.0, 0.0, 1.0]


def test_encoder_errors():
    with pytest.raises(ShapeError, match="intensity"):
        poisson_encode(torch.tensor([1.5]), 3)
    with pytest.raises(ConfigError, match="steps"):
        poisson_encode(torch.tensor([0.5]), 0)
    with pytest.raises(ShapeError):
        latency_encode(torch.tensor([-0.1]), 3)
    with pytest.raises(ShapeError):
        signed_poisson_encode(torch.tensor([float("nan")]), 3)


def test_integrate_and_fire_builds_its_trains_on_the_input_device():
    # meta tensors have no data: a step count made on the CPU would not combine with them
    spikes = integrate_and_fire_encode(torch.empty(3, 4, device="meta"), 6, 0.5)
    assert spikes.device.type == "meta" and spikes.shape == (6, 3, 4)
