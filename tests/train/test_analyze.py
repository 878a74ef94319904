"""``spikegrad analyze`` lists every spiking layer of every rule's network (found by the SpikingLayer marker)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from spikegrad.cli import app
from spikegrad.nn import spiking_layers
from spikegrad.train import Trainer, build_experiment, get_recipe

RUNS = {
    "slayer-fsdd": ("fsdd", {"train_limit": "40", "test_limit": "20", "sample_ms": "300", "true_count": "18",
                             "false_count": "3", "hidden": "32"}, 2),
    "na-mnist": ("mnist", {"train_limit": "64", "test_limit": "32", "max_shift": "0", "rotation": "0"}, 4),
    "lee-mnist": ("mnist", {"train_limit": "64", "test_limit": "32", "steps": "6"}, 5),
}


@pytest.mark.parametrize("recipe", sorted(RUNS))
def test_analyze_lists_every_spiking_layer(shared_data, tmp_path, recipe):
    folder, settings, expected_layers = RUNS[recipe]
    config = get_recipe(recipe).configure({"data_dir": str(shared_data / folder), "epochs": "1", "batch_size": "16",
                                           **settings})
    experiment = build_experiment(config)
    Trainer(experiment, tmp_path).fit()
    layers = spiking_layers(experiment.model)
    names = [name for name, _ in layers]
    assert len(names) == expected_layers
    result = CliRunner().invoke(app, ["analyze", str(tmp_path), "--samples", "12", "--batch-size", "6"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "activity.json").read_text())
    neurons = [row for row in report["layers"] if row["role"] == "neuron"]
    assert [row["layer"] for row in neurons] == names
    assert [row["kind"] for row in neurons] == [layer.kind for _, layer in layers]
    assert all(row["spikes_per_neuron_per_sample"] >= 0 for row in neurons)
    assert sum(row["spikes_per_neuron_per_sample"] for row in neurons) > 0
    synapses = [row for row in report["layers"] if row["role"] == "synapse"]
    assert synapses and all(row["synops_per_sample"] >= 0 for row in synapses)
    assert report["totals"]["samples"] == 12
