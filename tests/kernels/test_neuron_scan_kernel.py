"""The fused Triton neuron scan against the reference scan, forward and backward, under Triton's interpreter."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional import (
    ALIFParameters,
    CUBAParameters,
    IFParameters,
    LIFParameters,
    NeuronState,
    NeuronWeights,
    Reset,
    neuron_scan,
)
from spikegrad.grad import ATan, ExponentialPDF, FastSigmoid, Sigmoid, Smooth, StraightThrough, Triangle
from spikegrad.kernels import use_backend

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

PARAMS = [
    LIFParameters(tau_mem=5.0),
    LIFParameters(tau_mem=5.0, reset=Reset.ZERO),
    LIFParameters(tau_mem=5.0, reset=Reset.NONE),
    LIFParameters(tau_mem=5.0, detach_reset=True),
    LIFParameters(tau_mem=5.0, reset=Reset.ZERO, detach_reset=True),
    LIFParameters(tau_mem=5.0, strict=True, threshold=0.7),
    LIFParameters(beta=0.0, reset=Reset.ZERO, strict=True),
    IFParameters(threshold=0.8),
    IFParameters(reset=Reset.ZERO, detach_reset=True),
    CUBAParameters(tau_mem=5.0, tau_syn=2.0),
    CUBAParameters(tau_mem=4.0, tau_syn=3.0, reset=Reset.ZERO),
    CUBAParameters(tau_mem=4.0, tau_syn=3.0, reset=Reset.NONE, strict=True),
]
IDS = [f"{type(p).__name__}-{p.reset.value}{'-detach' if p.detach_reset else ''}{'-strict' if p.strict else ''}"
       f"-b{p.mem_decay:.2f}" for p in PARAMS]
ESTIMATORS = [FastSigmoid(slope=5.0), ATan(alpha=3.0), Sigmoid(alpha=2.5), Triangle(width=0.9, height=1.3),
              StraightThrough(width=0.8), ExponentialPDF(tau=0.6, scale=1.4)]
OUTPUTS = ["spikes", "membrane", "state", "all"]


def _problem(params, shape, quantized=False):
    """Fresh inputs and a non-zero initial state; ``quantized`` puts membranes exactly on the threshold."""
    x = torch.randn(shape) * 1.2 + 0.3
    if quantized:  # multiples of 1/4 sum exactly, so h hits the threshold 1.0 or 0.75 exactly
        x = (x * 4).round() / 4
    v = torch.rand(shape[1:]) * 0.5
    i = torch.randn(shape[1:]) * 0.2 if params.syn_decay is not None else None
    return x, NeuronState(v, i)


def _run(backend, x, params, estimator, state, used):
    """Scan under ``backend``; returns the outputs and the gradients of a random loss of the ``used`` outputs."""
    x = x.clone().requires_grad_()
    state = NeuronState(*(None if t is None else t.clone().requires_grad_() for t in state))
    with use_backend(backend):
        out = neuron_scan(x, params, estimator, state)
    weights = torch.Generator().manual_seed(7)
    terms = {
        "spikes": (out.spikes * torch.randn(out.spikes.shape, generator=weights)).sum(),
        "membrane": (out.membrane * torch.randn(out.membrane.shape, generator=weights)).sum(),
        "state": sum((t * torch.randn(t.shape, generator=weights)).sum() for t in out.state if t is not None),
    }
    loss = sum(terms.values()) if used == "all" else terms[used]
    inputs = [x] + [t for t in state if t is not None]
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return out, [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, grads)]


def _check(x, params, estimator, state, used="all"):
    ref, ref_grads = _run("reference", x, params, estimator, state, used)
    ker, ker_grads = _run("triton", x, params, estimator, state, used)
    assert torch.equal(ker.spikes, ref.spikes)
    torch.testing.assert_close(ker.membrane, ref.membrane, rtol=1e-5, atol=1e-5)
    for k, r in zip(ker.state, ref.state):
        assert (k is None) == (r is None)
        if r is not None:
            torch.testing.assert_close(k, r, rtol=1e-5, atol=1e-5)
    for k, r in zip(ker_grads, ref_grads):
        assert k.isfinite().all()
        torch.testing.assert_close(k, r, rtol=1e-4, atol=1e-5)
    return ref


def test_runs_under_the_interpreter():
    from triton.runtime.interpreter import InterpretedFunction

    from spikegrad.kernels import neuron_scan as kernel

    assert kernel.INTERPRETED and isinstance(kernel._forward_kernel, InterpretedFunction)
    assert isinstance(kernel._backward_kernel, InterpretedFunction)


@pytest.mark.parametrize("params", PARAMS, ids=IDS)
def test_every_neuron_and_reset_matches_the_reference(params):
    x, state = _problem(params, (7, 3, 5))
    ref = _check(x, params, ATan(alpha=3.0), state)
    assert 0 < ref.spikes.mean() < 1  # the problem exercises both branches of the reset


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("params", [PARAMS[0], PARAMS[1], PARAMS[9]], ids=[IDS[0], IDS[1], IDS[9]])
def test_every_estimator_matches_the_reference(estimator, params):
    x, state = _problem(params, (6, 2, 7))
    _check(x, params, estimator, state)


@pytest.mark.parametrize("used", OUTPUTS)
@pytest.mark.parametrize("params", [PARAMS[1], PARAMS[10]], ids=[IDS[1], IDS[10]])
def test_gradient_of_each_output_alone(used, params):
    x, state = _problem(params, (5, 2, 3))
    _check(x, params, FastSigmoid(), state, used)


@pytest.mark.parametrize("params", [PARAMS[0], PARAMS[9]], ids=[IDS[0], IDS[9]])
def test_one_step_and_several_blocks(params):
    """T = 1; and 2 * BLOCK + 3 neurons (three programs, the last one masked)."""
    from spikegrad.kernels.neuron_scan import BLOCK

    for shape in [(1, 3, 5), (3, 1, 2 * BLOCK + 3)]:
        x, state = _problem(params, shape)
        _check(x, params, Sigmoid(), state)


ON_THRESHOLD = [IFParameters(), IFParameters(threshold=0.75, strict=True), IFParameters(reset=Reset.ZERO),
                IFParameters(threshold=0.75, reset=Reset.ZERO, strict=True)]


@pytest.mark.parametrize("params", ON_THRESHOLD, ids=lambda p: f"{p.reset.value}-{'strict' if p.strict else 'ge'}")
def test_membrane_exactly_on_the_threshold(params):
    """h = threshold fires unless strict, in the forward pass and in the reset's gradient (IF neurons and
    quarter-step inputs: every membrane is exact)."""
    x, state = _problem(params, (6, 4, 5), quantized=True)
    ref = _check(x, params, Triangle(), NeuronState(torch.zeros_like(state.v)))
    assert (ref.membrane == params.threshold).any()


def test_carried_state_chunks_equal_one_scan():
    params = CUBAParameters(tau_mem=4.0, tau_syn=3.0)
    x, state = _problem(params, (9, 2, 5))
    whole = neuron_scan(x, params, ATan(), state)
    first = neuron_scan(x[:4], params, ATan(), state)
    second = neuron_scan(x[4:], params, ATan(), first.state)
    assert torch.equal(torch.cat([first.spikes, second.spikes]), whole.spikes)
    assert torch.equal(torch.cat([first.membrane, second.membrane]), whole.membrane)
    assert torch.equal(second.state.v, whole.state.v) and torch.equal(second.state.i, whole.state.i)


def test_non_contiguous_input_and_zero_state():
    params = LIFParameters(tau_mem=3.0)
    x = (torch.randn(4, 5, 6) + 0.5).transpose(1, 2)  # [T, B=5... ] seen as [4, 6, 5], not contiguous
    assert not x.is_contiguous()
    with use_backend("triton"):
        ker = neuron_scan(x, params, ATan())
    with use_backend("reference"):
        ref = neuron_scan(x, params, ATan())
    assert torch.equal(ker.spikes, ref.spikes)
    torch.testing.assert_close(ker.membrane, ref.membrane, rtol=1e-5, atol=1e-5)


def test_unsupported_calls_raise_when_forced_and_fall_back_otherwise():
    params = LIFParameters()
    x = torch.randn(3, 2, 4)
    with pytest.raises(ConfigError, match="Smooth"):
        neuron_scan(x, params, Smooth(ATan()))
    with pytest.raises(ConfigError, match="float32"):
        neuron_scan(x.double(), params, ATan())
    with use_backend("auto"):  # CPU tensors: the reference, whatever the estimator
        out = neuron_scan(x.requires_grad_(), params, Smooth(ATan()))
    assert type(out.spikes.grad_fn).__name__ == "_NeuronScanBackward"


BEYOND_THE_KERNEL = {  # (params, weights, what the refusal names) for [T, B, 4] inputs
    "adaptive": (ALIFParameters(tau_adapt=20.0, adapt_strength=0.1), NeuronWeights(), "adaptive threshold"),
    "own-decay": (LIFParameters(), NeuronWeights(decay=torch.full((4,), 0.9)), "decay"),
    "own-threshold": (LIFParameters(), NeuronWeights(threshold=torch.tensor(0.8)), "threshold"),
    "recurrent": (LIFParameters(), NeuronWeights(recurrent=torch.zeros(4, 4)), "recurrent"),
}


@pytest.mark.parametrize("case", BEYOND_THE_KERNEL.values(), ids=BEYOND_THE_KERNEL.keys())
def test_adaptive_own_and_recurrent_neurons_are_refused_by_the_kernel_and_run_by_the_reference(case):
    from spikegrad.kernels.neuron_scan import supports

    params, weights, named = case
    x = torch.randn(3, 2, 4)
    state = NeuronState(x[0] * 0)
    assert named in supports(x, state.v, None, params, ATan(), weights)  # AUTO then runs the reference on CUDA
    with pytest.raises(ConfigError, match=f"does not support this call: .*{named}"):
        neuron_scan(x, params, ATan(), weights=weights)
    with use_backend("auto"):
        out = neuron_scan(x, params, ATan(), weights=weights)
    with use_backend("reference"):
        ref = neuron_scan(x, params, ATan(), weights=weights)
    assert torch.equal(out.spikes, ref.spikes) and torch.equal(out.membrane, ref.membrane)


def test_the_custom_ops_pass_opcheck():
    """Schema, fake (meta) implementations, autograd registration and AOT dispatch of both custom ops."""
    from spikegrad.kernels.neuron_scan import neuron_scan_backward_op, neuron_scan_op

    x, v0, i0 = torch.randn(4, 3, 5), torch.rand(3, 5), torch.randn(3, 5)
    x, v0, i0 = (t.requires_grad_() for t in (x, v0, i0))
    torch.library.opcheck(neuron_scan_op, (x, v0, i0, 1.0, 0.9, 0.5, 0, False, False, 1, 1.5, 4.7))
    torch.library.opcheck(neuron_scan_op, (x, v0, None, 1.0, 0.9, None, 1, True, True, 0, 25.0, 0.0))
    h, g = torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    torch.library.opcheck(neuron_scan_backward_op, (h, g, None, torch.randn(3, 5), None, 1.0, 0.9, None, 1, True,
                                                    False, 0, 25.0, 0.0))
