"""The shared scan with the neuron's own tensors: trainable decay and threshold, adaptive threshold, recurrence.

Gradients are checked three ways: ``gradcheck`` in float64 with a smooth spike, equality with autograd
through the single-step loop (any estimator, detached reset included), and chunk = whole.
"""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad.errors import ConfigError, InputError, ShapeError
from spikegrad.functional import (
    ALIFParameters,
    CUBAParameters,
    LIFParameters,
    NeuronState,
    NeuronWeights,
    Reset,
    initial_state,
    neuron_scan,
    neuron_step,
)
from spikegrad.grad import FastSigmoid, Sigmoid, Smooth, Triangle

N = 4
PARAMS = {
    "lif": LIFParameters(tau_mem=5.0),
    "lif-zero": LIFParameters(tau_mem=5.0, reset=Reset.ZERO),
    "lif-none": LIFParameters(tau_mem=5.0, reset=Reset.NONE),
    "lif-detach": LIFParameters(tau_mem=5.0, detach_reset=True),
    "cuba": CUBAParameters(tau_mem=5.0, tau_syn=2.0),
    "alif": ALIFParameters(tau_mem=5.0, tau_adapt=3.0, adapt_strength=0.3),
    "alif-zero": ALIFParameters(tau_mem=5.0, tau_adapt=3.0, adapt_strength=0.3, reset=Reset.ZERO),
    "alif-detach": ALIFParameters(tau_mem=5.0, tau_adapt=3.0, adapt_strength=0.3, detach_reset=True),
}
# which of the neuron's own tensors each case uses: decay/threshold per layer (scalar) or per neuron ([N])
WEIGHTS = {
    "none": {},
    "decay-layer": {"decay": ()},
    "decay-neuron": {"decay": (N,)},
    "threshold-layer": {"threshold": ()},
    "threshold-neuron": {"threshold": (N,)},
    "recurrent": {"recurrent": (N, N)},
    "all": {"decay": (N,), "threshold": (N,), "recurrent": (N, N)},
}


def _weights(kind: str, dtype=torch.float64) -> NeuronWeights:
    g = torch.Generator().manual_seed(3)
    values = {}
    for name, shape in WEIGHTS[kind].items():
        if name == "decay":
            values[name] = 0.5 + 0.4 * torch.rand(shape, generator=g, dtype=dtype)
        elif name == "threshold":
            values[name] = 0.7 + 0.6 * torch.rand(shape, generator=g, dtype=dtype)
        else:
            values[name] = 0.6 * torch.randn(shape, generator=g, dtype=dtype)
    return NeuronWeights(**values)


def _inputs(params, weights, dtype=torch.float64, steps=9):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(steps, 3, N, generator=g, dtype=dtype) * 1.2 + 0.4
    state = initial_state(params, x[0], weights)
    return x, NeuronState(*(None if part is None else torch.rand(part.shape, generator=g, dtype=dtype) * 0.5
                            for part in state))


def _step_loop(x, params, estimator, state, weights):
    spikes, membranes = [], []
    for x_t in x.unbind(0):
        out = neuron_step(x_t, state, params, estimator, weights)
        spikes.append(out.spikes)
        membranes.append(out.membrane)
        state = out.state
    return torch.stack(spikes), torch.stack(membranes), state


CASES = [pytest.param(p, w, id=f"{p}-{w}") for p in PARAMS for w in WEIGHTS if not (w == "none" and "alif" not in p)]


def _leaves(state, weights):
    """The state parts and the neuron's tensors, as leaves requiring gradients."""
    parts = [None if p is None else p.clone().requires_grad_() for p in state]
    own = [None if w is None else w.clone().requires_grad_() for w in weights]
    return NeuronState(*parts), NeuronWeights(*own)


def _loss(spikes, membrane, final, probe):
    total = (spikes * probe).sum() + (membrane * probe.flip(0)).sum() + (final.v * probe[0]).sum()
    for part in (final.i, final.a, final.s):
        if part is not None:
            total = total + (part * probe[1]).sum()
    return total


