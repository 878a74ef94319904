"""NormAD recipes: ``normad-single``, ``normad-xor`` and ``normad-3layer`` (Anwani & Rajendran).

Each epoch is one presentation of the problem and one NormAD update; training stops once the problem is
solved, as the authors do (``summary.json``'s ``epochs`` then counts the epochs run). The per-layer
initialisations and learning rates (pA) are those of :mod:`spikegrad.train.normad_runs`;
``--set train_hidden=false`` trains only the output layer from the same initial weights, the baseline
the multi-layer rule must beat. The summary reports
``final_correlation``, ``solved`` and ``epochs_to_solve``. The config's ``lr``/``optimizer`` are not
used: NormAD's step sizes are the per-layer rates.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import torch

from spikegrad.analysis.normad_plots import plot_output_rasters
from spikegrad.analysis.spike_metrics import van_rossum_distance
from spikegrad.train.config import RunConfig
from spikegrad.train.experiment import Experiment, ProgressCallback
from spikegrad.train.normad_runs import (
    NormADRun,
    SingleConfig,
    ThreeLayerConfig,
    XORExperimentConfig,
    single_run,
    three_layer_run,
    xor_run,
)
from spikegrad.train.recipe import Recipe, register


class NormADExperiment(Experiment):
    """Trains a :class:`NormADRun` one presentation per epoch."""

    def __init__(self, config: RunConfig, run: NormADRun):
        self.config, self.run = config, run
        self.model = run.network
        self.initial_output = run.measure()[0].output  # before any update (the build is seeded)

    def make_optimizer(self) -> torch.optim.Optimizer:
        return self.run.optimizer

    def num_batches(self) -> int:
        return 1

    def train_epoch(self, optimizer, generator, on_batch: ProgressCallback, step) -> dict[str, float]:
        record, correlation, solved = self.run.measure()
        if not solved:
            self.run.update(record)
        on_batch(0, 1, 1.0 - correlation)
        return {"loss": 1.0 - correlation, "correlation": correlation, "solved": float(solved)}

    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        record, correlation, solved = self.run.measure()
        distance = van_rossum_distance(self.run.problem.desired, record.output, self.run.dt_ms).mean().item()
        return {"loss": 1.0 - correlation, "correlation": correlation, "solved": float(solved), "van_rossum": distance}

    def finished(self, history: list[dict[str, float]]) -> bool:
        return bool(history[-1]["train_solved"] or history[-1]["test_solved"])

    def summary(self, history: list[dict[str, float]]) -> dict[str, float | int | bool | None]:
        solved_at = [row["epoch"] - 1 if row["train_solved"] else row["epoch"]
                     for row in history if row["train_solved"] or row["test_solved"]]
        return {"final_correlation": history[-1]["test_correlation"], "solved": bool(solved_at),
                "epochs_to_solve": min(solved_at) if solved_at else None}

    def plot_sample(self, path: Path, generator: torch.Generator) -> None:
        record, _, _ = self.run.measure()
        plot_output_rasters(self.run.problem.desired, self.initial_output, record.output, self.run.dt_ms, path)


def _with_training(config, train_hidden: bool, tau_prime_ms: float):
    training = dataclasses.replace(config.training, train_hidden=train_hidden, tau_prime_ms=tau_prime_ms,
                                   epochs=max(config.training.epochs, 1))
    return dataclasses.replace(config, training=training)


def _builder(make_run: Callable[[RunConfig], NormADRun]) -> Callable[[RunConfig], Experiment]:
    def build(config: RunConfig) -> Experiment:
        torch.set_num_threads(1)  # NormAD works on tiny tensors: extra threads only add synchronisation
        return NormADExperiment(config, make_run(config))

    return build


def _single(config: RunConfig) -> NormADRun:
    base = _with_training(SingleConfig(), config.param("train_hidden"), config.param("tau_prime_ms"))
    return single_run(base, config.seed)


def _xor(config: RunConfig) -> NormADRun:
    base = _with_training(XORExperimentConfig(hidden=config.param("hidden")), config.param("train_hidden"),
                          config.param("tau_prime_ms"))
    return xor_run(base, config.seed)


def _three_layer(config: RunConfig) -> NormADRun:
    base = _with_training(ThreeLayerConfig(hidden=tuple(config.param("hidden"))), config.param("train_hidden"),
                          config.param("tau_prime_ms"))
    near_miss_mv = config.param("near_miss_mv") or None  # 0: spikes only
    hidden_rule = dataclasses.replace(base.training.hidden_rule, near_miss_mv=near_miss_mv)
    return three_layer_run(dataclasses.replace(base, training=dataclasses.replace(base.training, hidden_rule=hidden_rule)),
                           config.seed)


register(Recipe(
    name="normad-single",
    summary="NormAD: one LIF neuron learns 3 desired spikes from 100 Poisson inputs (200 ms, dt 0.1 ms)",
    defaults=RunConfig(recipe="normad-single", method="normad", epochs=200, batch_size=1,
                       params={"train_hidden": True, "tau_prime_ms": 1.0}),
    methods=("normad",), build=_builder(_single), needs_data=False,
))

register(Recipe(
    name="normad-xor",
    summary="multi-layer NormAD: temporal XOR through 8 hidden LIF neurons (train_hidden=false: output only)",
    defaults=RunConfig(recipe="normad-xor", method="normad", epochs=500, batch_size=4,
                       params={"train_hidden": True, "tau_prime_ms": 1.0, "hidden": 8}),
    methods=("normad",), build=_builder(_xor), needs_data=False,
))

register(Recipe(
    name="normad-3layer",
    summary="multi-layer NormAD: 100 Poisson inputs -> 100 -> 100 -> 1 output, 500 ms spike-train mapping",
    defaults=RunConfig(recipe="normad-3layer", method="normad", epochs=500, batch_size=1,
                       params={"train_hidden": True, "tau_prime_ms": 1.0, "hidden": (100, 100), "near_miss_mv": 20.0}),
    methods=("normad",), build=_builder(_three_layer), needs_data=False,
))
