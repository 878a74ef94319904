"""End-to-end gradient oracles of Lee et al.: A12.3 (hand values), A12.4 (closed-form last-hidden-layer
weight gradient vs autograd, randomised), and a whole LeNet against the reference code's mechanics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikegrad.rules.lee.derivative import leak_correction
from spikegrad.rules.lee.layers import IntegratingReadout, LeeLIF
from spikegrad.rules.lee.loss import lee_mse_loss
from spikegrad.rules.lee.nets import lee_lenet

F64 = torch.float64


def _one_neuron(x, w, w_out, leak, path="code"):
    """x[T, 1, n] -> LIF (leak, V_th 1) -> output integrator (same leak) with weight w_out; target 1."""
    spikes, _ = LeeLIF(leak, 1.0, path)(x @ w)
    out, _ = IntegratingReadout(leak)(spikes * w_out)
    return spikes, out[-1], ((out[-1] - 1.0) ** 2).sum()


def test_oracle_end_to_end_hand_values():
    """Oracle A12.3: o = 0.40725, E = 0.3513526, dE/dw = -1.0724611, dE/dW_out = -0.59275."""
    w = torch.tensor([[0.6]], dtype=F64, requires_grad=True)
    w_out = torch.tensor(1.0, dtype=F64, requires_grad=True)
    spikes, o, loss = _one_neuron(torch.ones(4, 1, 1, dtype=F64), w, w_out, leak=0.9)
    loss.backward()
    assert spikes.flatten().tolist() == [0.0, 1.0, 0.0, 1.0]
    assert o.item() == pytest.approx(0.40725, abs=1e-7)
    assert loss.item() == pytest.approx(0.3513526, abs=1e-7)
    assert w.grad.item() == pytest.approx(-1.0724611, abs=1e-7)
    assert w_out.grad.item() == pytest.approx(-0.59275, abs=1e-7)


@pytest.mark.parametrize("path", ["code", "rate"])
def test_oracle_closed_form_last_hidden_layer(path):
    """Oracle A12.4: autograd = dE/do * W_out/T * NG/V_th * sum_{t <= t_last} x[t] (code path; the rate
    path credits every step of the window). Randomised 3-input cases at T = 8."""
    generator = torch.Generator().manual_seed(11)
    checked = silent = 0
    for _ in range(40):
        steps, leak = 8, 0.99
        x = (torch.rand(steps, 1, 3, generator=generator) < 0.6).to(F64)
        w = (torch.rand(3, 1, generator=generator, dtype=F64) * 0.8 - 0.2).requires_grad_(True)
        w_out = torch.tensor(0.5 + torch.rand(1, generator=generator).item(), dtype=F64, requires_grad=True)
        spikes, o, loss = _one_neuron(x, w, w_out, leak, path)
        loss.backward()
        train = spikes.detach()[:, 0, 0]
        if train.sum() == 0:
            assert torch.all(w.grad == 0)
            silent += 1
            continue
        last = int(torch.nonzero(train).max()) if path == "code" else steps - 1
        credit = x[: last + 1, 0, :].sum(0)
        ng = leak_correction(spikes.detach(), leak)[0, 0]
        expected = 2 * (o.detach() - 1.0) * w_out.detach() / steps * ng * credit
        assert torch.allclose(w.grad[:, 0], expected.flatten(), atol=1e-12)
        assert w_out.grad.item() == pytest.approx(2 * (o.item() - 1.0) * train.sum().item() / steps, abs=1e-12)
        checked += 1
    assert checked >= 20 and silent >= 1


def test_lenet_gradients_equal_the_reference_code(reference):
    """Every weight gradient of a LeNet (conv, spiking pooling, FC, output) equals the reference mechanics."""
    torch.manual_seed(5)
    net = lee_lenet(image_size=8).to(F64)
    steps, batch = 16, 3
    x = (torch.rand(steps, batch, 1, 8, 8, dtype=F64) < 0.4).to(F64)
    labels = torch.tensor([1, 7, 3])
    fired = {}
    for name, module in net.named_modules():
        if isinstance(module, LeeLIF):
            module.register_forward_hook(lambda m, a, out, name=name: fired.__setitem__(name, out[0].sum().item()))
    out, _ = net(x)
    loss = lee_mse_loss(out, labels)
    loss.backward()
    assert all(count > 0 for count in fired.values()) and len(fired) == 3  # every hidden layer spiked

    w = {name: p.detach().clone().requires_grad_(True) for name, p in net.named_parameters()}
    hidden = [reference.ReferenceLayer() for _ in range(3)]
    pools = [reference.ReferencePool(), reference.ReferencePool()]

    def current(t):
        s = hidden[0].step(F.conv2d(x[t], w["0.weight"], padding=2))
        s = pools[0].step(F.avg_pool2d(s, 2))
        s = hidden[1].step(F.conv2d(s, w["3.weight"], padding=2))
        s = pools[1].step(F.avg_pool2d(s, 2))
        s = hidden[2].step(F.linear(s.flatten(1), w["7.weight"]))
        return F.linear(s, w["9.weight"])

    output = reference.reference_output(current, steps)
    for layer in hidden:
        layer.register_hooks()
    ref_loss = lee_mse_loss(output, labels)
    ref_loss.backward()
    assert loss.item() == pytest.approx(ref_loss.item(), abs=1e-12)
    for name, param in net.named_parameters():
        assert torch.allclose(param.grad, w[name].grad, atol=1e-12), name