@pytest.mark.parametrize(("params", "weights"), CASES)
def test_forward_equals_single_step_loop(params, weights):
    params, weights = PARAMS[params], _weights(weights, torch.float32)
    x, state = _inputs(params, weights, torch.float32)
    out = neuron_scan(x, params, FastSigmoid(), state, weights)
    spikes, membrane, final = _step_loop(x, params, FastSigmoid(), state, weights)
    assert torch.equal(out.spikes, spikes) and torch.equal(out.membrane, membrane)
    for got, want in zip(out.state, final):
        assert (got is None and want is None) or torch.equal(got, want)
    assert 0 < out.spikes.sum() < out.spikes.numel()  # the test drives real spikes, not all of them


@pytest.mark.parametrize(("params", "weights"), CASES)
@pytest.mark.parametrize("estimator", [FastSigmoid(slope=5.0), Triangle(width=1.0)], ids=["fast-sigmoid", "triangle"])
def test_backward_matches_autograd_of_step_loop(params, weights, estimator):
    params, weights = PARAMS[params], _weights(weights)
    x, state = _inputs(params, weights)
    probe = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    grads = []
    for runner in ("scan", "loop"):
        xx = x.clone().requires_grad_()
        s0, w = _leaves(state, weights)
        if runner == "scan":
            out = neuron_scan(xx, params, estimator, s0, w)
            spikes, membrane, final = out
        else:
            spikes, membrane, final = _step_loop(xx, params, estimator, s0, w)
        leaves = [xx] + [p for p in (*s0, *w) if p is not None]
        grads.append(torch.autograd.grad(_loss(spikes, membrane, final, probe), leaves, allow_unused=True))
    for scan_grad, loop_grad in zip(*grads):
        assert loop_grad is not None and loop_grad.abs().sum() > 0  # every leaf gets a real gradient
        torch.testing.assert_close(scan_grad, loop_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("params", "weights"), [c for c in CASES if "detach" not in c.id])
def test_gradcheck_with_smooth_spike(params, weights):
    params, weights = PARAMS[params], _weights(weights)
    x, state = _inputs(params, weights, steps=6)
    state, weights = _leaves(state, weights)
    x.requires_grad_()
    names = [n for n, p in zip(state._fields, state) if p is not None]
    own = [n for n, w in zip(weights._fields, weights) if w is not None]
    estimator = Smooth(Sigmoid(alpha=3.0))

    def run(x, *leaves):
        s0 = NeuronState(**dict(zip(names, leaves[: len(names)])))
        w = NeuronWeights(**dict(zip(own, leaves[len(names):])))
        out = neuron_scan(x, params, estimator, s0, w)
        return (out.spikes, out.membrane) + tuple(p for p in out.state if p is not None)

    leaves = [getattr(state, n) for n in names] + [getattr(weights, n) for n in own]
    assert torch.autograd.gradcheck(run, (x, *leaves))


@pytest.mark.parametrize(("params", "weights"), CASES)
@pytest.mark.parametrize("split", [1, 4, 8])
def test_chunked_scan_equals_whole_scan(params, weights, split):
    params, weights = PARAMS[params], _weights(weights)
    x, state = _inputs(params, weights)
    probe = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=x.dtype)
    results = []
    for chunks in ([x], [x[:split], x[split:]]):
        s, w = _leaves(state, weights)
        leaves = [p for p in (*s, *w) if p is not None]
        xx = [c.clone().requires_grad_() for c in chunks]
        outs = []
        for chunk in xx:
            out = neuron_scan(chunk, params, FastSigmoid(), s, w)
            outs.append(out)
            s = out.state
        spikes = torch.cat([o.spikes for o in outs])
        membrane = torch.cat([o.membrane for o in outs])
        grads = torch.autograd.grad(_loss(spikes, membrane, s, probe), xx + leaves)
        results.append((spikes, membrane, s, torch.cat(grads[: len(xx)]), grads[len(xx):]))
    (spikes, membrane, final, gx, gw), (spikes2, membrane2, final2, gx2, gw2) = results
    assert torch.equal(spikes, spikes2) and torch.equal(membrane, membrane2)
    for got, want in zip(final2, final):
        assert (got is None and want is None) or torch.equal(got, want)
    torch.testing.assert_close(gx2, gx, rtol=1e-10, atol=1e-12)
    for got, want in zip(gw2, gw):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_adaptive_threshold_hand_values():
    # beta = 0.5, rho = 0.5, b = 0.5, theta_0 = 1, constant input 0.8, reset by subtracting theta_t
    params = ALIFParameters(tau_mem=1 / math.log(2.0), tau_adapt=1 / math.log(2.0), adapt_strength=0.5)
    out = neuron_scan(torch.full((5, 1, 1), 0.8, dtype=torch.float64), params, FastSigmoid())
    # h: .8; 1.2 -> spike (theta 1), v .2, a 1; h .9 < theta 1.5; h 1.25 < 1.25? theta = 1 + .5 * .5 = 1.25 -> spike
    # (>=), v 0, a = .25 + 1 = 1.25; h .8 < 1.625
    assert out.membrane.flatten().tolist() == pytest.approx([0.8, 1.2, 0.9, 1.25, 0.8])
    assert out.spikes.flatten().tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert out.state.a.item() == pytest.approx(0.625 + 0.0)  # a after step 4: .5 * 1.25 + 0


