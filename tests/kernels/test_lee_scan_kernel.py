"""The fused Triton Lee scan (forward, gradient factor, both backward paths) against the reference scan."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional import NeuronState
from spikegrad.kernels import use_backend
from spikegrad.rules.lee.derivative import LeakCorrectedDerivative
from spikegrad.rules.lee.layers import lee_neuron_parameters
from spikegrad.rules.lee.scan import LeeGradientPath, lee_neuron_scan

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

# (leak, threshold, derivative): Lee's LIF, a LIF with another factor threshold, the pooling IF neurons
NEURONS = {
    "lif": (0.99, 1.0, LeakCorrectedDerivative(0.99, 1.0)),
    "lif-leaky": (0.8, 0.7, LeakCorrectedDerivative(0.8, 0.5)),
    "pool-if": (1.0, 0.75, LeakCorrectedDerivative(1.0, 1.0)),
}
OUTPUTS = ["spikes", "state", "all"]


def _run(backend, x, v0, neuron, path, used):
    leak, threshold, derivative = NEURONS[neuron]
    x, v0 = x.clone().requires_grad_(), v0.clone().requires_grad_()
    with use_backend(backend):
        out = lee_neuron_scan(x, lee_neuron_parameters(leak, threshold), derivative, path, NeuronState(v0))
    weights = torch.Generator().manual_seed(11)
    terms = {"spikes": (out.spikes * torch.randn(out.spikes.shape, generator=weights)).sum(),
             "state": (out.state.v * torch.randn(out.state.v.shape, generator=weights)).sum()}
    loss = sum(terms.values()) if used == "all" else terms[used]
    grads = torch.autograd.grad(loss, [x, v0], allow_unused=True)
    return out, [torch.zeros_like(t) if g is None else g for t, g in zip((x, v0), grads)]


def _problem(shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen) * 0.8 + 0.35, torch.rand(shape[1:], generator=gen) * 0.5


def _check(x, v0, neuron, path, used="all"):
    ref, ref_grads = _run("reference", x, v0, neuron, path, used)
    ker, ker_grads = _run("triton", x, v0, neuron, path, used)
    assert torch.equal(ker.spikes, ref.spikes)
    torch.testing.assert_close(ker.state.v, ref.state.v, rtol=1e-5, atol=1e-6)
    for k, r in zip(ker_grads, ref_grads):
        assert k.isfinite().all()
        torch.testing.assert_close(k, r, rtol=1e-5, atol=1e-6)
    return ref, ref_grads


@pytest.mark.parametrize("neuron", NEURONS)
@pytest.mark.parametrize("used", OUTPUTS)
def test_the_code_path_matches_the_reference(neuron, used):
    x, v0 = _problem((9, 3, 5))
    ref, grads = _check(x, v0, neuron, LeeGradientPath.CODE, used)
    assert 0 < ref.spikes.mean() < 1 and grads[0].abs().sum() > 0  # both branches of the gate, a live gradient


@pytest.mark.parametrize("neuron", NEURONS)
def test_the_rate_path_matches_the_reference(neuron):
    x, v0 = _problem((8, 2, 7), seed=1)
    ref, grads = _check(x, v0, neuron, LeeGradientPath.RATE, "spikes")
    assert 0 < ref.spikes.mean() < 1 and grads[0].abs().sum() > 0
    assert torch.equal(grads[1], torch.zeros_like(grads[1]))  # the state gets no gradient on the rate path


def test_the_rate_path_refuses_a_gradient_through_the_state_as_the_reference():
    x, v0 = _problem((4, 2, 3))
    for backend in ("reference", "triton"):
        with pytest.raises(ConfigError, match="whole window"):
            _run(backend, x, v0, "lif", LeeGradientPath.RATE, "all")


@pytest.mark.parametrize("path", LeeGradientPath)
def test_one_step_several_blocks_and_silent_neurons(path):
    """T = 1; 2 * BLOCK + 3 neurons (three programs, the last one masked), a third of them silent (G = 0)."""
    from spikegrad.kernels.lee_scan import BLOCK

    for shape in [(1, 3, 5), (4, 1, 2 * BLOCK + 3)]:
        x, v0 = _problem(shape, seed=2)
        x[..., ::3] = -1.0
        _check(x, v0, "lif", path, "spikes")


def test_on_the_threshold_the_neuron_stays_silent():
    """Quarter-step inputs bring the pooling IF neurons to 0.75 exactly at step 2: strict, so no spike there."""
    x = (torch.randint(0, 3, (6, 4, 5)) / 4.0).float()
    x[:3] = 0.25
    ref, _ = _check(x, torch.zeros(4, 5), "pool-if", LeeGradientPath.CODE)
    assert not ref.spikes[2].any() and ref.spikes[3:].any()


def test_chunks_carry_the_membrane():
    params, derivative = lee_neuron_parameters(0.99, 1.0), LeakCorrectedDerivative(0.99, 1.0)
    x, _ = _problem((9, 2, 5))
    whole = lee_neuron_scan(x, params, derivative)
    first = lee_neuron_scan(x[:4], params, derivative)
    second = lee_neuron_scan(x[4:], params, derivative, state=first.state)
    assert torch.equal(torch.cat([first.spikes, second.spikes]), whole.spikes)
    assert torch.equal(second.state.v, whole.state.v)


def test_another_gradient_factor_raises_when_forced_and_falls_back_otherwise():
    @dataclasses.dataclass(frozen=True)
    class Doubled(LeakCorrectedDerivative):
        def derivative(self, spikes):
            return 2 * super().derivative(spikes)

    params, x = lee_neuron_parameters(0.99, 1.0), torch.randn(3, 2, 4)
    with pytest.raises(ConfigError, match="LeakCorrectedDerivative"):
        lee_neuron_scan(x, params, Doubled(0.99, 1.0))
    with pytest.raises(ConfigError, match="float32"):
        lee_neuron_scan(x.double(), params, LeakCorrectedDerivative(0.99, 1.0))
    with use_backend("auto"):
        out = lee_neuron_scan(x.requires_grad_(), params, Doubled(0.99, 1.0))
    assert type(out.spikes.grad_fn).__name__ == "_LeeNeuronScanBackward"


def test_the_custom_ops_pass_opcheck():
    """Schema, fake (meta) implementations, autograd registration and AOT dispatch of both custom ops."""
    from spikegrad.kernels.lee_scan import lee_scan_backward_op, lee_scan_op

    x, v0 = (torch.randn(5, 3, 4) + 0.5).requires_grad_(), (torch.rand(3, 4) * 0.5).requires_grad_()
    torch.library.opcheck(lee_scan_op, (x, v0, 1.0, 0.99, 0.99, 1.0, 1e-3, False))
    # the rate path refuses a gradient through the state, which the AOT test's random cotangents would send
    torch.library.opcheck(lee_scan_op, (x, v0.detach(), 0.75, 1.0, 1.0, 1.0, 1e-3, True),
                          test_utils=("test_schema", "test_faketensor", "test_autograd_registration"))
    spikes, gain = (torch.rand(5, 3, 4) > 0.5).float(), torch.rand(3, 4)
    torch.library.opcheck(lee_scan_backward_op, (spikes, gain, torch.randn(5, 3, 4), torch.randn(3, 4), False))
    torch.library.opcheck(lee_scan_backward_op, (spikes, gain, torch.randn(5, 3, 4), None, True))
