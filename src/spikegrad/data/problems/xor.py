r"""Spike-timing XOR: two bits and a reference spike in, one output spike at a class-dependent time out.

Encoding (the paper's exact encoding is UNVERIFIED; this follows SpikeProp's temporal XOR):

* inputs, ``[T, 4, 3 * len(delays_ms)]``: three sources, bit A, bit B and a reference (bias). A bit
  source fires at ``early_ms`` for 0 and at ``late_ms`` for 1; the reference fires at ``reference_ms`` in
  every pattern. Without it the patterns (0, 0) and (1, 1) differ only by a shift in time, which a
  time-invariant network cannot map to the same output time. Each source is seen through one input
  neuron per entry of ``delays_ms``, firing that much later (SpikeProp gives each connection 16 delayed
  terminals instead; our synapses have no delays). Input ``n`` is source ``n // len(delays_ms)``.
* desired output, ``[T, 4, 1]``: exactly one spike, at ``true_target_ms`` when the bits differ and at
  ``false_target_ms`` when they are equal.

The four patterns (0,0), (0,1), (1,0), (1,1) form the batch, in that order. A pattern is solved when the
output has exactly one spike and it lies within ``tolerance_ms`` of its target.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from spikegrad.data.problems.spike_mapping import SpikeTrainProblem, times_to_train
from spikegrad.errors import ConfigError

BITS = ((0, 0), (0, 1), (1, 0), (1, 1))


@dataclasses.dataclass(frozen=True)
class XORConfig:
    """Spike times (ms) of the temporal XOR; see the module docstring."""

    early_ms: float = 0.0
    late_ms: float = 6.0
    reference_ms: float = 0.0
    true_target_ms: float = 10.0
    false_target_ms: float = 16.0
    duration_ms: float = 25.0
    dt_ms: float = 0.1
    tolerance_ms: float = 1.0
    delays_ms: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        latest = max(self.delays_ms, default=0.0) + max(self.early_ms, self.late_ms, self.reference_ms)
        times = (self.early_ms, self.late_ms, self.reference_ms, self.true_target_ms, self.false_target_ms, latest)
        if not all(0 <= t < self.duration_ms for t in times):
            raise ConfigError("xor", f"all spike times must lie in [0, duration_ms={self.duration_ms}), got {times}")
        if not self.delays_ms or min(self.delays_ms) < 0:
            raise ConfigError("xor.delays_ms", f"need at least one delay, all >= 0 ms, got {self.delays_ms}")
        if self.early_ms == self.late_ms or self.true_target_ms == self.false_target_ms:
            raise ConfigError("xor", "the two bit times and the two target times must differ")
        if not (self.dt_ms > 0 and self.tolerance_ms >= 0):
            raise ConfigError("xor", f"need dt_ms > 0 and tolerance_ms >= 0, got {self.dt_ms}, {self.tolerance_ms}")

    @property
    def steps(self) -> int:
        return math.ceil(self.duration_ms / self.dt_ms)


def xor_problem(config: XORConfig = XORConfig()) -> SpikeTrainProblem:
    """The four patterns as a batch: ``inputs[T, 4, 3 * len(delays_ms)]`` and ``desired[T, 4, 1]`` (deterministic)."""
    bit_time = (config.early_ms, config.late_ms)
    inputs, desired = [], []
    for a, b in BITS:
        sources = (bit_time[a], bit_time[b], config.reference_ms)
        times = [[t + delay] for t in sources for delay in config.delays_ms]
        inputs.append(times_to_train(times, config.steps, config.dt_ms))
        target = config.true_target_ms if a != b else config.false_target_ms
        desired.append(times_to_train([[target]], config.steps, config.dt_ms))
    return SpikeTrainProblem(torch.cat(inputs, dim=1), torch.cat(desired, dim=1))


def xor_solved(desired: torch.Tensor, observed: torch.Tensor, config: XORConfig = XORConfig()) -> torch.Tensor:
    """Per pattern ``[B]``: exactly one output spike, within ``tolerance_ms`` of the desired one."""
    count = observed.sum(0)[:, 0]
    steps = torch.arange(observed.shape[0], dtype=torch.float64)[:, None]
    first_observed = (observed[:, :, 0] * steps).sum(0)  # the spike's step when there is exactly one
    target = (desired[:, :, 0] * steps).sum(0)
    return (count == 1) & ((first_observed - target).abs() * config.dt_ms <= config.tolerance_ms + 1e-9)