def test_recurrent_weight_feeds_previous_spikes():
    params = LIFParameters(tau_mem=1 / math.log(2.0))
    x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).view(3, 1, 1)
    out = neuron_scan(x, params, FastSigmoid(), weights=NeuronWeights(recurrent=torch.full((1, 1), 0.7, dtype=torch.float64)))
    # h: 1 -> spike, v 0; h = 0 + .7 (own spike) = .7; h = .35 + 0
    assert out.membrane.flatten().tolist() == pytest.approx([1.0, 0.7, 0.35])
    assert out.spikes.flatten().tolist() == [1.0, 0.0, 0.0]


def test_trainable_decay_equal_to_constant_gives_same_spikes():
    params = LIFParameters(tau_mem=5.0)
    x, state = _inputs(params, NeuronWeights(), torch.float32, steps=30)
    plain = neuron_scan(x, params, FastSigmoid(), state)
    decay = torch.tensor(params.mem_decay, dtype=torch.float32)
    threshold = torch.tensor(params.threshold, dtype=torch.float32)
    own = neuron_scan(x, params, FastSigmoid(), state, NeuronWeights(decay=decay, threshold=threshold))
    torch.testing.assert_close(own.membrane, plain.membrane)
    assert torch.equal(own.spikes, plain.spikes)


def test_bad_weights_and_parameters_raise_typed_errors():
    x = torch.zeros(3, 2, N)
    params = LIFParameters()
    with pytest.raises(ShapeError, match="weights.decay"):
        neuron_scan(x, params, FastSigmoid(), weights=NeuronWeights(decay=torch.full((2, N), 0.9)))
    with pytest.raises(ShapeError, match="weights.recurrent"):
        neuron_scan(x, params, FastSigmoid(), weights=NeuronWeights(recurrent=torch.zeros(N, N + 1)))
    with pytest.raises(ShapeError, match="weights.recurrent"):
        neuron_scan(torch.zeros(3, 2, 2, 2), params, FastSigmoid(), weights=NeuronWeights(recurrent=torch.zeros(2, 2)))
    with pytest.raises(InputError, match="weights.threshold"):
        neuron_scan(x, params, FastSigmoid(), weights=NeuronWeights(threshold=torch.ones((), dtype=torch.float64)))
    with pytest.raises(ShapeError, match="state.a"):
        neuron_scan(x, ALIFParameters(), FastSigmoid(), NeuronState(torch.zeros(2, N)))
    with pytest.raises(ConfigError, match="state"):
        neuron_scan(x, params, FastSigmoid(), NeuronState(torch.zeros(2, N), a=torch.zeros(2, N)))
    with pytest.raises(ConfigError, match="tau_adapt"):
        ALIFParameters(tau_adapt=0.0)
    with pytest.raises(ConfigError, match="adapt_strength"):
        ALIFParameters(adapt_strength=-0.1)
