"""The digits recipe's neurons beyond the papers': settings build the layers, bptt/slayer train them, others refuse."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import ALIFParameters, LIFParameters
from spikegrad.nn import Granularity, SpikingNeuron
from spikegrad.train import Trainer, build_experiment, get_recipe

SMALL = {"epochs": 1, "train_limit": 8, "test_limit": 4, "batch_size": 4, "steps": 4}
ALL = {"learn_decay": "neuron", "learn_threshold": "layer", "adapt_strength": 0.2, "tau_adapt": 50, "recurrent": "true"}


def _experiment(**overrides):
    return build_experiment(get_recipe("digits").configure({k: str(v) for k, v in {**SMALL, **overrides}.items()}))


def test_settings_build_adaptive_recurrent_hidden_layers_and_trainable_constants_everywhere():
    hidden, output = [m for m in _experiment(**ALL).model if isinstance(m, SpikingNeuron)]
    assert isinstance(hidden.params, ALIFParameters) and hidden.params.adaptation.strength == 0.2
    assert type(output.params) is LIFParameters  # the output layer neither adapts nor recurs
    assert hidden.own.spec.recurrent and not output.own.spec.recurrent
    assert hidden.own.raw_decay.shape == (128,) and hidden.own.raw_threshold.shape == ()
    assert output.own.spec.decay is Granularity.NEURON


def test_default_settings_build_the_plain_lif_network():
    layers = [m for m in _experiment().model if isinstance(m, SpikingNeuron)]
    assert all(type(m.params) is LIFParameters and m.own is None for m in layers)


def test_same_seed_gives_the_same_synapses_with_and_without_own_weights():
    torch.manual_seed(123)  # the recipe seeds itself; this must not matter
    plain = _experiment().model.state_dict()
    own = _experiment(**ALL).model.state_dict()
    assert all(torch.equal(plain[key], own[key]) for key in plain)


@pytest.mark.parametrize("method", ["bptt", "slayer"])
def test_scan_rules_train_every_own_parameter(method, tmp_path):
    experiment = _experiment(method=method, **ALL)
    with torch.no_grad():  # recurrent weights start at zero; start them elsewhere so every path carries gradient
        experiment.model[1].own.recurrent.normal_(0, 0.1)
    before = {n: p.detach().clone() for n, p in experiment.model.named_parameters() if "own" in n}
    summary = Trainer(experiment, tmp_path / "run").fit()
    after = dict(experiment.model.named_parameters())
    assert math.isfinite(summary["final_train_loss"]) and len(before) == 5
    for name, value in before.items():
        assert not torch.equal(after[name].detach(), value), f"{name} did not train"


FEATURES = {
    "learnable tau and threshold": {"learn_decay": "neuron", "learn_threshold": "neuron"},
    "adaptive threshold": {"adapt_strength": 0.1, "tau_adapt": 100},
    "recurrent": {"recurrent": "true"},
}


@pytest.mark.parametrize("method", ["bptt", "slayer"])
@pytest.mark.parametrize("feature", FEATURES.values(), ids=FEATURES.keys())
def test_each_feature_trains_digits_above_chance(feature, method, tmp_path):
    """3 epochs on 320 training images: the loss falls and test accuracy (120 images) is far above 0.1."""
    experiment = _experiment(method=method, epochs=3, train_limit=320, test_limit=120, batch_size=32, steps=10,
                             **feature)
    trainer = Trainer(experiment, tmp_path / "run")
    summary = trainer.fit()
    losses = [row["train_loss"] for row in trainer.history]
    assert losses[-1] < 0.8 * losses[0], losses
    assert summary["test_accuracy"] > 0.5, summary


@pytest.mark.parametrize("method", ["lee", "na"])
@pytest.mark.parametrize("setting", [{"adapt_strength": 0.1}, {"learn_decay": "layer"}, {"recurrent": "true"}])
def test_other_rules_refuse_naming_the_reason(method, setting):
    with pytest.raises(ConfigError, match=rf"'method': {method} trains .*; it cannot train .*(adaptive|trainable|recurrent)"):
        _experiment(method=method, **setting)


def test_invalid_settings_name_the_setting():
    with pytest.raises(ConfigError, match="adapt_strength"):
        _experiment(adapt_strength=-1)
    with pytest.raises(ConfigError, match="tau_adapt"):
        _experiment(tau_adapt=0)
