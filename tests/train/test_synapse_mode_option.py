"""The ``synapse_mode`` run option (issue 14): honoured, reported, the same training to float rounding,
refused by recipes whose rule computes its own synaptic currents."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from spikegrad.errors import ConfigError
from spikegrad.train.checkpoint import WEIGHTS
from spikegrad.train.recipe import build_experiment, get_recipe
from spikegrad.train.runs import fit_recipe

SMALL_DIGITS = {"epochs": "1", "hidden": "[16]", "steps": "6", "train_limit": "120", "test_limit": "60"}


def test_digits_trains_the_same_in_every_synapse_mode(tmp_path):
    runs = {mode: fit_recipe("digits", {**SMALL_DIGITS, "synapse_mode": mode}, tmp_path / mode)[0]
            for mode in ("dense", "event", "auto")}
    assert [runs[m]["synapse_mode"] for m in ("dense", "event", "auto")] == ["dense", "event", "auto"]
    assert runs["dense"]["event_synapse_share"] == 0.0 and runs["event"]["event_synapse_share"] == 1.0
    assert runs["event"]["test_accuracy"] == runs["dense"]["test_accuracy"]
    dense = load_file(tmp_path / "dense" / WEIGHTS)
    for mode in ("event", "auto"):
        weights = load_file(tmp_path / mode / WEIGHTS)
        for key in dense:
            torch.testing.assert_close(weights[key], dense[key], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("recipe", ["normad-xor", "na-fit"])
@pytest.mark.parametrize("mode", ["dense", "event"])
def test_a_recipe_without_dense_synapses_refuses_a_mode(recipe, mode):
    config = get_recipe(recipe).configure({"synapse_mode": mode})
    with pytest.raises(ConfigError, match=rf"option 'synapse_mode': recipe '{recipe}' has no Dense synapse layer"):
        build_experiment(config)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="synapse_mode"):
        get_recipe("digits").configure({"synapse_mode": "sparse"})
