"""SLAYER losses: NumSpikes (oracle A8.5) and SpikeTime (oracle A8.6)."""

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.slayer.loss import (
    CountTarget,
    NumSpikesLoss,
    SpikeTimeLoss,
    num_spikes_loss,
    predict_class,
    spike_time_loss,
)
from spikegrad.rules.slayer.srm import SRMParameters

PARAMS = SRMParameters(tau_sr=10.0, ts=1.0)
WINDOW = CountTarget(start=0.0, stop=300.0, true_count=60, false_count=10)


def _train(count, steps=300):
    out = torch.zeros(steps, 1, 1)
    out[torch.arange(count) * (steps // max(count, 1)), 0, 0] = 1.0
    return out


@pytest.mark.parametrize(("count", "label", "expected"), [
    (0, 0, 6.0),  # target 60 (true class)
    (0, 1, 1 / 6),  # neuron 0 is a false class: target 10
    (30, 0, 1.5),
    (60, 0, 0.0),
])
def test_num_spikes_loss_oracle(count, label, expected):
    output = torch.cat([_train(count), torch.zeros(300, 1, 1)], dim=2)  # neuron 1 silent
    silent_neuron = ((10.0 if label == 0 else 60.0) ** 2) / 600
    loss = num_spikes_loss(output, torch.tensor([label]), PARAMS, WINDOW)
    assert loss.item() == pytest.approx(expected + silent_neuron, rel=1e-6)


def test_num_spikes_gradient_oracle():
    output = torch.zeros(300, 1, 1, requires_grad=True)
    num_spikes_loss(output, torch.tensor([0]), PARAMS, WINDOW).backward()
    grad = output.grad[:, 0, 0]
    eps = PARAMS.srm_kernel.values
    assert torch.allclose(grad[:224], torch.tensor(-0.2 * eps.sum(), dtype=torch.float32), atol=1e-4)
    assert grad[223].item() == pytest.approx(-5.4097, abs=1e-4)
    assert grad[290].item() == pytest.approx(-1.3320, abs=1e-4)
    assert grad[298].item() == pytest.approx(-0.2 * eps[1], rel=1e-5)
    assert grad[299].item() == 0.0


def test_num_spikes_window_penalises_spikes_outside_it():
    target = CountTarget(start=100.0, stop=200.0, true_count=1, false_count=0)
    inside, outside = torch.zeros(300, 1, 1), torch.zeros(300, 1, 1)
    inside[150], outside[50] = 1.0, 1.0
    labels = torch.tensor([0])
    assert num_spikes_loss(inside, labels, PARAMS, target).item() == pytest.approx(0.0, abs=1e-9)
    # outside: the count error (0 - 1)/100 over the window plus the spike's own PSP tail, all squared
    assert num_spikes_loss(outside, labels, PARAMS, target).item() > 0.5 * 100 * 0.01**2


def test_spike_time_loss_oracle():
    out, desired = torch.zeros(100, 1, 1), torch.zeros(100, 1, 1)
    out[10], desired[12] = 1.0, 1.0
    assert spike_time_loss(out, desired, PARAMS).item() == pytest.approx(0.333845, rel=1e-5)
    assert spike_time_loss(out, out, PARAMS).item() == 0.0
    assert spike_time_loss(torch.zeros_like(desired), desired, PARAMS).item() == pytest.approx(9.23598, rel=1e-5)
    assert SpikeTimeLoss(PARAMS)(out, desired).item() == pytest.approx(0.333845, rel=1e-5)


def test_batch_is_summed_and_module_form():
    output = torch.zeros(300, 3, 2)
    labels = torch.tensor([0, 1, 0])
    single = sum(num_spikes_loss(output[:, b : b + 1], labels[b : b + 1], PARAMS, WINDOW) for b in range(3))
    assert NumSpikesLoss(PARAMS, WINDOW)(output, labels).item() == pytest.approx(single.item())


def test_predict_class():
    output = torch.zeros(10, 2, 3)
    output[:4, 0, 2] = 1.0
    output[:2, 1, 0] = 1.0
    assert predict_class(output).tolist() == [2, 0]


def test_bad_windows_and_shapes():
    with pytest.raises(ConfigError, match="window"):
        CountTarget(start=50.0, stop=10.0, true_count=1, false_count=0)
    with pytest.raises(ConfigError, match="window"):
        num_spikes_loss(torch.zeros(100, 1, 2), torch.tensor([0]), PARAMS, WINDOW)  # 300 ms > 100 bins
    with pytest.raises(ShapeError):
        num_spikes_loss(torch.zeros(300, 2, 2), torch.tensor([0]), PARAMS, WINDOW)
    with pytest.raises(ShapeError):
        spike_time_loss(torch.zeros(5, 1), torch.zeros(6, 1), PARAMS)
