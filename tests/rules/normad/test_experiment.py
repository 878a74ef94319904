"""Acceptance runs of the NormAD experiments: 2 seeds by default, the 10-seed sweeps marked slow."""

import dataclasses

import pytest

from spikegrad.data.problems.spike_mapping import CountTarget
from spikegrad.train.normad_runs import (
    SingleConfig,
    ThreeLayerConfig,
    XORExperimentConfig,
    run_single,
    run_three_layer,
    run_xor,
)


def _output_only(config):
    return dataclasses.replace(config, training=dataclasses.replace(config.training, train_hidden=False))


@pytest.mark.parametrize("seed", [0, 1])
def test_single_neuron_reaches_the_target_correlation(seed):
    result = run_single(SingleConfig(), seed)
    assert result.solved and result.epochs_to_solve <= 200
    assert result.final_correlation >= 0.95 and result.correlations[0] < 0.5
    assert len(result.correlations) == result.epochs_to_solve + 1 and result.seconds_per_epoch > 0
    assert result.rasters.after.sum() == result.rasters.desired.sum() == 3


@pytest.mark.parametrize("seed", [0, 1])
def test_xor_needs_the_hidden_layer(seed):
    full = run_xor(XORExperimentConfig(), seed)
    output_only = run_xor(_output_only(XORExperimentConfig()), seed)
    assert full.solved and full.epochs_to_solve <= 500
    assert not output_only.solved and len(output_only.correlations) == 501
    assert full.rasters.after.shape == (300, 4, 1) and full.rasters.after.sum() == 4


def test_three_layer_network_learns_a_short_mapping():
    base = ThreeLayerConfig()
    config = dataclasses.replace(
        base,
        problem=dataclasses.replace(base.problem, duration_ms=100.0, target=CountTarget(2, 10.0)),
        training=dataclasses.replace(base.training, epochs=40),
    )
    result = run_three_layer(config, seed=1)
    assert result.correlations[0] == 0.0 and max(result.correlations) > 0.3
    assert len(result.correlations) == 41 or (result.solved and len(result.correlations) == result.epochs_to_solve + 1)
    assert result.rasters.desired.shape == (1000, 1, 1) and result.rasters.desired.sum() == 2


@pytest.mark.slow
def test_single_neuron_sweep():
    results = [run_single(SingleConfig(), seed) for seed in range(10)]
    assert sum(r.solved for r in results) >= 9


@pytest.mark.slow
def test_xor_sweep():
    results = [run_xor(XORExperimentConfig(), seed) for seed in range(10)]
    assert sum(r.solved for r in results) >= 8


def test_three_layer_hidden_learning_solves_what_output_only_does_not_yet():
    """Seed 7 of the sweep below: the multi-layer rule reaches C >= 0.9 after 53 updates, the output layer
    alone needs 162; capped at 100 epochs, only the multi-layer rule gets there."""
    config = dataclasses.replace(ThreeLayerConfig(), training=dataclasses.replace(ThreeLayerConfig().training, epochs=100))
    full = run_three_layer(config, seed=7)
    output_only = run_three_layer(_output_only(config), seed=7)
    assert full.solved and full.epochs_to_solve <= 100
    assert not output_only.solved and max(output_only.correlations) < 0.9


@pytest.mark.slow
def test_three_layer_sweep():
    config = ThreeLayerConfig()
    full = [run_three_layer(config, seed) for seed in range(10)]
    output_only = [run_three_layer(_output_only(config), seed) for seed in range(10)]
    assert sum(r.solved for r in full) >= 8
    assert sum(r.solved for r in full) > sum(o.solved for o in output_only)
