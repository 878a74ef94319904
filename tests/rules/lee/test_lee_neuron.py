"""Lee's neuron scan: forward (oracle A12.1, pooling thresholds, chunks), backward against the reference
code's mechanics (both dropout placements), the rate path, and a silent neuron (oracle A12.5)."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional import (
    IFParameters,
    LIFParameters,
    NeuronState,
    Reset,
    neuron_step,
)
from spikegrad.rules.lee.derivative import LeakCorrectedDerivative, SpikeGated
from spikegrad.rules.lee.layers import LeeLIF, SpikingAvgPool2d, lee_neuron_parameters
from spikegrad.rules.lee.scan import LeeGradientPath, lee_neuron_scan

F64 = torch.float64


def test_oracle_lif_trace():
    """lambda = 0.9, V_th = 1, w = 0.6, x[t] = 1: U = [0.6, 1.14, 0.6, 1.14], s = [0, 1, 0, 1]."""
    x = torch.full((4, 1, 1), 0.6, dtype=F64)
    spikes, state = LeeLIF(leak=0.9)(x)
    assert spikes.flatten().tolist() == [0.0, 1.0, 0.0, 1.0]
    assert state.v.item() == 0.0  # reset after the last spike
    spikes, state = LeeLIF(leak=0.9)(x[:3])
    assert state.v.item() == pytest.approx(0.6)  # membrane after step 3, before the leak


@pytest.mark.parametrize("params", [lee_neuron_parameters(0.99, 1.0), lee_neuron_parameters(0.8, 0.5),
                                    IFParameters(threshold=0.75, reset=Reset.ZERO, strict=True)])
def test_forward_equals_the_shared_neuron_step(params):
    """The scan is charge / strict fire / reset-to-zero of functional.neuron, step by step."""
    x = torch.randn(30, 4, 6, dtype=F64) * 0.7 + 0.3
    out = lee_neuron_scan(x, params, LeakCorrectedDerivative(leak=params.mem_decay))
    state = NeuronState(torch.zeros(4, 6, dtype=F64))
    expected = []
    for x_t in x:
        step = neuron_step(x_t, state, params, SpikeGated())
        expected.append(step.spikes)
        state = step.state
    assert torch.equal(out.spikes, torch.stack(expected))
    assert torch.allclose(out.state.v, state.v, atol=1e-12)


def test_recording_keeps_the_membrane_before_reset_and_changes_no_gradient():
    torch.manual_seed(0)
    x = (torch.randn(20, 3, 5, dtype=F64) * 0.7 + 0.3).requires_grad_()
    layer = LeeLIF(leak=0.9)
    spikes, _ = layer(x)
    (grad_plain,) = torch.autograd.grad(spikes.sum(), x)
    assert layer.recorded_membrane is None
    layer.recording = True
    spikes_rec, _ = layer(x)
    (grad_rec,) = torch.autograd.grad(spikes_rec.sum(), x)
    membrane, v = [], torch.zeros(3, 5, dtype=F64)
    for x_t in x.detach():  # U[t] = lambda v[t-1] + x[t] before reset; reset to zero on a strict crossing
        h = 0.9 * v + x_t
        membrane.append(h)
        v = torch.where(h > 1.0, 0.0, h)
    assert torch.allclose(layer.recorded_membrane, torch.stack(membrane), atol=1e-12)
    assert torch.equal(layer.recorded_spikes, (layer.recorded_membrane > 1.0).to(F64))
    assert torch.equal(spikes_rec, spikes) and torch.equal(grad_rec, grad_plain)


def test_chunks_give_the_same_forward():
    x = torch.randn(40, 3, 5, dtype=F64) + 0.4
    neuron = LeeLIF()
    whole, state = neuron(x)
    first, mid = neuron(x[:13])
    second, end = neuron(x[13:], mid)
    assert torch.equal(torch.cat([first, second]), whole)
    assert torch.equal(end.v, state.v)


def test_pooling_threshold_is_strict():
    """Each binary spike is worth 0.25 after 2x2 pooling: three reach exactly 0.75 and do not fire."""
    pool = SpikingAvgPool2d(2, threshold=0.75)
    one_input = torch.zeros(4, 1, 1, 2, 2, dtype=F64)
    one_input[:, 0, 0, 0, 0] = 1.0  # one spike per step into the pooling window
    spikes, _ = pool(one_input)
    assert spikes.flatten().tolist() == [0.0, 0.0, 0.0, 1.0]  # fires at the 4th input spike
    three = torch.zeros(1, 1, 1, 2, 2, dtype=F64)
    three[0, 0, 0].view(-1)[:3] = 1.0
    assert pool(three)[0].item() == 0.0  # 0.75 exactly: silent
    assert pool(three * 1.25)[0].item() == 1.0  # dropout-scaled spikes (0.3125 each): 3 are enough


def _reference_layer_grad(reference, x, downstream, mask=None, mask_before_trace=True, leak=0.99, threshold=1.0):
    x = x.clone().requires_grad_(True)
    layer = reference.ReferenceLayer(leak, threshold)
    outs = [layer.step(x[t], mask, mask_before_trace) for t in range(x.shape[0])]
    layer.register_hooks()
    (torch.stack(outs) * downstream).sum().backward()
    return torch.stack(outs).detach(), x.grad


@pytest.mark.parametrize("leak, threshold", [(0.99, 1.0), (0.9, 1.0), (0.95, 0.6)])
def test_backward_equals_the_reference_code(reference, leak, threshold):
    torch.manual_seed(1)
    x = torch.rand(25, 3, 7, dtype=F64) * 0.9
    downstream = torch.randn(25, 3, 7, dtype=F64)  # an arbitrary, time-varying dE/ds[t]
    ref_out, ref_grad = _reference_layer_grad(reference, x, downstream, leak=leak, threshold=threshold)
    mine = x.clone().requires_grad_(True)
    spikes, _ = LeeLIF(leak, threshold)(mine)
    (spikes * downstream).sum().backward()
    assert torch.allclose(spikes.detach(), ref_out, rtol=0, atol=1e-12)  # the code's out + out/thr - out/thr
    assert torch.allclose(mine.grad, ref_grad, atol=1e-12)


@pytest.mark.parametrize("mask_before_trace", [True, False], ids=["vgg9-order", "resnet11-order"])
def test_dropout_mask_after_the_neuron_matches_both_code_orders(reference, mask_before_trace):
    """VGG9 masks before the LF trace, ResNet11 after it; masking our spikes reproduces both."""
    torch.manual_seed(2)
    x = torch.rand(20, 2, 9, dtype=F64)
    downstream = torch.randn(20, 2, 9, dtype=F64)
    mask = (torch.rand(2, 9) > 0.2).to(F64) / 0.8
    ref_out, ref_grad = _reference_layer_grad(reference, x, downstream, mask, mask_before_trace)
    mine = x.clone().requires_grad_(True)
    spikes, _ = LeeLIF()(mine)
    masked = spikes * mask
    (masked * downstream).sum().backward()
    if mask_before_trace:
        assert torch.equal(masked.detach(), ref_out)
    assert torch.allclose(mine.grad, ref_grad, atol=1e-12)


def test_backward_is_the_spike_gated_leak_free_recursion():
    """dE/dU[t] = G g[t] s[t] + dE/dU[t+1] (1 - s[t]), written out by hand for one neuron."""
    x = torch.tensor([0.6, 0.6, 0.2, 0.9, 0.1, 0.05], dtype=F64).reshape(6, 1, 1).requires_grad_(True)
    g = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=F64).reshape(6, 1, 1)
    spikes, _ = LeeLIF(leak=0.9)(x)
    assert spikes.flatten().tolist() == [0, 1, 0, 1, 0, 0]  # U: 0.6, 1.14 | 0.2, 1.08 | 0.1, 0.14
    spikes.mul(g).sum().backward()
    gain = 1 + torch.log(torch.tensor(0.9, dtype=F64)) * (0.9**4 + 0.9**2) / 2
    expected = [gain * 2, gain * 2, gain * 4, gain * 4, 0.0, 0.0]  # after the last spike: no credit
    assert torch.allclose(x.grad.flatten(), torch.stack([torch.as_tensor(e, dtype=F64) for e in expected]))


def test_rate_path_spreads_the_window_mean():
    torch.manual_seed(3)
    x = (torch.rand(30, 2, 4, dtype=F64) * 0.8).requires_grad_(True)
    g = torch.randn(30, 2, 4, dtype=F64)
    spikes, _ = LeeLIF(gradient="rate")(x)
    (spikes * g).sum().backward()
    gain = LeakCorrectedDerivative().derivative(spikes.detach())
    expected = (gain * g.mean(0)).expand(30, 2, 4)
    assert torch.allclose(x.grad, expected, atol=1e-12)
    code_spikes, _ = LeeLIF(gradient="code")(x.detach())
    assert torch.equal(code_spikes, spikes.detach())  # the forward pass does not depend on the path


@pytest.mark.parametrize("path", list(LeeGradientPath))
def test_silent_neuron_gets_no_gradient(path):
    """Oracle A12.5: no spike in the window: zero gradient to its input weights and the layer below."""
    w = torch.tensor([[0.05, 0.02], [0.7, 0.9]], dtype=F64, requires_grad=True)  # neuron 0 never fires
    x = torch.ones(10, 1, 2, dtype=F64, requires_grad=True)
    spikes, _ = LeeLIF(gradient=path)(x @ w.T)
    assert spikes[:, 0, 0].sum() == 0 and spikes[:, 0, 1].sum() > 0
    (spikes * torch.randn(10, 1, 2, dtype=F64)).sum().backward()
    assert torch.all(w.grad[0] == 0) and torch.any(w.grad[1] != 0)
    x.grad = None  # the error sent down to the layer below through neuron 0 alone
    spikes, _ = LeeLIF(gradient=path)(x @ w.detach().T)
    (spikes[..., :1] * 3.0).sum().backward()
    assert torch.all(x.grad == 0)


def test_gradient_through_carried_state():
    """CODE path: the final membrane's gradient flows back through non-spiking steps (leak detached)."""
    x = torch.tensor([0.3, 0.2], dtype=F64).reshape(2, 1, 1).requires_grad_(True)
    v0 = torch.tensor([[0.1]], dtype=F64, requires_grad=True)
    spikes, state = LeeLIF(leak=0.9)(x, NeuronState(v0))
    assert spikes.sum() == 0
    state.v.sum().backward()
    assert x.grad.flatten().tolist() == [1.0, 1.0] and v0.grad.item() == 1.0
    spikes, state = LeeLIF(leak=0.9, gradient="rate")(x, NeuronState(v0))
    with pytest.raises(ConfigError, match="whole window"):
        state.v.sum().backward()


def test_bad_inputs_raise():
    with pytest.raises(ConfigError, match="reset"):
        lee_neuron_scan(torch.zeros(3, 1, 2), LIFParameters(tau_mem=5.0), LeakCorrectedDerivative())
    with pytest.raises(ShapeError):
        lee_neuron_scan(torch.zeros(3), lee_neuron_parameters(0.99, 1.0), LeakCorrectedDerivative())
    with pytest.raises(ShapeError, match="state.v"):
        lee_neuron_scan(torch.zeros(3, 1, 2), lee_neuron_parameters(0.99, 1.0), LeakCorrectedDerivative(),
                        state=NeuronState(torch.zeros(1, 3)))
    with pytest.raises(ConfigError, match="gradient"):
        LeeLIF(gradient="bptt")
