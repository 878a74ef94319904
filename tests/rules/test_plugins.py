"""Rules as plug-ins: each realises the neuron slots it can train and refuses the others with the reason."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import CUBAParameters, LIFParameters
from spikegrad.nn.spec import NeuronSpec, ReadoutSpec, Role
from spikegrad.rules.registry import RULES, rule_type
from spikegrad.rules.slayer.layers import SRMNeuron, SRMSpec
from spikegrad.rules.slayer.srm import SRMParameters

SRM = SRMSpec(SRMParameters(theta=10.0, tau_sr=1.0, ts=1.0))


@pytest.mark.parametrize("name", ["bptt", "lee", "na", "normad"])
def test_only_slayer_trains_srm_slots_and_the_others_say_so(name):
    with pytest.raises(ConfigError, match=rf"'method': {name} trains .*; it cannot train SRM neurons"):
        rule_type(name)().layer(SRM)


def test_the_slayer_rule_realises_an_srm_slot_as_slayerpytorchs_neuron():
    layer = rule_type("slayer")().layer(SRM)
    assert isinstance(layer, SRMNeuron) and layer.params == SRM.params
    torch.manual_seed(0)
    x = 12.0 * torch.rand(30, 2, 5)
    out, _ = layer(x)
    reference, _ = SRMNeuron(SRM.params)(x)
    assert torch.equal(out, reference) and out.sum() > 0


@pytest.mark.parametrize("name", ["lee", "na"])
def test_rules_derived_without_a_synaptic_current_refuse_cuba_slots(name):
    with pytest.raises(ConfigError, match="no synaptic current stage"):
        rule_type(name)().layer(NeuronSpec(CUBAParameters(tau_mem=10.0, tau_syn=5.0)))


def test_normad_trains_only_its_own_continuous_time_networks():
    with pytest.raises(ConfigError, match="normad trains .*; it cannot train the discrete shared neurons"):
        rule_type("normad")().layer(NeuronSpec(LIFParameters(tau_mem=10.0)))


@pytest.mark.parametrize("name", ["bptt", "slayer", "lee", "na"])
def test_every_discrete_rule_realises_hidden_output_and_readout_slots(name):
    rule = rule_type(name)()
    x = (torch.rand(12, 3, 4) < 0.5).float() * 2.0
    for spec in (NeuronSpec(LIFParameters(tau_mem=10.0)), NeuronSpec(LIFParameters(tau_mem=10.0), Role.OUTPUT),
                 ReadoutSpec()):
        out, _ = rule.layer(spec)(x)
        assert out.shape == x.shape and torch.isfinite(out).all()


def test_unknown_rule_lists_the_rules():
    with pytest.raises(ConfigError, match="the rules are " + ", ".join(RULES)):
        rule_type("stdp")
