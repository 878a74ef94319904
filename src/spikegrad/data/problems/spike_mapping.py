r"""Generic spike-train mapping: Poisson input trains to desired output trains.

Each of ``n_inputs`` inputs fires as a Poisson process of rate ``input_rate_hz`` on the grid
(probability :math:`\lambda\,dt` per step). Each of ``n_outputs`` outputs gets a desired train drawn by
a target generator: Poisson with dead time (:class:`PoissonTarget`), a fixed number of spikes at random
times (:class:`CountTarget`), or given times (:class:`FixedTarget`). Desired spikes keep at least
``min_interval_ms`` apart (longer than the refractory period, or they cannot all be produced) and come no
earlier than ``onset_ms`` (the network needs a few ms per layer to respond). All draws come from one
``torch.Generator`` seeded with the problem's seed, so a seed fixes the problem.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import torch

from spikegrad.encoding import poisson_encode
from spikegrad.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class PoissonTarget:
    """Desired spikes of a Poisson process of ``rate_hz`` with dead time ``min_interval_ms`` after each spike."""

    rate_hz: float = 10.0
    min_interval_ms: float = 10.0

    def times_ms(self, start_ms: float, stop_ms: float, generator: torch.Generator) -> list[float]:
        times, t = [], start_ms
        while True:
            t += float(torch.empty(1).exponential_(self.rate_hz / 1000.0, generator=generator))
            if t >= stop_ms:
                return times
            times.append(t)
            t += self.min_interval_ms


@dataclasses.dataclass(frozen=True)
class CountTarget:
    """Exactly ``count`` desired spikes at uniform random times, at least ``min_interval_ms`` apart."""

    count: int = 3
    min_interval_ms: float = 10.0

    def times_ms(self, start_ms: float, stop_ms: float, generator: torch.Generator) -> list[float]:
        slack = stop_ms - start_ms - (self.count - 1) * self.min_interval_ms
        if self.count < 0 or slack < 0:
            raise ConfigError("target.count", f"{self.count} spikes {self.min_interval_ms} ms apart do not fit in {stop_ms - start_ms} ms")
        # order statistics of uniform draws in the slack, then spread by the minimum interval
        offsets = torch.sort(torch.rand(self.count, generator=generator, dtype=torch.float64) * slack).values
        return [start_ms + float(o) + n * self.min_interval_ms for n, o in enumerate(offsets)]


@dataclasses.dataclass(frozen=True)
class FixedTarget:
    """Desired spikes at the given times (ms), the same for every output."""

    times: tuple[float, ...] = (20.0,)

    def times_ms(self, start_ms: float, stop_ms: float, generator: torch.Generator) -> list[float]:
        return list(self.times)


Target = PoissonTarget | CountTarget | FixedTarget


@dataclasses.dataclass(frozen=True)
class SpikeMappingConfig:
    """Sizes, rates and durations of a mapping problem (ms, Hz)."""

    n_inputs: int = 100
    n_outputs: int = 1
    duration_ms: float = 500.0
    dt_ms: float = 0.1
    input_rate_hz: float = 20.0
    target: Target = PoissonTarget()
    onset_ms: float = 10.0

    def __post_init__(self) -> None:
        if self.n_inputs < 1 or self.n_outputs < 1:
            raise ConfigError("n_inputs/n_outputs", f"must be >= 1, got {self.n_inputs}, {self.n_outputs}")
        if not (self.duration_ms > 0 and self.dt_ms > 0 and self.duration_ms >= self.dt_ms):
            raise ConfigError("duration_ms", f"need duration_ms >= dt_ms > 0, got {self.duration_ms!r}, {self.dt_ms!r}")
        if not 0 <= self.input_rate_hz * self.dt_ms / 1000.0 <= 1:
            raise ConfigError("input_rate_hz", f"rate * dt must lie in [0, 1], got {self.input_rate_hz!r} Hz")

    @property
    def steps(self) -> int:
        return math.ceil(self.duration_ms / self.dt_ms)


class SpikeTrainProblem(NamedTuple):
    """Input trains ``inputs[T, B, n_in]`` and desired output trains ``desired[T, B, n_out]`` (0/1, float64)."""

    inputs: torch.Tensor
    desired: torch.Tensor


def times_to_train(times_ms: list[list[float]], steps: int, dt_ms: float) -> torch.Tensor:
    """0/1 trains ``[steps, 1, n]`` from spike times (ms) per train, each put on the nearest grid step."""
    train = torch.zeros(steps, 1, len(times_ms), dtype=torch.float64)
    for column, times in enumerate(times_ms):
        for t in times:
            step = round(t / dt_ms)
            if not 0 <= step < steps:
                raise ConfigError("target", f"spike time {t} ms lies outside [0, {steps * dt_ms}) ms")
            train[step, 0, column] = 1.0
    return train


def spike_mapping(config: SpikeMappingConfig, seed: int) -> SpikeTrainProblem:
    """Draw the input and desired trains of one problem (batch of one presentation)."""
    generator = torch.Generator().manual_seed(seed)
    probability = torch.full((1, config.n_inputs), config.input_rate_hz * config.dt_ms / 1000.0, dtype=torch.float64)
    inputs = poisson_encode(probability, config.steps, generator)
    stop = config.steps * config.dt_ms - config.dt_ms
    times = [config.target.times_ms(config.onset_ms, stop, generator) for _ in range(config.n_outputs)]
    return SpikeTrainProblem(inputs, times_to_train(times, config.steps, config.dt_ms))
