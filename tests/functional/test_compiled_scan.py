"""The neuron scan with its backward compiled for the CPU against the reference scan (the forward is the
reference's own: identical; the gradients to rounding), and the ``compile`` run option: honoured by the
shared-neuron networks, refused elsewhere. Compiling takes seconds per chunk length, so the default suite
compiles one neuron (CUBA: the synaptic current's path too); the others are slow."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional import compiled_scan
from spikegrad.functional.neuron import ALIFParameters, CUBAParameters, IFParameters, LIFParameters, Reset
from spikegrad.functional.scan import neuron_scan
from spikegrad.grad import ATan, FastSigmoid
from spikegrad.nn import LIF, SpikingNeuron, set_compiled_scans
from spikegrad.train import apply_overrides, build_experiment, get_recipe


def _run(x, params, estimator, compiled: bool):
    """Outputs and the input gradient of a loss that reaches the spikes, the membrane and the final state."""
    x = x.clone().requires_grad_()
    out = neuron_scan(x, params, estimator, compiled=compiled)
    weights = torch.linspace(-1.0, 2.0, x.shape[0], dtype=x.dtype)[:, None, None]
    loss = (out.spikes * weights).sum() + 0.1 * (out.membrane ** 2).sum() + out.state.v.sum()
    if out.state.i is not None:
        loss = loss + 0.5 * out.state.i.sum()
    loss.backward()
    return out, x.grad


def _assert_same(params, estimator):
    # two chunk lengths (CHUNK and 3); float64, so the gradients agree to 1e-10
    x = torch.randn(compiled_scan.CHUNK + 3, 4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = x * 0.7 + 0.35
    (ref, ref_grad), (got, got_grad) = _run(x, params, estimator, False), _run(x, params, estimator, True)
    assert ref.spikes.sum() > 10 and (ref.spikes == 0).sum() > 10  # the test fires and rests
    assert torch.equal(got.spikes, ref.spikes) and torch.equal(got.membrane, ref.membrane)  # the same forward
    assert torch.equal(got.state.v, ref.state.v)
    if params.syn_decay is not None:
        assert torch.equal(got.state.i, ref.state.i)
    torch.testing.assert_close(got_grad, ref_grad, rtol=1e-10, atol=1e-12)


def test_cuba_equals_the_reference():
    _assert_same(CUBAParameters(tau_mem=10.0, tau_syn=5.0), FastSigmoid())


@pytest.mark.slow
@pytest.mark.parametrize(("params", "estimator"), [
    (LIFParameters(beta=0.9), FastSigmoid()),
    (LIFParameters(beta=0.8, reset=Reset.ZERO, detach_reset=True), ATan()),
    (IFParameters(reset=Reset.NONE, strict=True), FastSigmoid()),
])
def test_other_neurons_equal_the_reference(params, estimator):
    _assert_same(params, estimator)


def test_calls_it_does_not_cover_are_refused():
    x = torch.rand(4, 2, 3)
    with pytest.raises(ConfigError, match="compile.*plain neurons"):
        neuron_scan(x, ALIFParameters(), FastSigmoid(), compiled=True)
    assert "CUDA" in compiled_scan.unsupported(torch.empty(1, device="meta"), LIFParameters(), False)


def test_set_compiled_scans_counts_and_refuses():
    model = torch.nn.Sequential(LIF(), torch.nn.Identity(), LIF())
    assert set_compiled_scans(model, True) == 2 and all(layer.compiled for layer in model if isinstance(layer, LIF))
    assert set_compiled_scans(model, False) == 2 and not model[0].compiled
    with pytest.raises(ConfigError, match="compile.*ALIF"):
        set_compiled_scans(torch.nn.Sequential(SpikingNeuron(ALIFParameters())), True)


def test_run_option_is_honoured_or_refused(tmp_path):
    digits = build_experiment(apply_overrides(get_recipe("digits").defaults, {"compile": "true"}))
    neurons = [m for m in digits.model.modules() if isinstance(m, SpikingNeuron)]
    assert neurons and all(layer.compiled for layer in neurons)
    with pytest.raises(ConfigError, match="compile.*'slayer-fsdd'.*no shared neuron scan"):
        build_experiment(apply_overrides(get_recipe("slayer-fsdd").defaults, {"compile": "true",
                                                                                  "data_dir": str(tmp_path)}))


@pytest.mark.slow
def test_a_compiled_run_trains_the_same_weights(tmp_path):
    from safetensors.torch import load_file

    from spikegrad.train.checkpoint import WEIGHTS
    from spikegrad.train.runs import fit_recipe

    base = {"epochs": "1", "hidden": "[16]", "steps": "20", "train_limit": "64", "test_limit": "32",
            "synapse_mode": "dense"}
    plain, _ = fit_recipe("digits", base, tmp_path / "plain")
    compiled, _ = fit_recipe("digits", {**base, "compile": "true"}, tmp_path / "compiled")
    assert (plain["compile"], compiled["compile"]) == (False, True)
    assert plain["compile_seconds"] == 0.0 < compiled["compile_seconds"]
    reference, weights = load_file(tmp_path / "plain" / WEIGHTS), load_file(tmp_path / "compiled" / WEIGHTS)
    for name in reference:
        torch.testing.assert_close(weights[name], reference[name], rtol=1e-4, atol=1e-5)
