"""Cross-library: a trained ``digits`` network goes to snnTorch through NIR with 100 % spike agreement, and back.

Skipped when snnTorch, its NIR dependency nirtorch, or nir are absent (CI installs them: see the report in
the export package's docstring). snnTorch 1.0.0 simulates NIR graphs by forward Euler at a fixed
``dt = 1e-4`` s, so the graph is written for that step (:data:`spikegrad.export.SNNTORCH_DT`).
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("nir", reason="the nir extra is not installed (pip install 'spikegrad[nir]')")
pytest.importorskip("nirtorch", reason="nirtorch (snnTorch's NIR dependency) is not installed")
snn = pytest.importorskip("snntorch", reason="snnTorch is not installed (pip install snntorch==1.0.0)")
from snntorch import utils as snn_utils
from snntorch.export_nir import export_to_nir
from snntorch.import_nir import import_from_nir

from spikegrad.data.registry import load_split
from spikegrad.encoding import poisson_encode
from spikegrad.export import (
    SNNTORCH_DT,
    from_nir,
    record_spikes,
    spike_agreement,
    to_nir,
)
from spikegrad.functional.neuron import Reset
from spikegrad.grad import make_estimator
from spikegrad.losses import rate_cross_entropy
from spikegrad.nn import LIF, Dense, SNNSequential

STEPS = 25  # the digits recipe's defaults: 25 steps, 64-128-10, tau_mem 10 ms, atan surrogate


def _digits(split):
    data = load_split("digits", split)
    return torch.from_numpy(data.images).float().div(255.0).flatten(1), torch.from_numpy(data.labels)


@pytest.fixture(scope="module")
def trained_digits():
    """The digits recipe's network (as ``lif_mlp`` builds it) with reset to zero, trained for one epoch."""
    torch.manual_seed(0)
    atan = make_estimator("atan")
    net = SNNSequential(Dense(64, 128), LIF(tau_mem=10.0, reset=Reset.ZERO, estimator=atan),
                        Dense(128, 10), LIF(tau_mem=10.0, reset=Reset.ZERO, estimator=atan))  # fmt: skip
    inputs, labels = _digits("train")
    generator = torch.Generator().manual_seed(1)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    order = torch.randperm(len(labels), generator=generator)
    for start in range(0, len(labels), 32):
        batch = order[start:start + 32]
        output, _ = net(poisson_encode(inputs[batch], STEPS, generator))
        loss = rate_cross_entropy(output, labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test_inputs, test_labels = _digits("test")
    spikes = poisson_encode(test_inputs, STEPS, torch.Generator().manual_seed(2))
    return net.eval(), spikes, test_labels


def _run_snntorch(module, spikes):
    """Step an imported snnTorch graph over ``spikes[T, B, ...]``; spikes of every Leaky layer ``[T, B, ...]``."""
    records = {}
    for name, layer in module.named_modules():
        if isinstance(layer, snn.Leaky):
            layer.register_forward_hook(lambda _m, _i, out, name=name: records.setdefault(name, []).append(out))
    state = None
    with torch.no_grad():
        for step in spikes:
            _, state = module(step, state)
    return [torch.stack(records[name]) for name in records]


def test_trained_digits_network_agrees_with_snntorch_on_every_spike(trained_digits):
    net, spikes, labels = trained_digits
    with torch.no_grad():
        output, _ = net(spikes)
    accuracy = float((output.sum(0).argmax(-1) == labels).float().mean())
    assert accuracy > 0.5  # trained, not random
    imported = import_from_nir(to_nir(net, dt=SNNTORCH_DT))
    theirs = _run_snntorch(imported, spikes)
    agreement = spike_agreement(record_spikes(net, spikes), theirs)
    print(f"\nsnnTorch import of the digits network ({labels.numel()} test samples, accuracy {accuracy:.3f}): {agreement}")
    assert agreement.reference_spikes > 1000
    assert (agreement.matching, agreement.coincidence, agreement.predictions) == (1.0, 1.0, 1.0)


def test_subtract_reset_network_through_snntorch_matches_our_approximation(trained_digits):
    net, spikes, _ = trained_digits
    subtract = SNNSequential(*(LIF(tau_mem=10.0, reset=Reset.SUBTRACT) if isinstance(m, LIF) else m for m in net)).eval()
    graph = to_nir(subtract, dt=SNNTORCH_DT, approximate=True)
    theirs = _run_snntorch(import_from_nir(graph), spikes)
    ours = record_spikes(from_nir(graph), spikes)
    assert spike_agreement(ours, theirs).matching == 1.0  # snnTorch runs exactly what the approximate graph says
    agreement = spike_agreement(record_spikes(subtract, spikes), theirs)
    print(f"\nsubtract-reset digits network, approximate export through snnTorch: {agreement}")
    assert agreement.matching < 1.0


def test_snntorch_export_reads_back_with_the_same_spikes():
    torch.manual_seed(3)
    leaky = [snn.Leaky(beta=torch.full((n,), b), threshold=torch.full((n,), t), init_hidden=True, reset_mechanism="zero")
             for n, b, t in ((16, 0.8, 1.0), (4, 0.9, 0.5))]  # fmt: skip
    reference = torch.nn.Sequential(torch.nn.Linear(6, 16), leaky[0], torch.nn.Linear(16, 4), leaky[1])
    graph = export_to_nir(reference, torch.zeros(1, 6), ignore_dims=[0])
    net = from_nir(graph, dt=SNNTORCH_DT)
    x = torch.rand(40, 8, 6) * 2
    with torch.no_grad():
        snn_utils.reset(reference)
        expected = torch.stack([reference(step) for step in x])
        ours, _ = net(x)
    assert expected.sum() > 20
    assert torch.equal(ours, expected)
