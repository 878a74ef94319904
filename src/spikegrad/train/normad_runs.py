"""The NormAD experiments as plain functions of a frozen config and a seed.

Each function builds its problem and network, trains for at most ``epochs`` presentations (one NormAD
update per epoch, the whole batch of patterns at once) and returns an :class:`ExperimentResult`. The
``normad-single``, ``normad-xor`` and ``normad-3layer`` recipes of the trainer wrap them.

* :func:`run_single`: one LIF neuron learns a few desired spikes from 100 Poisson inputs (NormAD, IJCNN 2015).
* :func:`run_xor`: the spike-timing XOR (:mod:`spikegrad.data.problems.xor`) with one small hidden layer.
* :func:`run_three_layer`: a Poisson-to-Poisson spike-train mapping through two hidden layers.

``train_hidden=False`` trains only the output layer (same seed, same initial weights), the baseline the
multi-layer rule must beat. Correlations use the exponential filter of the group's code (5 ms).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import NamedTuple

import torch

from spikegrad.analysis.spike_metrics import (
    ExponentialKernel,
    FilterKernel,
    spike_correlation,
)
from spikegrad.data.problems.spike_mapping import (
    CountTarget,
    PoissonTarget,
    SpikeMappingConfig,
    SpikeTrainProblem,
    spike_mapping,
)
from spikegrad.data.problems.xor import XORConfig, xor_problem, xor_solved
from spikegrad.errors import ConfigError
from spikegrad.rules.normad.kernel import DoubleExponentialKernel
from spikegrad.rules.normad.multilayer import HiddenParameters
from spikegrad.rules.normad.network import NetworkRecord, NormADNetwork
from spikegrad.rules.normad.neuron import LIFParameters
from spikegrad.rules.normad.rule import NormAD, NormADParameters


@dataclasses.dataclass(frozen=True)
class LayerTraining:
    """Initial weights ``N(init_mean_pa, init_std_pa**2)`` and learning rate ``r`` (pA per error instant) of one layer."""

    init_mean_pa: float
    init_std_pa: float
    learning_rate_pa: float

    def __post_init__(self) -> None:
        if not (self.init_std_pa >= 0 and self.learning_rate_pa >= 0):
            raise ConfigError("layers", f"need init_std_pa >= 0 and learning_rate_pa >= 0, got {self}")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """What every experiment shares: epochs, per-layer init and rates (input layer first), the rule."""

    layers: tuple[LayerTraining, ...]
    epochs: int
    train_hidden: bool = True
    tau_prime_ms: float = 1.0
    hidden_rule: HiddenParameters = HiddenParameters()
    stop_when_solved: bool = True
    neuron: LIFParameters = LIFParameters()
    kernel: DoubleExponentialKernel = DoubleExponentialKernel()
    correlation_kernel: FilterKernel = ExponentialKernel(5.0)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError("epochs", f"must be >= 1, got {self.epochs}")

    @property
    def rule(self) -> NormADParameters:
        return NormADParameters(self.tau_prime_ms, self.hidden_rule if self.train_hidden else None)


class Rasters(NamedTuple):
    """Desired and observed output trains ``[T, B, n_out]`` before and after training (for raster plots)."""

    desired: torch.Tensor
    before: torch.Tensor
    after: torch.Tensor
    dt_ms: float


@dataclasses.dataclass(frozen=True)
class ExperimentResult:
    """Outcome of one training run.

    Attributes:
        correlations: mean output correlation at each epoch, measured before that epoch's update
            (entry 0: the untrained network); the last entry is after the last update.
        final_correlation: ``correlations[-1]``.
        solved: whether the problem's criterion was met at some epoch.
        epochs_to_solve: number of updates before it was first met (None if never).
        seconds_per_epoch: wall time of training divided by the presentations simulated (CPU).
        rasters: output trains before and after training.
    """

    correlations: tuple[float, ...]
    final_correlation: float
    solved: bool
    epochs_to_solve: int | None
    seconds_per_epoch: float
    rasters: Rasters


Criterion = Callable[[torch.Tensor, float], bool]


def _network(sizes: tuple[int, ...], config: TrainingConfig, dt_ms: float, seed: int) -> NormADNetwork:
    if len(config.layers) != len(sizes) - 1:
        raise ConfigError("layers", f"need {len(sizes) - 1} LayerTraining entries for sizes {sizes}, got {len(config.layers)}")
    network = NormADNetwork(sizes, config.neuron, config.kernel, dt_ms)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for weight, layer in zip(network.weights, config.layers):
            weight.normal_(layer.init_mean_pa, layer.init_std_pa, generator=generator)
    return network


class NormADRun:
    """A network, its NormAD rule and an SGD optimiser (one learning rate per layer) on one problem.

    ``measure()`` simulates the problem once; ``update(record)`` applies one NormAD step from that record.
    The trainer's ``normad-*`` recipes drive it epoch by epoch; :func:`train` drives it in a loop.
    """

    def __init__(self, problem: SpikeTrainProblem, sizes: tuple[int, ...], config: TrainingConfig, dt_ms: float,
                 seed: int, solved: Criterion):
        self.problem, self.config, self.dt_ms, self.criterion = problem, config, dt_ms, solved
        self.network = _network(sizes, config, dt_ms, seed)
        self.rule = NormAD(self.network, config.rule)
        trained = list(zip(self.network.weights, config.layers))
        trained = trained if config.train_hidden else trained[-1:]
        self.optimizer = torch.optim.SGD([{"params": [w], "lr": layer.learning_rate_pa} for w, layer in trained])

    def measure(self) -> tuple[NetworkRecord, float, bool]:
        """Simulate once: the record, the mean output correlation C and whether the problem is solved."""
        record = self.network(self.problem.inputs)
        correlation = spike_correlation(self.problem.desired, record.output, self.dt_ms, self.config.correlation_kernel)
        mean = correlation.mean().item()
        return record, mean, bool(self.criterion(record.output, mean))

    def update(self, record: NetworkRecord) -> None:
        """One NormAD step from ``record`` (a forward pass of the current weights)."""
        self.optimizer.zero_grad()
        self.rule.accumulate(record, self.problem.desired)
        self.optimizer.step()


def train(run: NormADRun) -> ExperimentResult:
    """Train ``run`` for at most ``config.epochs`` updates (stopping once solved if ``stop_when_solved``)."""
    config = run.config
    correlations: list[float] = []
    solved_at, before = None, None
    start = time.perf_counter()
    for epoch in range(config.epochs + 1):
        record, correlation, solved = run.measure()
        output = record.output
        before = output if before is None else before
        correlations.append(correlation)
        if solved_at is None and solved:
            solved_at = epoch
        if epoch == config.epochs or (solved_at is not None and config.stop_when_solved):
            break
        run.update(record)
    seconds = (time.perf_counter() - start) / len(correlations)
    return ExperimentResult(
        correlations=tuple(correlations),
        final_correlation=correlations[-1],
        solved=solved_at is not None,
        epochs_to_solve=solved_at,
        seconds_per_epoch=seconds,
        rasters=Rasters(run.problem.desired, before, output, run.dt_ms),
    )


def _reaches(target: float) -> Criterion:
    return lambda output, correlation: correlation >= target


@dataclasses.dataclass(frozen=True)
class SingleConfig:
    """``normad-single``: one neuron, 100 Poisson inputs (20 Hz, 200 ms), 3 desired spikes; goal C >= 0.95."""

    problem: SpikeMappingConfig = SpikeMappingConfig(n_inputs=100, duration_ms=200.0, target=CountTarget(3, 10.0))
    training: TrainingConfig = TrainingConfig(layers=(LayerTraining(300.0, 300.0, 100.0),), epochs=200)
    target_correlation: float = 0.95


def single_run(config: SingleConfig, seed: int) -> NormADRun:
    """One LIF neuron and the desired train of :attr:`SingleConfig.problem` drawn with ``seed``."""
    problem = spike_mapping(config.problem, seed)
    sizes = (config.problem.n_inputs, config.problem.n_outputs)
    return NormADRun(problem, sizes, config.training, config.problem.dt_ms, seed, _reaches(config.target_correlation))


def run_single(config: SingleConfig, seed: int) -> ExperimentResult:
    """Train :func:`single_run`."""
    return train(single_run(config, seed))


@dataclasses.dataclass(frozen=True)
class XORExperimentConfig:
    """``normad-xor``: the temporal XOR (5 delayed copies per source) through ``hidden`` LIF neurons."""

    problem: XORConfig = XORConfig(delays_ms=(0.0, 3.0, 6.0, 9.0, 12.0), duration_ms=30.0)
    hidden: int = 8
    training: TrainingConfig = TrainingConfig(
        layers=(LayerTraining(2500.0, 2500.0, 300.0), LayerTraining(5000.0, 5000.0, 500.0)), epochs=500
    )


def xor_run(config: XORExperimentConfig, seed: int) -> NormADRun:
    """The XOR network with initial weights drawn with ``seed``; solved = all four patterns right."""
    problem = xor_problem(config.problem)
    sizes = (problem.inputs.shape[-1], config.hidden, 1)
    criterion: Criterion = lambda output, _: bool(xor_solved(problem.desired, output, config.problem).all())
    return NormADRun(problem, sizes, config.training, config.problem.dt_ms, seed, criterion)


def run_xor(config: XORExperimentConfig, seed: int) -> ExperimentResult:
    """Train :func:`xor_run`."""
    return train(xor_run(config, seed))


@dataclasses.dataclass(frozen=True)
class ThreeLayerConfig:
    """``normad-3layer``: 100 Poisson inputs -> two hidden layers -> 1 output, 500 ms; goal C >= 0.9.

    The hidden rule uses the exact membrane kernel in its spike-time terms (``membrane_tau_ms=10``) and lets
    near misses (sub-threshold peaks within 20 mV of threshold) become spikes (``near_miss_mv=20``); see
    :mod:`~spikegrad.rules.normad.multilayer` for both. Seeds 0-9, at most 500 epochs, stopped at C >= 0.9:
    this rule solves 8/10 (all but seeds 0 and 1, whose best C are 0.898 and 0.894); training only the
    output layer from the same initial weights solves 4/10 (seeds 3, 6, 7, 8). Without near misses the
    hidden rule solves 7/10 (not seeds 0, 1, 8): it only moves existing hidden spikes, the second hidden
    layer's rate drifts down (seed 1: 9.3 to 4.9 Hz over 500 epochs) and a desired spike with no hidden
    spike in the 10 ms before it (seed 8, at 355.5 ms) is never learned. With NormAD's 1 ms kernel in the
    hidden terms, 2/5 of seeds 0-4. Decaying the rates (r / (1 + epoch/100)) did not help.
    """

    problem: SpikeMappingConfig = SpikeMappingConfig(n_inputs=100, duration_ms=500.0, target=PoissonTarget(10.0, 10.0))
    hidden: tuple[int, int] = (100, 100)
    training: TrainingConfig = TrainingConfig(
        layers=(LayerTraining(200.0, 1000.0, 20.0), LayerTraining(100.0, 2000.0, 50.0), LayerTraining(300.0, 1000.0, 300.0)),
        epochs=500,
        hidden_rule=HiddenParameters(membrane_tau_ms=10.0, near_miss_mv=20.0),
    )
    target_correlation: float = 0.9


def three_layer_run(config: ThreeLayerConfig, seed: int) -> NormADRun:
    """The 3-layer mapping drawn with ``seed``."""
    problem = spike_mapping(config.problem, seed)
    sizes = (config.problem.n_inputs, *config.hidden, config.problem.n_outputs)
    return NormADRun(problem, sizes, config.training, config.problem.dt_ms, seed, _reaches(config.target_correlation))


def run_three_layer(config: ThreeLayerConfig, seed: int) -> ExperimentResult:
    """Train :func:`three_layer_run`."""
    return train(three_layer_run(config, seed))
