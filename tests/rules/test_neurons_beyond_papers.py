"""Which rules train adaptive, trainable-constant and recurrent neurons, and every rule's layers record membranes."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import ALIFParameters, LIFParameters
from spikegrad.nn import Granularity, OwnParameters, SpikingNeuron, recording
from spikegrad.nn.spec import NeuronSpec, Role
from spikegrad.rules.registry import rule_type
from spikegrad.rules.slayer.layers import SRMSpec
from spikegrad.rules.slayer.srm import SRMParameters

N = 4
OWN = OwnParameters(N, decay=Granularity.NEURON, threshold=Granularity.LAYER, recurrent=True)
SLOTS = {
    "adaptive": NeuronSpec(ALIFParameters(tau_mem=10.0, tau_adapt=20.0, adapt_strength=0.2)),
    "own": NeuronSpec(LIFParameters(tau_mem=10.0), own=OWN),
    "adaptive-own-output": NeuronSpec(ALIFParameters(tau_mem=10.0), Role.OUTPUT, own=OWN),
}


@pytest.mark.parametrize("slot", SLOTS)
@pytest.mark.parametrize("name", ["bptt", "slayer"])
def test_scan_rules_train_adaptive_and_own_weight_neurons(name, slot):
    spec = SLOTS[slot]
    layer = rule_type(name)().layer(spec)
    assert isinstance(layer, SpikingNeuron) and layer.params.adaptation == spec.params.adaptation
    torch.manual_seed(0)
    x = (torch.rand(12, 3, N) * 3).requires_grad_()
    spikes, _ = layer(x)
    spikes.sum().backward()
    own = dict(layer.named_parameters())
    assert set(own) == (set() if spec.own is None else {"own.raw_decay", "own.raw_threshold", "own.recurrent"})
    assert x.grad.abs().sum() > 0 and all(p.grad is not None for p in own.values())


@pytest.mark.parametrize("slot", SLOTS)
@pytest.mark.parametrize(("name", "reason"), [
    ("lee", "pseudo-derivative is derived for a fixed leak and threshold"),
    ("na", "neighbour re-simulation runs NA's fixed LIF neuron"),
    ("normad", "the discrete shared neurons"),
])
def test_other_rules_refuse_with_the_reason(name, reason, slot):
    with pytest.raises(ConfigError, match=rf"'method': {name} trains .*; it cannot train .*{reason}"):
        rule_type(name)().layer(SLOTS[slot])


@pytest.mark.parametrize("name", ["bptt", "slayer", "lee", "na"])
def test_every_rules_spiking_layers_record_their_membrane(name):
    rule = rule_type(name)()
    layer = rule.layer(NeuronSpec(LIFParameters(tau_mem=10.0)))
    x = torch.rand(8, 2, N) * 3
    with recording(layer) as layers:
        layer(x)
        (_, recorded), = layers
        assert recorded.recorded_membrane.shape == recorded.recorded_spikes.shape == (8, 2, N)
        assert recorded.recorded_spikes.sum() > 0


def test_slayer_srm_layer_records_its_membrane():
    layer = rule_type("slayer")().layer(SRMSpec(SRMParameters(theta=10.0, tau_sr=1.0, ts=1.0)))
    with recording(layer):
        layer(12.0 * torch.rand(30, 2, 5))
        assert layer.recorded_membrane.shape == (30, 2, 5)
