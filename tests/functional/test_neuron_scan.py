"""The neuron scan: single vs multi step, chunking, gradcheck, hand-written backward vs autograd."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional import (
    CUBAParameters,
    IFParameters,
    LIFParameters,
    NeuronState,
    Reset,
    initial_state,
    neuron_scan,
    neuron_step,
)
from spikegrad.grad import ATan, FastSigmoid, Sigmoid, Smooth, Triangle

PARAMS = [
    LIFParameters(tau_mem=5.0),
    LIFParameters(tau_mem=5.0, reset=Reset.ZERO),
    LIFParameters(tau_mem=5.0, reset=Reset.NONE),
    LIFParameters(tau_mem=5.0, detach_reset=True),
    LIFParameters(tau_mem=5.0, reset=Reset.ZERO, detach_reset=True),
    IFParameters(threshold=0.8),
    CUBAParameters(tau_mem=5.0, tau_syn=2.0),
    CUBAParameters(tau_mem=4.0, tau_syn=3.0, reset=Reset.ZERO),
]
IDS = [f"{type(p).__name__}-{p.reset.value}-{'detach' if p.detach_reset else 'grad'}" for p in PARAMS]


def _inputs(params, dtype=torch.float64, steps=9):
    x = torch.randn(steps, 3, 4, dtype=dtype) * 1.2 + 0.4
    state = initial_state(params, x[0])
    state = NeuronState(torch.rand_like(state.v) * 0.5, None if state.i is None else torch.randn_like(state.i) * 0.1)
    return x, state


def _step_loop(x, params, estimator, state):
    spikes, membranes = [], []
    for x_t in x.unbind(0):
        out = neuron_step(x_t, state, params, estimator)
        spikes.append(out.spikes)
        membranes.append(out.membrane)
        state = out.state
    return torch.stack(spikes), torch.stack(membranes), state


def test_lif_hand_computed_trajectory():
    # beta = exp(-1/tau); constant input 0.6, threshold 1, reset by subtraction
    params = LIFParameters(tau_mem=1.0 / math.log(2.0))  # beta = 0.5
    x = torch.full((5, 1, 1), 0.6, dtype=torch.float64)
    out = neuron_scan(x, params, FastSigmoid())
    # h: 0.6, 0.9, 1.05 -> spike, v = 0.05; h = 0.625, 0.9125
    assert out.membrane.flatten().tolist() == pytest.approx([0.6, 0.9, 1.05, 0.625, 0.9125])
    assert out.spikes.flatten().tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert out.state.v.item() == pytest.approx(0.9125)


def test_cuba_and_reset_to_zero_hand_values():
    params = CUBAParameters(tau_mem=1.0 / math.log(2.0), tau_syn=1.0 / math.log(4.0), reset=Reset.ZERO)  # beta .5, alpha .25
    x = torch.tensor([1.0, 0.0, 2.0, 0.0], dtype=torch.float64).view(4, 1, 1)
    out = neuron_scan(x, params, ATan())
    # i: 1, .25, 2.0625, .515625 ; h: 1 -> spike, v=0 ; .25 ; 2.1875 -> spike ; .515625
    assert out.membrane.flatten().tolist() == pytest.approx([1.0, 0.25, 2.1875, 0.515625])
    assert out.spikes.flatten().tolist() == [1.0, 0.0, 1.0, 0.0]
    assert out.state.i.item() == pytest.approx(0.515625)


@pytest.mark.parametrize("params", PARAMS, ids=IDS)
def test_multi_step_equals_single_step(params):
    x, state = _inputs(params, torch.float32)
    out = neuron_scan(x, params, ATan(), state)
    spikes, membranes, final = _step_loop(x, params, ATan(), state)
    assert torch.equal(out.spikes, spikes)
    assert torch.equal(out.membrane, membranes)
    assert torch.equal(out.state.v, final.v)
    assert out.spikes.sum() > 0  # the test drives real spikes


@pytest.mark.parametrize("params", PARAMS, ids=IDS)
@pytest.mark.parametrize("split", [1, 4, 8])
def test_chunked_scan_equals_whole_scan(params, split):
    x, state = _inputs(params, torch.float32)
    whole = neuron_scan(x, params, FastSigmoid(), state)
    first = neuron_scan(x[:split], params, FastSigmoid(), state)
    second = neuron_scan(x[split:], params, FastSigmoid(), first.state)
    assert torch.equal(torch.cat([first.spikes, second.spikes]), whole.spikes)
    assert torch.equal(second.state.v, whole.state.v)


@pytest.mark.parametrize("params", [p for p in PARAMS if not p.detach_reset], ids=[i for p, i in zip(PARAMS, IDS) if not p.detach_reset])
def test_gradcheck_with_smooth_estimator(params):
    x, state = _inputs(params, steps=6)
    x.requires_grad_()
    v0 = state.v.clone().requires_grad_()
    extra = () if state.i is None else (state.i.clone().requires_grad_(),)
    estimator = Smooth(Sigmoid(alpha=3.0))

    def run(x, v0, *i0):
        out = neuron_scan(x, params, estimator, NeuronState(v0, i0[0] if i0 else None))
        return (out.spikes, out.membrane, out.state.v) + ((out.state.i,) if i0 else ())

    assert torch.autograd.gradcheck(run, (x, v0, *extra))


@pytest.mark.parametrize("params", PARAMS, ids=IDS)
@pytest.mark.parametrize("estimator", [FastSigmoid(slope=5.0), Triangle(width=1.0)], ids=["fast-sigmoid", "triangle"])
def test_backward_matches_autograd_of_step_loop(params, estimator):
    x, state = _inputs(params)
    weights_s, weights_h = torch.randn_like(x), torch.randn_like(x)
    grads = []
    for runner in ("scan", "loop"):
        xx = x.clone().requires_grad_()
        if runner == "scan":
            out = neuron_scan(xx, params, estimator, state)
            spikes, membrane, final = out.spikes, out.membrane, out.state
        else:
            spikes, membrane, final = _step_loop(xx, params, estimator, state)
        loss = (spikes * weights_s).sum() + (membrane * weights_h).sum() + final.v.sum()
        (grad,) = torch.autograd.grad(loss, xx)
        grads.append(grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)


ONE_OUTPUT_CASES = [
    pytest.param(p, used, id=f"{i}-{used}")
    for p, i in zip(PARAMS, IDS)
    for used in ("spikes", "membrane", "final_v", "final_i")
    if used != "final_i" or p.syn_decay is not None
]


@pytest.mark.parametrize(("params", "used"), ONE_OUTPUT_CASES)
def test_backward_with_one_output_used_matches_step_loop(params, used):
    """Outputs without a gradient reach the backward as None (not zero-filled); each alone is right."""
    x, state = _inputs(params)
    weights = torch.randn_like(x)
    grads = []
    for runner in ("scan", "loop"):
        xx = x.clone().requires_grad_()
        if runner == "scan":
            out = neuron_scan(xx, params, FastSigmoid(slope=5.0), state)
            spikes, membrane, final = out.spikes, out.membrane, out.state
        else:
            spikes, membrane, final = _step_loop(xx, params, FastSigmoid(slope=5.0), state)
        loss = {
            "spikes": lambda: (spikes * weights).sum(),
            "membrane": lambda: (membrane * weights).sum(),
            "final_v": lambda: (final.v * weights[0]).sum(),
            "final_i": lambda: (final.i * weights[0]).sum(),
        }[used]()
        (grad,) = torch.autograd.grad(loss, xx)
        grads.append(grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)


def test_gradient_reaches_initial_state():
    params = CUBAParameters(tau_mem=5.0, tau_syn=2.0)
    x, state = _inputs(params)
    v0, i0 = state.v.clone().requires_grad_(), state.i.clone().requires_grad_()
    neuron_scan(x, params, ATan(), NeuronState(v0, i0)).membrane.sum().backward()
    assert v0.grad.abs().sum() > 0 and i0.grad.abs().sum() > 0


def test_bad_inputs_raise_typed_errors():
    params = LIFParameters()
    with pytest.raises(ShapeError, match="state.v"):
        neuron_scan(torch.zeros(3, 2, 4), params, ATan(), NeuronState(torch.zeros(2, 5)))
    with pytest.raises(ShapeError, match="state.i"):
        neuron_scan(torch.zeros(3, 2, 4), CUBAParameters(), ATan(), NeuronState(torch.zeros(2, 4)))
    with pytest.raises(ConfigError, match="no synaptic current"):
        neuron_scan(torch.zeros(3, 2, 4), params, ATan(), NeuronState(torch.zeros(2, 4), torch.zeros(2, 4)))
    with pytest.raises(ShapeError, match="time first"):
        neuron_scan(torch.zeros(4), params, ATan())
    with pytest.raises(ConfigError, match="tau_mem"):
        LIFParameters(tau_mem=0.0)
    with pytest.raises(ConfigError, match="threshold"):
        LIFParameters(threshold=-1.0)
    with pytest.raises(ConfigError, match="reset"):
        LIFParameters(reset="sometimes")


def test_reset_given_as_string_is_parsed():
    assert LIFParameters(reset="zero").reset is Reset.ZERO


def test_from_beta():
    assert LIFParameters.from_beta(0.95).mem_decay == pytest.approx(0.95)
